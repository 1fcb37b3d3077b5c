"""Inbound texts from any source, reviews, the audit log and health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from frontdesk import errors
from frontdesk.api import views
from frontdesk.api.deps import AppContainer, Caller, TenantCaller, TenantToken, UoWDep, caller_in
from frontdesk.api.schemas import InboundIn, ReviewDecisionIn
from frontdesk.providers.base import InboundSms
from frontdesk.services import inbound
from frontdesk.services.contacts import e164_or_422
from frontdesk.storage.uow import UnitOfWork

router = APIRouter()


@router.post("/v1/inbound", tags=["inbound"])
def post_inbound(body: InboundIn, token: TenantToken, c: AppContainer) -> dict[str, Any]:
    """Keywords first, then the receptionist. The tenant's model, if any, is asked
    between a read and the write transaction, so no lock is held while it answers."""
    now = c.clock.now()
    with UnitOfWork(c.db, write=False) as peek:
        caller = caller_in(peek, token)
        sender = e164_or_422(body.from_, "from")
        to = e164_or_422(body.to, "to")
        _check_owned(caller, to)
        sms = InboundSms(
            provider="api",
            provider_message_id=body.id,
            sender=sender,
            to=to,
            body=body.body,
            media_urls=tuple(body.media_urls),
        )
        question = inbound.consult(caller.scope, sms, now)
    answers = question.ask() if question is not None else None
    with UnitOfWork(c.db) as unit:
        caller = caller_in(unit, token)
        _check_owned(caller, to)
        outcome = inbound.handle_inbound(
            caller.scope, sms, now, review_hours=c.settings.review_hours, answers=answers
        )
        unit.commit()
        row = outcome.inbound
        answer = {
            "id": row.id,
            "classification": row.classification,
            "intent": row.intent,
            "actions": row.actions,
            "replies": outcome.replies,
            "duplicate": outcome.duplicate,
            "decision": row.decision,
        }
    if outcome.replies:
        c.worker.wake()
    return answer


def _check_owned(caller: Caller, to: str) -> None:
    owned = {n.number for n in caller.scope.sending_numbers()}
    if owned and to not in owned:
        raise errors.invalid(
            "to", "sender_not_owned", "to must be one of this tenant's sending numbers"
        )


@router.post("/v1/reviews/{review_id}", tags=["inbound"])
def decide_review(
    review_id: str, body: ReviewDecisionIn, caller: TenantCaller, c: AppContainer
) -> dict[str, Any]:
    review = inbound.decide_review(
        caller.scope, review_id, body.decision, c.clock.now(), caller.actor
    )
    caller.uow.commit()
    return {
        "id": review.id,
        "phone": review.phone,
        "status": review.status,
        "decided_at": views.iso(review.decided_at),
    }


@router.get("/v1/audit", tags=["audit"])
def audit_log(
    caller: TenantCaller,
    since: AwareDatetime | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    rows = caller.scope.audit_entries(since, limit, offset)
    return {
        "items": [
            {
                "seq": r.seq,
                "at": views.iso(r.at),
                "actor": r.actor,
                "action": r.action,
                "subject": r.subject,
                "data": r.data,
                "hash": r.hash,
                "prev_hash": r.prev_hash,
            }
            for r in rows
        ],
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.get("/v1/audit/verify", tags=["audit"])
def audit_verify(caller: TenantCaller) -> dict[str, Any]:
    result = caller.scope.verify_audit()
    return {"ok": result.ok, "checked": result.checked, "first_bad": result.first_bad}


@router.get("/healthz", tags=["health"])
def healthz(uow: UoWDep, c: AppContainer) -> dict[str, str]:
    try:
        uow.ping()
        db = "ok"
    except Exception:
        db = "error"
    if c.embedded_worker:
        worker = "ok" if c.worker.alive and c.worker.last_error is None else "error"
    else:
        worker = "external"
    return {"status": "ok" if db == "ok" else "degraded", "db": db, "worker": worker}
