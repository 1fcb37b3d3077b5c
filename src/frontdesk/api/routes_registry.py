"""The SMS Messaging Policy and 10DLC registration: brands, campaigns, their review.

Tenant routes take the tenant's key; ``/v1/campaigns/{id}/review`` is the platform
operator's (admin token). Another tenant's brand or campaign answers 404.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from frontdesk import errors
from frontdesk.api import routes_admin
from frontdesk.api.deps import AdminUoW, AppContainer, TenantCaller
from frontdesk.api.schemas import iso
from frontdesk.domain import campaigns as domain
from frontdesk.services import policy, registration
from frontdesk.storage import registry
from frontdesk.storage.models import Brand, Campaign, SendingNumber
from frontdesk.storage.uow import TenantScope

router = APIRouter()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyAcceptIn(_Strict):
    version: str = Field(min_length=1, max_length=32)
    accepted_by: str = Field(min_length=1, max_length=200)


class BrandIn(_Strict):
    legal_name: str = Field(max_length=255)
    ein: str | None = Field(default=None, max_length=16)
    entity_type: str = Field(max_length=32, description="TCR entityType, e.g. PRIVATE_PROFIT")
    vertical: str = Field(max_length=48, description="TCR vertical, e.g. HEALTHCARE")
    website: str = Field(max_length=255)
    email: str = Field(max_length=320)
    phone: str = Field(max_length=40)


class CampaignIn(_Strict):
    brand_id: str = Field(max_length=32)
    use_case: str = Field(max_length=48, description="TCR use case, e.g. MIXED or LOW_VOLUME")
    sub_use_cases: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="For MIXED (2-5) and LOW_VOLUME: the standard use cases it combines.",
    )
    description: str = Field(max_length=8192)
    message_flow: str = Field(max_length=8192)
    sample_messages: list[str] = Field(max_length=10)
    help_message: str = Field(max_length=2000)
    optout_message: str = Field(max_length=2000)
    embedded_links: bool = False
    embedded_phone: bool = False
    age_gated: bool = False
    direct_lending: bool = False


class ReviewIn(_Strict):
    decision: Literal["approved", "rejected", "suspended"]
    note: str | None = Field(default=None, max_length=2000)


class EnforcementIn(_Strict):
    require_registration: bool | None = None
    require_policy: bool | None = None


class CampaignNumberIn(_Strict):
    number: str = Field(max_length=40)
    provider: str | None = Field(default=None, max_length=32)


# --------------------------------------------------------------------------- views


def _policy(state: policy.PolicyState) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": state.version,
        "text": state.text,
        "accepted": state.accepted,
    }
    if state.accepted:
        out["accepted_at"] = iso(state.accepted_at)
        out["accepted_by"] = state.accepted_by
    return out


def _brand(b: Brand) -> dict[str, Any]:
    return {
        "id": b.id,
        "legal_name": b.legal_name,
        "ein": b.ein,
        "entity_type": b.entity_type,
        "vertical": b.vertical,
        "website": b.website,
        "email": b.email,
        "phone": b.phone,
        "status": b.status,
        "problems": b.problems or [],
        "created_at": iso(b.created_at),
    }


def _campaign(c: Campaign, numbers: list[SendingNumber]) -> dict[str, Any]:
    return {
        "id": c.id,
        "brand_id": c.brand_id,
        "use_case": c.use_case,
        "sub_use_cases": c.sub_use_cases or [],
        "description": c.description,
        "message_flow": c.message_flow,
        "sample_messages": c.sample_messages or [],
        "help_message": c.help_message,
        "optout_message": c.optout_message,
        "embedded_links": c.embedded_links,
        "embedded_phone": c.embedded_phone,
        "age_gated": c.age_gated,
        "direct_lending": c.direct_lending,
        "status": c.status,
        "problems": c.problems or [],
        "review_note": c.review_note,
        "numbers": [n.number for n in numbers],
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }


def _campaign_view(scope: TenantScope, c: Campaign) -> dict[str, Any]:
    return _campaign(c, list(registry.campaign_numbers(scope, c.id)))


# --------------------------------------------------------------------------- policy


@router.get("/v1/policy", tags=["policy"])
def get_policy(caller: TenantCaller) -> dict[str, Any]:
    """The current SMS Messaging Policy and whether this business accepted it."""
    return _policy(policy.current(caller.scope))


@router.post("/v1/policy/accept", tags=["policy"])
def accept_policy(body: PolicyAcceptIn, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    """Accept the current version; a stale version answers 409."""
    state = policy.accept(caller.scope, body.version, body.accepted_by, c.clock.now(), caller.actor)
    caller.uow.commit()
    return _policy(state)


# --------------------------------------------------------------------------- brands


@router.post("/v1/brands", status_code=201, tags=["registration"])
def create_brand(body: BrandIn, caller: TenantCaller, c: AppContainer) -> JSONResponse:
    """R-R-02: register the business's brand. ``status`` is ``registered``, or
    ``unverified`` with ``problems`` TCR would not verify (free-mail email, …)."""
    row = registration.create_brand(
        caller.scope,
        domain.BrandInput(
            legal_name=body.legal_name,
            ein=body.ein,
            entity_type=body.entity_type,
            vertical=body.vertical,
            website=body.website,
            email=body.email,
            phone=body.phone,
        ),
        c.clock.now(),
        caller.actor,
    )
    caller.uow.commit()
    return JSONResponse(_brand(row), status_code=201)


@router.get("/v1/brands", tags=["registration"])
def list_brands(
    caller: TenantCaller, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)
) -> dict[str, Any]:
    rows = registry.brands(caller.scope, limit, offset)
    return {
        "items": [_brand(b) for b in rows],
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.get("/v1/brands/{brand_id}", tags=["registration"])
def get_brand(brand_id: str, caller: TenantCaller) -> dict[str, Any]:
    return _brand(registration.get_brand(caller.scope, brand_id))


# --------------------------------------------------------------------------- campaigns


@router.post("/v1/campaigns", status_code=201, tags=["registration"])
def create_campaign(body: CampaignIn, caller: TenantCaller, c: AppContainer) -> JSONResponse:
    """R-R-03: ``status`` is ``submitted`` when the campaign has no problems, else
    ``draft`` with ``problems: [{code, field, rule, message}]``."""
    row = registration.create_campaign(
        caller.scope,
        body.brand_id,
        domain.CampaignInput(
            use_case=body.use_case,
            sub_use_cases=tuple(body.sub_use_cases),
            description=body.description,
            message_flow=body.message_flow,
            sample_messages=tuple(body.sample_messages),
            help_message=body.help_message,
            optout_message=body.optout_message,
            embedded_links=body.embedded_links,
            embedded_phone=body.embedded_phone,
            age_gated=body.age_gated,
            direct_lending=body.direct_lending,
        ),
        c.clock.now(),
        caller.actor,
    )
    caller.uow.commit()
    return JSONResponse(_campaign(row, []), status_code=201)


@router.get("/v1/campaigns", tags=["registration"])
def list_campaigns(
    caller: TenantCaller,
    brand_id: str | None = Query(None, max_length=32),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    rows = registry.campaigns(caller.scope, limit, offset, brand_id)
    return {
        "items": [_campaign_view(caller.scope, r) for r in rows],
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.get("/v1/campaigns/{campaign_id}", tags=["registration"])
def get_campaign(campaign_id: str, caller: TenantCaller) -> dict[str, Any]:
    return _campaign_view(caller.scope, registration.get_campaign(caller.scope, campaign_id))


@router.post("/v1/campaigns/{campaign_id}/submit", tags=["registration"])
def submit_campaign(campaign_id: str, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    """Submit a draft (or resubmit a rejected) campaign; 409 with its problems if any."""
    row = registration.submit_campaign(caller.scope, campaign_id, c.clock.now(), caller.actor)
    caller.uow.commit()
    return _campaign_view(caller.scope, row)


@router.post("/v1/campaigns/{campaign_id}/review", tags=["registration"])
def review_campaign(
    campaign_id: str, body: ReviewIn, uow: AdminUoW, c: AppContainer
) -> dict[str, Any]:
    """Admin: ``approved`` / ``rejected`` a submitted campaign, ``suspended`` an approved
    one (R-R-01), ``approved`` to lift a suspension."""
    row = registration.review_campaign(uow, campaign_id, body.decision, body.note, c.clock.now())
    uow.commit()
    return _campaign_view(uow.tenant(row.tenant_id), row)


@router.post("/v1/campaigns/{campaign_id}/numbers", status_code=201, tags=["registration"])
def link_campaign_number(
    campaign_id: str, body: CampaignNumberIn, caller: TenantCaller, c: AppContainer
) -> JSONResponse:
    """Link a sending number (new or already the tenant's) to this campaign; the same
    as ``POST /v1/numbers`` with ``campaign_id``. 201 when the number is new."""
    registration.get_campaign(caller.scope, campaign_id)
    return routes_admin.link_number(
        caller, c, body.number, body.provider or c.provider.name, campaign_id
    )


# --------------------------------------------------------------------------- enforcement


def _enforcement(tenant_id: str, e: registration.Enforcement) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "require_registration": e.require_registration,
        "require_policy": e.require_policy,
    }


@router.get("/v1/tenants/{tenant_id}/enforcement", tags=["tenants"])
def get_enforcement(tenant_id: str, uow: AdminUoW) -> dict[str, Any]:
    """Admin: whether the gate requires an approved campaign per sender (R-R-01/R-R-05)
    and the accepted SMS Messaging Policy (R-B-03) for this tenant."""
    tenant = uow.tenant_row(tenant_id)
    if tenant is None:
        raise errors.not_found("tenant")
    return _enforcement(tenant_id, registration.enforcement(tenant))


@router.put("/v1/tenants/{tenant_id}/enforcement", tags=["tenants"])
def put_enforcement(
    tenant_id: str, body: EnforcementIn, uow: AdminUoW, c: AppContainer
) -> dict[str, Any]:
    """Admin: switch the enforcement on or off (omitted fields are unchanged)."""
    state = registration.set_enforcement(
        uow,
        tenant_id,
        require_registration=body.require_registration,
        require_policy=body.require_policy,
        now=c.clock.now(),
    )
    uow.commit()
    return _enforcement(tenant_id, state)
