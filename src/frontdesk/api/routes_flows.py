"""Receptionist flows at the edge: appointments, missed calls, conversations, settings.

Each route parses, authenticates (tenant key), calls one service, commits, wakes the
worker when texts were queued, and renders (api.md, "Receptionist flows"). The
texts themselves pass the gate inside the services; a refused text is returned
with ``status: "blocked"`` and its reasons, never as an HTTP error.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from frontdesk.api import views
from frontdesk.api.deps import AppContainer, TenantCaller
from frontdesk.errors import invalid
from frontdesk.services import appointments, conversations, missed_calls
from frontdesk.services import settings as settings_service
from frontdesk.services.contacts import e164_or_422
from frontdesk.storage import flows
from frontdesk.storage.models import Appointment, Call, Conversation, Message

router = APIRouter()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AppointmentIn(_In):
    phone: str = Field(max_length=40)
    starts_at: AwareDatetime
    service: str | None = Field(default=None, max_length=200)
    reminders: list[str] | None = Field(default=None, max_length=5)
    external_id: str | None = Field(default=None, max_length=200)


class AppointmentPatch(_In):
    starts_at: AwareDatetime | None = None
    service: str | None = Field(default=None, max_length=200)
    reminders: list[str] | None = Field(default=None, max_length=5)
    status: str | None = Field(default=None, pattern="^confirmed$")


class MissedCallIn(_In):
    from_: str = Field(alias="from", max_length=64)
    to: str = Field(max_length=40)
    at: AwareDatetime | None = None
    id: str | None = Field(default=None, max_length=64)


class StaffMessageIn(_In):
    body: str = Field(min_length=1, max_length=1600)


# views ---------------------------------------------------------------------------------
def appointment_view(a: Appointment, msgs: list[Message] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.id,
        "phone": a.phone,
        "starts_at": views.iso(a.starts_at),
        "service": a.service,
        "status": a.status,
        "reminders": list(a.reminders or []),
        "proposed_time": a.proposed_time,
        "external_id": a.external_id,
        "confirmed_at": views.iso(a.confirmed_at),
        "canceled_at": views.iso(a.canceled_at),
        "created_at": views.iso(a.created_at),
        "updated_at": views.iso(a.updated_at),
    }
    if msgs is not None:
        out["messages"] = [views.message(m) for m in msgs]
    return out


def call_view(call: Call, msg: Message | None, duplicate: bool) -> dict[str, Any]:
    return {
        "id": call.id,
        "from": call.caller,
        "to": call.to_number,
        "at": views.iso(call.at),
        "status": call.status,
        "outcome": call.outcome,
        "duplicate": duplicate,
        "message": views.message(msg) if msg is not None else None,
    }


def conversation_view(c: Conversation, now: Any) -> dict[str, Any]:
    return {
        "phone": c.phone,
        "owner": c.owner,
        "state": c.state,
        "ai_paused": conversations.ai_paused(c, now),
        "paused_until": views.iso(c.paused_until),
        "unrecognised": c.unrecognised,
        "last_intent": c.last_intent,
        "language": c.language,
        "handoff": (c.data or {}).get("handoff"),
        "last_inbound_at": views.iso(c.last_inbound_at),
        "last_outbound_at": views.iso(c.last_outbound_at),
        "updated_at": views.iso(c.updated_at),
    }


def entry_view(e: conversations.Entry) -> dict[str, Any]:
    if e.inbound is not None:
        i = e.inbound
        return {
            "direction": "inbound",
            "id": i.id,
            "at": views.iso(i.received_at),
            "body": i.body,
            "classification": i.classification,
            "intent": i.intent,
            "actions": list(i.actions or []),
        }
    assert e.message is not None
    m = e.message
    return {
        "direction": "outbound",
        "id": m.id,
        "at": views.iso(m.created_at),
        "body": m.body,
        "category": m.category,
        "status": m.status,
        "reasons": [r["code"] for r in m.reasons or []],
        "automated": bool(m.conversation_reply),
    }


# appointments ----------------------------------------------------------------------------
@router.post("/v1/appointments", tags=["appointments"], status_code=201)
def create_appointment(
    body: AppointmentIn, caller: TenantCaller, c: AppContainer
) -> dict[str, Any]:
    """Book: a confirmation now and reminders at ``reminders`` offsets before ``starts_at``."""
    phone = e164_or_422(body.phone, "phone")
    booking = appointments.book(
        caller.scope,
        phone=phone,
        starts_at=body.starts_at,
        service=body.service,
        reminders=body.reminders,
        now=c.clock.now(),
        actor=caller.actor,
        external_id=body.external_id,
    )
    caller.uow.commit()
    c.worker.wake()
    out = appointment_view(booking.appointment, booking.messages)
    out["skipped_reminders"] = booking.skipped_offsets
    return out


@router.get("/v1/appointments", tags=["appointments"])
def list_appointments(
    caller: TenantCaller,
    phone: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    e164 = e164_or_422(phone, "phone") if phone is not None else None
    rows = flows.appointments(caller.scope, phone=e164, limit=limit, offset=offset)
    return {
        "items": [appointment_view(a) for a in rows],
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.get("/v1/appointments/{appointment_id}", tags=["appointments"])
def get_appointment(appointment_id: str, caller: TenantCaller) -> dict[str, Any]:
    appt = appointments.get(caller.scope, appointment_id)
    return appointment_view(appt, list(flows.appointment_messages(caller.scope, appt.id)))


@router.patch("/v1/appointments/{appointment_id}", tags=["appointments"])
def patch_appointment(
    appointment_id: str, body: AppointmentPatch, caller: TenantCaller, c: AppContainer
) -> dict[str, Any]:
    """Move it, change its reminders or mark it confirmed; waiting texts follow the change."""
    appt = appointments.get(caller.scope, appointment_id)
    now = c.clock.now()
    fields = set(body.model_fields_set)
    if "starts_at" in fields and body.starts_at is None:
        raise invalid("starts_at", "required", "starts_at cannot be null")
    booking = appointments.change(
        caller.scope,
        appt,
        starts_at=body.starts_at,
        service=body.service,
        reminders=body.reminders,
        fields_set=fields,
        now=now,
        actor=caller.actor,
    )
    if body.status == "confirmed":
        appointments.confirm(caller.scope, appt, now, caller.actor)
    caller.uow.commit()
    if booking.messages:
        c.worker.wake()
    out = appointment_view(appt, list(flows.appointment_messages(caller.scope, appt.id)))
    out["canceled_messages"] = [m.id for m in booking.canceled]
    return out


@router.delete("/v1/appointments/{appointment_id}", tags=["appointments"])
def delete_appointment(
    appointment_id: str, caller: TenantCaller, c: AppContainer
) -> dict[str, Any]:
    """Cancel the appointment (kept for the record) and every reminder not yet sent."""
    appt = appointments.get(caller.scope, appointment_id)
    booking = appointments.cancel(caller.scope, appt, c.clock.now(), caller.actor)
    caller.uow.commit()
    out = appointment_view(appt, list(flows.appointment_messages(caller.scope, appt.id)))
    out["canceled_messages"] = [m.id for m in booking.canceled]
    return out


# missed calls -------------------------------------------------------------------------------
@router.post("/v1/calls/missed", tags=["calls"], status_code=201)
def post_missed_call(body: MissedCallIn, caller: TenantCaller, c: AppContainer) -> Any:
    """A missed call from any telephony: at most one follow-up text per caller per window."""
    to = e164_or_422(body.to, "to")
    owned = {n.number for n in caller.scope.sending_numbers()}
    if to not in owned:
        raise invalid("to", "sender_not_owned", "to must be one of this tenant's numbers")
    now = c.clock.now()
    result = missed_calls.record_missed_call(
        caller.scope,
        missed_calls.MissedCall(
            caller=body.from_, to=to, at=body.at or now, provider="api", provider_call_id=body.id
        ),
        now,
        caller.actor,
    )
    caller.uow.commit()
    if result.message is not None and not result.duplicate:
        c.worker.wake()
    view = call_view(result.call, result.message, result.duplicate)
    return JSONResponse(view, status_code=200 if result.duplicate else 201)


# conversations -----------------------------------------------------------------------------
@router.get("/v1/conversations", tags=["conversations"])
def list_conversations(
    caller: TenantCaller,
    c: AppContainer,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    rows = flows.conversations(caller.scope, limit=limit, offset=offset)
    now = c.clock.now()
    return {
        "items": [conversation_view(r, now) for r in rows],
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.get("/v1/conversations/{phone}", tags=["conversations"])
def get_conversation(phone: str, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    e164 = e164_or_422(phone, "phone")
    conv, entries = conversations.thread(caller.scope, e164)
    now = c.clock.now()
    head = (
        conversation_view(conv, now)
        if conv is not None
        else {
            "phone": e164,
            "owner": "ai",
            "state": "idle",
            "ai_paused": False,
        }
    )
    return {**head, "messages": [entry_view(e) for e in entries]}


@router.post("/v1/conversations/{phone}/messages", tags=["conversations"], status_code=201)
def post_staff_message(
    phone: str, body: StaffMessageIn, caller: TenantCaller, c: AppContainer
) -> dict[str, Any]:
    """Staff reply (category ``conversation``), through the gate; the AI pauses."""
    e164 = e164_or_422(phone, "phone")
    msg = conversations.staff_reply(caller.scope, e164, body.body, c.clock.now(), caller.actor)
    caller.uow.commit()
    if msg.status != "blocked":
        c.worker.wake()
    return views.message(msg)


@router.post("/v1/conversations/{phone}/takeover", tags=["conversations"])
def post_takeover(phone: str, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    e164 = e164_or_422(phone, "phone")
    now = c.clock.now()
    conv = conversations.takeover(caller.scope, e164, now, caller.actor)
    caller.uow.commit()
    return conversation_view(conv, now)


@router.post("/v1/conversations/{phone}/release", tags=["conversations"])
def post_release(phone: str, caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    e164 = e164_or_422(phone, "phone")
    now = c.clock.now()
    conv = conversations.release(caller.scope, e164, now, caller.actor)
    caller.uow.commit()
    return conversation_view(conv, now)


# settings ------------------------------------------------------------------------------------
@router.get("/v1/tenant/settings", tags=["tenant"])
def get_settings(caller: TenantCaller) -> dict[str, Any]:
    return settings_service.load(caller.tenant).model_dump(mode="json")


@router.patch("/v1/tenant/settings", tags=["tenant"])
def patch_settings(body: dict[str, Any], caller: TenantCaller, c: AppContainer) -> dict[str, Any]:
    """Merge a partial settings object; the whole is validated and templates are linted."""
    new = settings_service.update(caller.scope, body, c.clock.now(), caller.actor)
    caller.uow.commit()
    return new.model_dump(mode="json")
