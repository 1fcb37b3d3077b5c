"""Hand-off: claim due messages, re-run the gate with fresh facts, give them to the carrier.

One transaction covers the claim, the re-check and the hand-off (design.md,
guarantee 1): on SQLite the write lock, on PostgreSQL the contact-row lock make a
STOP committed before the hand-off visible to the re-check, and a STOP that
arrives during the hand-off commit after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.domain import gate
from frontdesk.domain.messages import Category, Status
from frontdesk.providers.base import OutboundSms, Provider
from frontdesk.services import facts as facts_service
from frontdesk.services import messages as messages_service
from frontdesk.storage.claims import claim_due
from frontdesk.storage.models import Message, MessageEvent
from frontdesk.storage.uow import UnitOfWork

MAX_ATTEMPTS = 5
BASE_BACKOFF = timedelta(seconds=30)


@dataclass
class BatchResult:
    claimed: int = 0
    handed_off: int = 0
    blocked: int = 0
    deferred: int = 0
    failed: int = 0


def _command(msg: Message) -> messages_service.SendCommand:
    return messages_service.SendCommand(
        to=msg.to_phone,
        body=msg.body,
        category=Category(msg.category),
        sender=None,
        media_urls=tuple(msg.media_urls or ()),
        subject=msg.subject,
        appointment_starts_at=msg.appointment_starts_at,
        revocation_at=msg.revocation_at,
    )


def _event(msg: Message, status: str, now: datetime, **detail: object) -> MessageEvent:
    return MessageEvent(
        tenant_id=msg.tenant_id,
        message_id=msg.id,
        status=status,
        provider=msg.provider,
        provider_message_id=msg.provider_message_id,
        error_code=msg.error_code,
        detail=dict(detail),
        at=now,
    )


def recheck(uow: UnitOfWork, msg: Message, now: datetime) -> gate.Decision:
    scope = uow.tenant(msg.tenant_id)
    scope.lock_contact(msg.to_phone)
    tenant = scope.tenant()
    cmd = _command(msg)
    request = messages_service._request(cmd)
    facts = facts_service.gather(scope, tenant, msg.to_phone, now, exclude_message_id=msg.id)
    return gate.evaluate(request, facts, now)


def deliver_batch(uow: UnitOfWork, provider: Provider, now: datetime, limit: int) -> BatchResult:
    """Claim up to ``limit`` due messages and hand off those the gate still allows."""
    result = BatchResult()
    rows = claim_due(uow.session, now, limit)
    result.claimed = len(rows)
    for msg in rows:
        decision = recheck(uow, msg, now)
        scope = uow.tenant(msg.tenant_id)
        if not decision.allowed:
            msg.status = Status.BLOCKED.value
            msg.reasons = [r.as_dict() for r in decision.reasons]
            msg.updated_at = now
            scope.add(_event(msg, msg.status, now, stage="handoff", reasons=list(decision.codes)))
            scope.audit(
                now,
                "worker",
                "message.blocked_at_handoff",
                msg.id,
                {"reasons": list(decision.codes)},
            )
            result.blocked += 1
            continue
        if decision.send_at > now:
            msg.status = Status.SCHEDULED.value
            msg.send_at = decision.send_at
            msg.reasons = [r.as_dict() for r in decision.reasons]
            msg.updated_at = now
            scope.add(_event(msg, msg.status, now, stage="handoff", deferred_to=str(msg.send_at)))
            result.deferred += 1
            continue
        sent = provider.send(
            OutboundSms(
                message_id=msg.id,
                to=msg.to_phone,
                sender=msg.from_phone,
                body=msg.body,
                media_urls=tuple(msg.media_urls or ()),
            )
        )
        msg.provider = provider.name
        msg.updated_at = now
        if sent.accepted:
            msg.provider_message_id = sent.provider_message_id
            msg.handed_off_at = now
            scope.add(_event(msg, Status.SENDING.value, now, stage="handoff"))
            result.handed_off += 1
        else:
            msg.error_code = sent.error_code
            if msg.attempts >= MAX_ATTEMPTS:
                msg.status = Status.FAILED.value
                result.failed += 1
            else:
                msg.status = Status.QUEUED.value
                msg.send_at = now + BASE_BACKOFF * (2 ** (msg.attempts - 1))
                result.deferred += 1
            scope.add(_event(msg, msg.status, now, stage="handoff", error=sent.error_message))
    return result


def deliver_one(uow: UnitOfWork, provider: Provider, now: datetime) -> bool:
    """Hand off at most one due message; True when one was claimed (Zulip-style step)."""
    return deliver_batch(uow, provider, now, 1).claimed > 0
