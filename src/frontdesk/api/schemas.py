"""Request and response bodies. Unknown fields are refused (extra="forbid")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from frontdesk.clock import rfc3339
from frontdesk.domain.messages import PUBLIC_CATEGORIES, Category

MAX_BODY = 1600


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class TenantIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="America/New_York", max_length=64)
    support_email: str | None = Field(default=None, max_length=320)
    support_phone: str | None = Field(default=None, max_length=40)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("name is blank")
        return v


class ReasonText(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class NoteText(Strict):
    note: str = Field(min_length=1, max_length=2000)


class NumberIn(Strict):
    number: str = Field(max_length=40)
    provider: str = Field(default="simulator", max_length=32)
    campaign_id: str | None = None
    carrier_account_id: str | None = Field(
        default=None,
        max_length=32,
        description=(
            "The tenant's carrier account the number sends through (POST "
            "/v1/carrier-accounts); null moves it back to the platform default; left out, "
            "the link is unchanged. With an id and no provider, the account's provider."
        ),
    )


class ContactIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    postal_code: str | None = Field(default=None, max_length=16)
    state: str | None = Field(default=None, min_length=2, max_length=2)


class ConsentIn(Strict):
    phone: str = Field(max_length=40)
    scope: Literal["informational", "marketing"]
    method: Literal[
        "web_form", "sms_keyword", "verbal", "paper", "inbound_call", "inbound_sms", "import"
    ]
    captured_at: AwareDatetime
    evidence: dict[str, Any] = Field(default_factory=dict)


class SuppressionIn(Strict):
    phone: str = Field(max_length=40)
    reason: str = Field(default="manual", max_length=500)
    scope: Literal["all", "marketing"] = "all"


class MessageIn(Strict):
    to: str = Field(max_length=40)
    from_: str | None = Field(default=None, alias="from", max_length=40)
    body: str = Field(max_length=MAX_BODY)
    media_urls: list[str] = Field(default_factory=list, max_length=10)
    category: str
    send_at: AwareDatetime | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    subject: str | None = Field(default=None, max_length=64)
    # R-C-07: send without consent under the healthcare exemption, when the tenant is a
    # declared covered entity and every condition holds (else refused as no_consent).
    healthcare_exempt: bool = False

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("body")
    @classmethod
    def _body(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("body is empty; write the text to send")
        return v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        allowed = sorted(c.value for c in PUBLIC_CATEGORIES)
        if v not in allowed:
            raise ValueError(f"unknown category {v!r}; use one of: {', '.join(allowed)}")
        return v

    def category_enum(self) -> Category:
        return Category(self.category)


class BatchIn(Strict):
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class InboundIn(Strict):
    from_: str = Field(alias="from", max_length=40)
    to: str = Field(max_length=40)
    body: str = Field(default="", max_length=MAX_BODY)
    media_urls: list[str] = Field(default_factory=list, max_length=10)
    id: str | None = Field(default=None, max_length=64)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReviewDecisionIn(Strict):
    decision: Literal["opt_out", "keep"]


iso = rfc3339
