"""Contacts: the people a tenant texts, with their locality for quiet hours."""

from __future__ import annotations

from datetime import datetime

from frontdesk import errors
from frontdesk.domain import phone
from frontdesk.ids import new_id
from frontdesk.storage.models import Contact
from frontdesk.storage.uow import TenantScope

US_STATES = frozenset(
    {
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
        "VI",
        "GU",
        "AS",
        "MP",
    }
)


def e164_or_422(text: str, field: str = "phone") -> str:
    parsed = phone.try_parse(text)
    if parsed is None:
        raise errors.invalid(
            field,
            "invalid_number",
            f"{text!r} is not a valid phone number; give E.164 (+14155550100) or a national "
            "number with its area code",
        )
    return parsed.e164


def ensure_contact(scope: TenantScope, e164: str, now: datetime) -> Contact:
    contact = scope.contact(e164)
    if contact is None:
        contact = Contact(
            id=new_id("con"),
            tenant_id=scope.tenant_id,
            phone=e164,
            created_at=now,
            updated_at=now,
            version=0,
        )
        scope.add(contact)
        scope.flush()
    return contact


def upsert_contact(
    scope: TenantScope,
    e164: str,
    *,
    name: str | None,
    timezone: str | None,
    postal_code: str | None,
    state: str | None,
    now: datetime,
    fields_set: set[str],
) -> Contact:
    if state is not None and state.upper() not in US_STATES:
        raise errors.invalid(
            "state",
            "invalid_state",
            f"{state!r} is not a US state; use its two-letter code, e.g. FL",
        )
    if timezone is not None:
        from frontdesk.services.tenants import check_timezone

        check_timezone(timezone)
    contact = ensure_contact(scope, e164, now)
    if "name" in fields_set:
        contact.name = name
    if "timezone" in fields_set:
        contact.timezone = timezone
    if "postal_code" in fields_set:
        contact.postal_code = postal_code
    if "state" in fields_set:
        contact.state = state.upper() if state else None
    contact.updated_at = now
    return contact
