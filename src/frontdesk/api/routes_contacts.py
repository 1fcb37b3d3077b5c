"""Contacts, the consent ledger and the suppression list (tenant)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from frontdesk import errors
from frontdesk.api import views
from frontdesk.api.deps import AppContainer, TenantCaller
from frontdesk.api.schemas import ConsentIn, ContactIn, SuppressionIn
from frontdesk.domain.consent import Method, Scope
from frontdesk.services import consents, contacts, suppressions

router = APIRouter()


def _contact_view(caller: TenantCaller, e164: str) -> dict[str, Any]:
    row = caller.scope.contact(e164)
    if row is None:
        raise errors.not_found("contact")
    state = consents.current_state(caller.scope, e164)
    sups = list(caller.scope.active_suppressions(e164))
    return views.contact(row, state, sups, bool(caller.scope.pending_reviews(e164)))


@router.put("/v1/contacts/{phone}", tags=["contacts"])
def put_contact(
    phone: str, body: ContactIn, caller: TenantCaller, c: AppContainer
) -> dict[str, Any]:
    e164 = contacts.e164_or_422(phone)
    contacts.upsert_contact(
        caller.scope,
        e164,
        name=body.name,
        timezone=body.timezone,
        postal_code=body.postal_code,
        state=body.state,
        now=c.clock.now(),
        fields_set=set(body.model_fields_set),
    )
    caller.uow.commit()
    return _contact_view(caller, e164)


@router.get("/v1/contacts/{phone}", tags=["contacts"])
def get_contact(phone: str, caller: TenantCaller) -> dict[str, Any]:
    parsed = contacts.e164_or_422(phone)
    return _contact_view(caller, parsed)


@router.get("/v1/contacts", tags=["contacts"])
def list_contacts(
    caller: TenantCaller, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)
) -> dict[str, Any]:
    rows = caller.scope.contacts(limit, offset)
    return {
        "items": [{"phone": r.phone, "name": r.name} for r in rows],
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.post("/v1/consents", status_code=201, tags=["consent"])
def post_consent(body: ConsentIn, caller: TenantCaller, c: AppContainer) -> JSONResponse:
    e164 = contacts.e164_or_422(body.phone)
    row = consents.record_grant(
        caller.scope,
        e164,
        consent_scope=Scope(body.scope),
        method=Method(body.method),
        captured_at=body.captured_at,
        evidence=body.evidence,
        now=c.clock.now(),
        source="api",
        actor=caller.actor,
    )
    caller.uow.commit()
    return JSONResponse(views.consent_event(row), status_code=201)


@router.get("/v1/consents", tags=["consent"])
def get_consents(caller: TenantCaller, phone: str = Query(max_length=40)) -> dict[str, Any]:
    e164 = contacts.e164_or_422(phone)
    events = caller.scope.consent_events(e164)
    state = consents.current_state(caller.scope, e164)
    return {
        "phone": e164,
        "events": [views.consent_event(e) for e in events],
        "current": views.contact_consents(state),
    }


@router.get("/v1/suppressions", tags=["suppression"])
def list_suppressions(
    caller: TenantCaller, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)
) -> dict[str, Any]:
    rows = caller.scope.suppressions(limit, offset)
    return {
        "items": [views.suppression(s) for s in rows],
        "total": caller.scope.count_suppressions(),
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.post("/v1/suppressions", status_code=201, tags=["suppression"])
def add_suppression(body: SuppressionIn, caller: TenantCaller, c: AppContainer) -> JSONResponse:
    e164 = contacts.e164_or_422(body.phone)
    now = c.clock.now()
    row = suppressions.add(
        caller.scope,
        e164,
        reason="manual",
        scope_name=body.scope,
        source="api",
        note=body.reason,
        now=now,
        actor=caller.actor,
    )
    suppressions.cancel_pending(
        caller.scope, e164, marketing_only=body.scope == "marketing", code="opted_out", now=now
    )
    caller.uow.commit()
    return JSONResponse(views.suppression(row), status_code=201)


@router.delete("/v1/suppressions/{phone}", tags=["suppression"])
def delete_suppression(phone: str, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    e164 = contacts.e164_or_422(phone)
    lifted = suppressions.lift_manual(caller.scope, e164, c.clock.now(), caller.actor)
    caller.uow.commit()
    return {"phone": e164, "lifted": lifted}
