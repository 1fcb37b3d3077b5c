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
from frontdesk.receptionist.consult import NluAnswers
from frontdesk.services import delivery, inbound
from frontdesk.services.conversations import Consultation
from frontdesk.storage import throughput as receipts
from frontdesk.storage.claims import MessageUpdates, load_message
from frontdesk.storage.models import Message
from frontdesk.storage.throughput import ReceiptTarget
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
    the whole drain, as columns, not ORM objects. Receipts recorded earlier in the
    same drain are remembered, so a duplicate within the drain is still caught
    (decided by reading, never by the dedup constraint at insert). A plain status
    change moves the message in memory through the state machine, so its ``sent``
    and ``delivered`` in one drain end in one row update, written with the others
    in one ``executemany``. Any outcome beyond that (a retry, an opt-out, a number
    marked) works on the full row and is flushed at once; the recipient's other
    messages in the drain are then read afresh, since an opt-out cancels them.
    """
    wanted = [
        (u.provider, u.provider_message_id)
        for u in updates
        if _STATUS_MAP.get(u.status.lower()) is not None
    ]
    # Receipts recorded in this transaction but not flushed yet, across calls.
    seen: set[tuple[str, str, str]] = uow.session.info.setdefault("receipts_recorded", set())
    with uow.session.no_autoflush:
        found = receipts.receipt_targets(uow.session, wanted)
        seen |= receipts.recorded_receipts(uow.session, wanted)
    drain = _Drain(uow, found, seen)
    outcomes = [drain.apply(u, now) for u in updates]
    drain.writes.write(uow.session)
    return outcomes


class _Drain:
    def __init__(
        self,
        uow: UnitOfWork,
        found: Mapping[tuple[str, str], ReceiptTarget],
        seen: set[tuple[str, str, str]],
    ) -> None:
        self.uow = uow
        self.found = found
        self.seen = seen
        self.writes = MessageUpdates()
        self._by_recipient: dict[tuple[str, str], list[ReceiptTarget]] | None = None

    def _load(self, target: ReceiptTarget) -> Message:
        if target.loaded is None:
            self.writes.write(self.uow.session)
            target.loaded = load_message(self.uow.session, target.id)
        return target.loaded

    def _reload_recipient(self, target: ReceiptTarget) -> None:
        """After a failure's platform action: the recipient's other messages may have
        changed (an opt-out cancels the scheduled ones), so they are read afresh."""
        if self._by_recipient is None:
            self._by_recipient = {}
            for t in self.found.values():
                self._by_recipient.setdefault((t.tenant_id, t.to_phone), []).append(t)
        for other in self._by_recipient.get((target.tenant_id, target.to_phone), ()):
            self._load(other)

    def apply(self, update: StatusUpdate, now: datetime) -> str:
        status = _STATUS_MAP.get(update.status.lower())
        if status is None:
            return "unknown"
        target = self.found.get((update.provider, update.provider_message_id))
        if target is None:
            return "unknown"
        key = (update.provider, update.provider_message_id, status)
        if key in self.seen:
            return "duplicate"
        self.seen.add(key)
        scope = self.uow.tenant(target.tenant_id)
        code = carrier_errors.normalise(update.error_code)
        scope.add_event(
            target.id,
            status,
            update.at or now,
            {"callback": True} if update.source == "callback" else {"source": update.source},
            provider=update.provider,
            provider_message_id=update.provider_message_id,
            error_code=code[:16] if code else None,
        )
        loaded = target.loaded
        current = Status(loaded.status if loaded is not None else target.status)
        new = Status(status)
        if new in (Status.UNDELIVERED, Status.FAILED) and code is not None:
            msg = self._load(target)
            if current in _RETRYABLE_FROM:
                after = delivery.after_failure(scope, msg, code, now, final=new)
                self.uow.session.flush()
                self._reload_recipient(target)
                return "retried" if after is Status.QUEUED else "applied"
            error = carrier_errors.classify(code)
            delivery.apply_action(scope, msg, error, code, now)
            self.uow.session.flush()
            self._reload_recipient(target)
        if current == new or not can_move(current, new):
            return "stale"
        loaded = target.loaded
        if loaded is not None:
            loaded.status = new.value
            if code:
                loaded.error_code = code[:16]
            loaded.updated_at = now
            return "applied"
        target.status = new.value
        if code:
            target.error_code = code[:16]
        self.writes.set(
            target.id, status=target.status, error_code=target.error_code, updated_at=now
        )
        return "applied"


def consult_inbound(uow: UnitOfWork, sms: InboundSms, now: datetime) -> Consultation | None:
    """The model question :func:`apply_inbound` will need answered for ``sms`` (read-only;
    see ``services.inbound.consult``), or None."""
    tenant = uow.tenant_for_number(sms.to)
    if tenant is None:
        return None
    return inbound.consult(uow.tenant(tenant.id), sms, now)


def apply_inbound(
    uow: UnitOfWork,
    sms: InboundSms,
    now: datetime,
    review_hours: int = 24,
    answers: NluAnswers | None = None,
) -> str:
    """An inbound text the provider pushed out of band (simulator, SMPP ``deliver_sm``).

    Routed to the tenant that owns the number it was sent to, then handled like a
    webhook's: keywords first, so a simulated STOP is an opt-out (R-FCC-02).
    Returns the classification, ``duplicate``, or ``unknown`` for a number no
    tenant owns. ``answers`` come from :func:`consult_inbound`.
    """
    tenant = uow.tenant_for_number(sms.to)
    if tenant is None:
        return "unknown"
    outcome = inbound.handle_inbound(
        uow.tenant(tenant.id), sms, now, review_hours=review_hours, answers=answers
    )
    if outcome.duplicate:
        return "duplicate"
    return outcome.inbound.classification
