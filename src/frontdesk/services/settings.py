"""A tenant's settings: validated, with defaults, stored in ``Tenant.settings``.

The keys other rooms already read stay flat and keep their names (``keyword_mode``,
``yes_is_opt_in``, ``frequency_cap``, ``missed_call_in_quiet_hours``,
``allowed_link_domains``, ``reply_exemption_minutes``, ``validity_hours`` …); the
receptionist flows add ``missed_call``, ``reminders``, ``knowledge``, ``ai`` and ``llm``.

Templates are linted when they are saved, not only when a text goes out: a
missed-call text must name the business, say how to stop texts (R-CT-01, R-K-08),
carry no offer (R-C-06) and never ask for an opt-out word as a menu answer
(receptionist.md §1.6) — a template that fails would block every follow-up.
"""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from frontdesk import errors
from frontdesk.domain import content, quiet_hours
from frontdesk.storage.models import Tenant
from frontdesk.storage.uow import TenantScope

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TEMPLATE_FIELDS = frozenset({"business", "phone", "booking_url", "next_open"})
RECEPTIONIST_LANGUAGES = frozenset({"en", "es"})
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_DURATION_RE = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?)?$"
)

DEFAULT_BUSINESS_HOURS_TEMPLATE = (
    "{business}: sorry we missed your call! How can we help? Reply here and we'll get back "
    "to you shortly. Reply STOP to opt out."
)
DEFAULT_AFTER_HOURS_TEMPLATE = (
    "{business}: sorry we missed your call. We're closed right now; reply here with how we "
    "can help and we'll get back to you {next_open}. Reply STOP to opt out."
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class MissedCallSettings(_Model):
    enabled: bool = True
    dedupe_minutes: int = Field(default=10, ge=1, le=7 * 24 * 60)
    business_hours_template: str = Field(
        default=DEFAULT_BUSINESS_HOURS_TEMPLATE, min_length=10, max_length=320
    )
    after_hours_template: str = Field(
        default=DEFAULT_AFTER_HOURS_TEMPLATE, min_length=10, max_length=320
    )


class Knowledge(_Model):
    """What the receptionist may say about the business (receptionist.md §2.2)."""

    business_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=300)
    hours: dict[str, str | None] = Field(
        default_factory=lambda: {
            **{d: "08:00-17:00" for d in DAYS[:5]},
            "sat": None,
            "sun": None,
        }
    )
    services: list[str] = Field(default_factory=list, max_length=100)
    prices: dict[str, str] = Field(default_factory=dict)
    insurance: list[str] = Field(default_factory=list, max_length=100)
    booking_url: str | None = Field(default=None, max_length=300)
    emergency_text: str | None = Field(default=None, max_length=300)
    # Per receptionist language; a null value removes that language's text.
    emergency_texts: dict[str, str | None] = Field(default_factory=dict)
    languages: list[str] = Field(default_factory=lambda: ["en"], max_length=5)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        out: dict[str, str | None] = {d: None for d in DAYS}
        for day, span in value.items():
            key = day.strip().lower()[:3]
            if key not in DAYS:
                raise ValueError(f"{day!r} is not a weekday; use mon..sun")
            if span is not None:
                span = span.replace(" ", "")
                m = _HOURS_RE.match(span)
                if not m or (int(m[1]), int(m[2])) >= (int(m[3]), int(m[4])):
                    raise ValueError(f"{day}: {span!r} is not 'HH:MM-HH:MM' with start < end")
            out[key] = span
        return out

    @field_validator("emergency_texts")
    @classmethod
    def _emergency_texts(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for lang, text in value.items():
            if text is None:
                continue
            key = lang.strip().lower()
            if key not in RECEPTIONIST_LANGUAGES:
                raise ValueError(
                    f"{lang!r} is not a receptionist language; use one of "
                    f"{', '.join(sorted(RECEPTIONIST_LANGUAGES))}"
                )
            if not text.strip() or len(text) > 300:
                raise ValueError(f"{key}: the emergency text must be 1 to 300 characters")
            out[key] = text.strip()
        return out

    @field_validator("booking_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value if "://" in value else f"https://{value}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("booking_url must be an http(s) URL")
        if content.is_public_shortener(value):
            raise ValueError("booking_url must not use a public URL shortener (R-CT-03)")
        return value


class AiSettings(_Model):
    """receptionist.md §2.3 items 8-9: caps on automated replies and staff pauses."""

    enabled: bool = True
    max_replies_per_hour: int = Field(default=10, ge=0, le=100)
    max_replies_per_day: int = Field(default=25, ge=0, le=500)
    unrecognised_handoff: int = Field(default=2, ge=1, le=10)
    staff_reply_pause_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)


class LlmSettings(_Model):
    """An optional OpenAI-compatible server (receptionist.md §2.2); off unless both are set."""

    base_url: str | None = Field(default=None, max_length=300)
    model: str | None = Field(default=None, max_length=200)
    timeout_seconds: float = Field(default=3.0, gt=0, le=10)
    use_for_wording: bool = False

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL such as http://127.0.0.1:8000/v1")
        return value.rstrip("/")

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


class TenantSettings(_Model):
    keyword_mode: Literal["balanced", "strict"] = "balanced"
    yes_is_opt_in: bool = False
    spanish_keywords: bool = True
    french_keywords: bool = True
    extra_opt_out_keywords: list[str] = Field(default_factory=list, max_length=50)
    allowed_link_domains: list[str] = Field(default_factory=list, max_length=20)
    frequency_cap: int = Field(default=3, ge=1, le=20)
    missed_call_in_quiet_hours: bool = False
    reply_exemption_minutes: int = Field(default=15, ge=0, le=24 * 60)
    # R-Q-02: "HH:MM-HH:MM" local to the recipient, for appointment, service and
    # transactional texts; only narrows 08:00-21:00 and the state rules. None = those.
    informational_window: str | None = None
    # R-C-07: the business declares it is a HIPAA covered entity, so messages may ask for
    # the healthcare exemption (healthcare_exempt); each still meets every condition.
    hipaa_exempt_mode: bool = False
    validity_hours: float | None = Field(default=None, gt=0, le=10)
    reminders: list[str] = Field(default_factory=lambda: ["P1D", "PT2H"], max_length=5)
    missed_call: MissedCallSettings = Field(default_factory=MissedCallSettings)
    knowledge: Knowledge = Field(default_factory=Knowledge)
    ai: AiSettings = Field(default_factory=AiSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)

    @field_validator("informational_window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is None:
            return None
        window_minutes(value)
        return value.replace(" ", "")

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_offset(item)
        return value

    @field_validator("allowed_link_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        out = []
        for d in value:
            host = d.strip().lower().strip(".")
            if not host or "/" in host or " " in host or "." not in host:
                raise ValueError(f"{d!r} is not a domain name such as brightsmile.example")
            out.append(host)
        return out


def window_minutes(text: str) -> tuple[int, int]:
    """``"09:00-20:00"`` as local minutes ``(540, 1200)``; a window outside 08:00-21:00
    or not 'HH:MM-HH:MM' with start before end is refused (R-Q-01, R-Q-02)."""
    m = _HOURS_RE.match(text.replace(" ", "")) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{text!r} is not 'HH:MM-HH:MM', e.g. '09:00-20:00'")
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    quiet_hours.validate_window(start, end)
    return start, end


def parse_offset(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours and minutes ("P1D", "PT2H", "P1DT30M")."""
    m = _DURATION_RE.match(text.strip().upper()) if isinstance(text, str) else None
    if m is None or not any(m.groupdict().values()) or text.strip().upper().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration like P1D or PT2H")
    delta = timedelta(
        weeks=int(m["w"] or 0),
        days=int(m["d"] or 0),
        hours=int(m["h"] or 0),
        minutes=int(m["m"] or 0),
    )
    if delta <= timedelta(0) or delta > timedelta(days=60):
        raise ValueError(f"{text!r} must be between 1 minute and 60 days")
    return delta


def _validation_error(exc: ValidationError) -> errors.AppError:
    fields = [
        errors.FieldError(
            ".".join(str(p) for p in e["loc"]) or "settings",
            "invalid_setting",
            str(e["msg"]).removeprefix("Value error, "),
        )
        for e in exc.errors()
    ]
    return errors.AppError(
        422, "Invalid settings", "The settings were refused; nothing was changed.", fields
    )


def load(tenant: Tenant) -> TenantSettings:
    """The tenant's settings with defaults filled in; unknown stored keys are ignored."""
    stored: dict[str, Any] = dict(tenant.settings or {})
    known = {k: v for k, v in stored.items() if k in TenantSettings.model_fields}
    try:
        return TenantSettings.model_validate(known)
    except ValidationError:
        return TenantSettings()


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "hours":
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def template_fields(tenant: Tenant, settings: TenantSettings) -> dict[str, str]:
    k = settings.knowledge
    return {
        "business": k.business_name or tenant.name,
        "phone": k.phone or tenant.support_phone or "",
        "booking_url": k.booking_url or "",
        "next_open": "when we open",
    }


def render(template: str, fields: dict[str, str]) -> str:
    return " ".join(template.format_map(fields).split())


def _lint_template(
    name: str, template: str, tenant: Tenant, settings: TenantSettings
) -> list[errors.FieldError]:
    where = f"missed_call.{name}"
    used = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    unknown = used - TEMPLATE_FIELDS
    if unknown:
        return [
            errors.FieldError(
                where,
                "unknown_placeholder",
                f"unknown placeholder(s) {sorted(unknown)}; use {sorted(TEMPLATE_FIELDS)}",
            )
        ]
    body = render(template, template_fields(tenant, settings))
    found: list[errors.FieldError] = []
    business = settings.knowledge.business_name or tenant.name
    if not content.names_business(body, business):
        found.append(
            errors.FieldError(
                where, "missing_business_name", "start the text with {business} (R-CT-01)"
            )
        )
    if not content.has_opt_out_language(body):
        found.append(
            errors.FieldError(
                where, "missing_opt_out_language", 'add "Reply STOP to opt out" (R-K-08, R-C-06)'
            )
        )
    terms = content.promotional_terms(body)
    if terms:
        found.append(
            errors.FieldError(
                where,
                "prohibited_content",
                f"a missed-call text is informational only; remove {list(terms)} (R-C-06)",
            )
        )
    for reason in content.check_reserved_keyword_misuse(body):
        found.append(errors.FieldError(where, "prohibited_content", reason.message))
    return found


def update(scope: TenantScope, patch: dict[str, Any], now: datetime, actor: str) -> TenantSettings:
    """Merge ``patch`` into the stored settings, validate the whole, lint templates, store."""
    tenant = scope.tenant()
    current = load(tenant).model_dump()
    unknown = [k for k in patch if k not in TenantSettings.model_fields]
    if unknown:
        raise errors.AppError(
            422,
            "Invalid settings",
            "Unknown setting(s); nothing was changed.",
            [errors.FieldError(k, "unknown_setting", f"{k!r} is not a setting") for k in unknown],
        )
    try:
        new = TenantSettings.model_validate(_merge(current, patch))
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    problems = [
        *_lint_template(
            "business_hours_template", new.missed_call.business_hours_template, tenant, new
        ),
        *_lint_template("after_hours_template", new.missed_call.after_hours_template, tenant, new),
    ]
    url = new.knowledge.booking_url
    if url and new.allowed_link_domains:
        host = (urlsplit(url if "://" in url else f"https://{url}").hostname or "").lower()
        if not any(host == d or host.endswith("." + d) for d in new.allowed_link_domains):
            problems.append(
                errors.FieldError(
                    "knowledge.booking_url",
                    "link_domain_not_allowed",
                    "booking_url must be on one of allowed_link_domains (R-CT-03)",
                )
            )
    if problems:
        raise errors.AppError(
            422, "Invalid settings", "The settings were refused; nothing was changed.", problems
        )
    stored = dict(tenant.settings or {})
    stored.update(new.model_dump(mode="json"))
    tenant.settings = stored
    scope.audit(now, actor, "tenant.settings_changed", tenant.id, {"keys": sorted(patch)})
    return new
