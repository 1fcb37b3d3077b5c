"""Apply carrier reports: status receipts (R-E-01, R-E-02) and out-of-band inbound texts.

Receipts arrive late, duplicated and out of order (design.md). A receipt is
recorded once per (provider, provider message id, status) — the database's
``uq_message_events_dedup`` constraint says the same — so the receipts for the
parts of a multi-part message, which share one provider id, give the message
one status. The state machine never moves backwards (``domain.messages.can_move``):
a late ``sent`` does not overwrite ``delivered``.

A failure receipt carries a carrier error code: the platform action of R-E-02
happens whatever the message's state (a 21610 is an opt-out even when it
arrives late), and a retryable error on the current attempt requeues the
message through ``services.delivery.after_failure`` (bounded, backed off, and
re-checked by the gate at the next hand-off).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from frontdesk.domain import carrier_errors
from frontdesk.domain.messages import Status, can_move
from frontdesk.providers.base import InboundSms, StatusUpdate
from frontdesk.services import delivery, inbound
from frontdesk.storage import throughput as receipts
from frontdesk.storage.models import Message, MessageEvent
from frontdesk.storage.uow import UnitOfWork

_STATUS_MAP = {
    "accepted": "sending",
    "queued": "sending",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}

# A retry of the attempt a failure receipt reports is possible only while that
# attempt is the message's latest and not yet final.
_RETRYABLE_FROM = frozenset({Status.SENDING, Status.SENT})


def apply_status(uow: UnitOfWork, update: StatusUpdate, now: datetime) -> str:
    """``applied``, ``retried``, ``duplicate``, ``stale`` (recorded, no change) or ``unknown``."""
    return apply_statuses(uow, [update], now)[0]


def apply_statuses(uow: UnitOfWork, updates: Sequence[StatusUpdate], now: datetime) -> list[str]:
    """Apply a drain of receipts in order; one outcome per receipt (see :func:`apply_status`).

    The messages and the receipts already recorded are read in two queries for
    the whole drain, and the look-ups run without autoflush: per receipt, those
    look-ups and the flush before each cost more than the rest of the work.
    Receipts recorded earlier in the same drain are remembered, so a duplicate
    within the drain is still caught; any outcome beyond a plain status change
    (a retry, an opt-out, a number marked) is flushed at once.
    """
    wanted = [
        (u.provider, u.provider_message_id)
        for u in updates
        if _STATUS_MAP.get(u.status.lower()) is not None
    ]
    # Receipts recorded in this transaction but not flushed yet, across calls.
    seen: set[tuple[str, str, str]] = uow.session.info.setdefault("receipts_recorded", set())
    with uow.session.no_autoflush:
        found = receipts.messages_by_provider_ids(uow.session, wanted)
        seen |= receipts.recorded_receipts(uow.session, wanted)
    return [_apply_one(uow, u, now, found, seen) for u in updates]


def _apply_one(
    uow: UnitOfWork,
    update: StatusUpdate,
    now: datetime,
    found: Mapping[tuple[str, str], Message],
    seen: set[tuple[str, str, str]],
) -> str:
    status = _STATUS_MAP.get(update.status.lower())
    if status is None:
        return "unknown"
    msg = found.get((update.provider, update.provider_message_id))
    if msg is None:
        return "unknown"
    key = (update.provider, update.provider_message_id, status)
    if key in seen:
        return "duplicate"
    seen.add(key)
    scope = uow.tenant(msg.tenant_id)
    code = carrier_errors.normalise(update.error_code)
    scope.add(
        MessageEvent(
            tenant_id=msg.tenant_id,
            message_id=msg.id,
            status=status,
            provider=update.provider,
            provider_message_id=update.provider_message_id,
            error_code=code[:16] if code else None,
            detail={"callback": True},
            at=update.at or now,
        )
    )
    current = Status(msg.status)
    new = Status(status)
    if new in (Status.UNDELIVERED, Status.FAILED) and code is not None:
        if current in _RETRYABLE_FROM:
            after = delivery.after_failure(scope, msg, code, now, final=new)
            uow.session.flush()
            return "retried" if after is Status.QUEUED else "applied"
        error = carrier_errors.classify(code)
        delivery.apply_action(scope, msg, error, code, now)
        uow.session.flush()
    if current == new or not can_move(current, new):
        return "stale"
    msg.status = new.value
    if code:
        msg.error_code = code[:16]
    msg.updated_at = now
    return "applied"


def apply_inbound(uow: UnitOfWork, sms: InboundSms, now: datetime, review_hours: int = 24) -> str:
    """An inbound text the provider pushed out of band (simulator, SMPP ``deliver_sm``).

    Routed to the tenant that owns the number it was sent to, then handled like a
    webhook's: keywords first, so a simulated STOP is an opt-out (R-FCC-02).
    Returns the classification, ``duplicate``, or ``unknown`` for a number no
    tenant owns.
    """
    tenant = uow.tenant_for_number(sms.to)
    if tenant is None:
        return "unknown"
    outcome = inbound.handle_inbound(uow.tenant(tenant.id), sms, now, review_hours=review_hours)
    if outcome.duplicate:
        return "duplicate"
    return outcome.inbound.classification
