"""Tenants (admin) and the tenant's own record."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from frontdesk import errors
from frontdesk.api import views
from frontdesk.api.deps import AdminUoW, AppContainer, Caller, TenantCaller
from frontdesk.api.schemas import NoteText, NumberIn, ReasonText, TenantIn
from frontdesk.bootstrap import Container
from frontdesk.services import registration, tenants
from frontdesk.services.carrier_accounts import UNSET, Unset

router = APIRouter()


@router.post("/v1/tenants", status_code=201, tags=["tenants"])
def create_tenant(body: TenantIn, uow: AdminUoW, c: AppContainer) -> JSONResponse:
    created = tenants.create_tenant(
        uow,
        name=body.name,
        timezone=body.timezone,
        support_email=body.support_email,
        support_phone=body.support_phone,
        now=c.clock.now(),
        settings=registration.default_enforcement(
            require_policy=c.settings.require_policy,
            require_registration=(
                c.settings.require_registration
                if c.settings.require_registration is not None
                else c.provider.name != "simulator"
            ),
        ),
    )
    uow.commit()
    out = views.tenant(created.tenant)
    out["api_key"] = created.api_key
    return JSONResponse(out, status_code=201)


@router.get("/v1/tenants/{tenant_id}", tags=["tenants"])
def get_tenant(tenant_id: str, uow: AdminUoW) -> dict[str, Any]:
    row = uow.tenant_row(tenant_id)
    if row is None:
        raise errors.not_found("tenant")
    return views.tenant(row)


@router.post("/v1/tenants/{tenant_id}/suspend", tags=["tenants"])
def suspend_tenant(
    tenant_id: str, body: ReasonText, uow: AdminUoW, c: AppContainer
) -> dict[str, Any]:
    row = tenants.suspend(uow, tenant_id, body.reason, c.clock.now())
    uow.commit()
    return views.tenant(row)


@router.post("/v1/tenants/{tenant_id}/reinstate", tags=["tenants"])
def reinstate_tenant(
    tenant_id: str, body: NoteText, uow: AdminUoW, c: AppContainer
) -> dict[str, Any]:
    row = tenants.reinstate(uow, tenant_id, body.note, c.clock.now())
    uow.commit()
    return views.tenant(row)


@router.get("/v1/tenant", tags=["tenants"])
def own_tenant(caller: TenantCaller) -> dict[str, Any]:
    out = views.tenant(caller.tenant)
    out["numbers"] = [n.number for n in caller.scope.sending_numbers()]
    return out


@router.post("/v1/numbers", status_code=201, tags=["numbers"])
def add_number(body: NumberIn, caller: TenantCaller, c: AppContainer) -> JSONResponse:
    """Register a sending number (or relink one the tenant has); 201 when it is new.
    ``carrier_account_id`` names the carrier account it sends through (issue 12)."""
    if "carrier_account_id" not in body.model_fields_set:
        return link_number(caller, c, body.number, body.provider, body.campaign_id)
    provider = body.provider if "provider" in body.model_fields_set else None
    return link_number(
        caller, c, body.number, provider, body.campaign_id, body.carrier_account_id
    )


def link_number(
    caller: Caller,
    c: Container,
    number: str,
    provider: str | None,
    campaign_id: str | None,
    carrier_account: str | Unset | None = UNSET,
) -> JSONResponse:
    """Register a sending number (or relink one the tenant has); 201 when it is new."""
    if isinstance(carrier_account, Unset) and provider != c.provider.name:
        raise errors.invalid(
            "provider",
            "unknown_provider",
            f"provider must be {c.provider.name!r} on this deployment",
        )
    row, created = registration.link_number(
        caller.uow,
        caller.tenant.id,
        number,
        provider,
        campaign_id,
        c.clock.now(),
        caller.actor,
        carrier_account=carrier_account,
        default_provider=c.provider.name,
    )
    caller.uow.commit()
    return JSONResponse(
        {
            "id": row.id,
            "number": row.number,
            "provider": row.provider,
            "campaign_id": row.campaign_id,
            "carrier_account_id": row.carrier_account_id,
        },
        status_code=201 if created else 200,
    )
