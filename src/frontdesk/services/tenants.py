"""Tenants: create, suspend, reinstate (the platform operator's verbs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from frontdesk import errors
from frontdesk.domain import phone
from frontdesk.ids import new_id
from frontdesk.services import keys
from frontdesk.storage.models import ApiKey, SendingNumber, Tenant
from frontdesk.storage.uow import UnitOfWork


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise errors.invalid(
            "timezone",
            "invalid_timezone",
            f"{name!r} is not an IANA time zone; use a name such as America/New_York",
        ) from exc


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    api_key: str


def create_tenant(
    uow: UnitOfWork,
    *,
    name: str,
    timezone: str,
    support_email: str | None,
    support_phone: str | None,
    now: datetime,
    actor: str = "admin",
    settings: dict[str, Any] | None = None,
) -> CreatedTenant:
    check_timezone(timezone)
    support_e164 = None
    if support_phone:
        parsed = phone.try_parse(support_phone)
        if parsed is None:
            raise errors.invalid(
                "support_phone", "invalid_number", "support_phone is not a valid phone number"
            )
        support_e164 = parsed.e164
    tenant = Tenant(
        id=new_id("ten"),
        name=name.strip(),
        timezone=timezone,
        support_email=support_email,
        support_phone=support_e164,
        status="active",
        settings=settings or {},
        created_at=now,
        suspension_automatic=False,
    )
    uow.add_tenant(tenant)
    key = keys.generate()
    uow.session.flush()
    scope = uow.tenant(tenant.id)
    scope.add(
        ApiKey(
            id=new_id("key"),
            tenant_id=tenant.id,
            key_hash=keys.digest(key),
            prefix=key[:12],
            created_at=now,
        )
    )
    scope.audit(now, actor, "tenant.created", tenant.id, {"name": tenant.name})
    return CreatedTenant(tenant, key)


def add_sending_number(
    uow: UnitOfWork, tenant_id: str, number: str, provider: str, now: datetime, actor: str
) -> SendingNumber:
    parsed = phone.try_parse(number)
    if parsed is None:
        raise errors.invalid("number", "invalid_number", "number is not a valid phone number")
    if uow.tenant_for_number(parsed.e164) is not None:
        raise errors.conflict("That number is already registered as a sending number.")
    row = SendingNumber(
        id=new_id("num"), tenant_id=tenant_id, number=parsed.e164, provider=provider, created_at=now
    )
    scope = uow.tenant(tenant_id)
    scope.add(row)
    scope.audit(now, actor, "number.added", parsed.e164, {"provider": provider})
    return row


def suspend(
    uow: UnitOfWork,
    tenant_id: str,
    reason: str,
    now: datetime,
    *,
    automatic: bool = False,
    actor: str = "admin",
) -> Tenant:
    """R-R-06: the kill switch stops the queue and keeps inbound and compliance replies."""
    tenant = uow.tenant_row(tenant_id)
    if tenant is None:
        raise errors.not_found("tenant")
    tenant.status = "suspended"
    tenant.suspension_reason = reason
    tenant.suspended_at = now
    tenant.suspension_automatic = automatic
    uow.tenant(tenant_id).fence_all_claims()
    uow.tenant(tenant_id).audit(
        now, actor, "tenant.suspended", tenant_id, {"reason": reason, "automatic": automatic}
    )
    return tenant


def reinstate(
    uow: UnitOfWork, tenant_id: str, note: str, now: datetime, actor: str = "admin"
) -> Tenant:
    tenant = uow.tenant_row(tenant_id)
    if tenant is None:
        raise errors.not_found("tenant")
    if tenant.status != "suspended":
        raise errors.conflict("The tenant is not suspended.")
    tenant.status = "active"
    tenant.suspension_reason = None
    tenant.suspended_at = None
    tenant.suspension_automatic = False
    uow.tenant(tenant_id).audit(now, actor, "tenant.reinstated", tenant_id, {"note": note})
    return tenant
