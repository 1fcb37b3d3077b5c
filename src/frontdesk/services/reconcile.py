"""Reconciliation: a message whose receipt never came is settled by asking its carrier
(guarantee 2).

A receipt can be lost: the simulator and SMPP hold pushed receipts in memory,
and a killed process loses them; a Twilio status webhook can be missed (an
outage, a wrong URL). Without more, a message would stay ``sending`` forever and
show as in flight, or stay ``sent`` though the carrier knows it was delivered or
refused. Gateways reconcile, and so does the worker, in three steps so no
transaction is open while a carrier is asked:

1. :func:`stuck` reads the oldest messages ``sending`` or ``sent`` that are due
   a look-up (read-only; see :meth:`ReconcilePolicy.windows`);
2. :func:`look_up` asks the provider (``providers.base.StatusLookup``), outside
   any transaction; a provider that cannot look up answers nothing;
3. :func:`settle` claims the rows still in the state and on the attempt that
   was read (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and applies each answer
   through the receipt path, ``services.status.apply_statuses``: the same state
   machine (never backwards), deduplication on (provider, provider message id,
   status) and R-E-02 carrier-error handling as a webhook. A receipt that
   arrives later is a duplicate or stale there.

**When to ask.** First once the receipt is :attr:`ReconcilePolicy.after` overdue,
then at intervals that grow with the message's age (see
:meth:`ReconcilePolicy.windows`): 16 look-ups over 72 hours instead of one
every 15 minutes (288), because each is a carrier API call and Twilio rate-
limits them per account.

**When to stop.** A ``sending`` message nobody can place once
:attr:`ReconcilePolicy.deadline` has passed since its hand-off is given the
honest verdict :data:`UNRESOLVED`: ``undelivered`` with error code
:data:`NO_RECEIPT` — the carrier accepted it (so not ``failed``, which here
means it never left us or was refused), and delivery was never confirmed
(R-E-01: never promise delivery; never ``delivered`` without a receipt). The
deadline is 72 hours, the validity period carriers' store-and-forward centres
commonly keep a message for; ``delivery.VALIDITY`` (10 hours) bounds the wait
*before* hand-off and is not the right bound here. The verdict is not a carrier
error: it is never retried (the message may have arrived, and a second copy is
worse than none) and triggers no R-E-02 platform action. A ``sent`` message is
simply no longer asked after the deadline and stays ``sent``: the carrier
accepted it, and some carriers never return a final receipt (Twilio leaves such
messages ``sent`` too), so "sent, delivery not confirmed" is already the true
state.

Services never commit; the worker owns the transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.domain.messages import Status, can_move
from frontdesk.providers.base import Provider, StatusLookup, StatusUpdate
from frontdesk.services import delivery, status
from frontdesk.storage import reconcile as store
from frontdesk.storage.claims import load_message
from frontdesk.storage.reconcile import AskWindow, Stuck
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.reconcile")

AFTER = timedelta(minutes=15)
DEADLINE = timedelta(hours=72)
BATCH = 100
NO_RECEIPT = "no_receipt"
UNRESOLVED = Status.UNDELIVERED
_MOVED = frozenset({"applied", "retried"})

__all__ = [
    "AFTER",
    "BATCH",
    "DEADLINE",
    "NO_RECEIPT",
    "UNRESOLVED",
    "Answer",
    "ReconcilePolicy",
    "ReconcileResult",
    "Stuck",
    "look_up",
    "settle",
    "stuck",
]


@dataclass(frozen=True)
class ReconcilePolicy:
    """When to ask (``after`` the hand-off, again every ``after``), when to stop waiting."""

    after: timedelta = AFTER
    deadline: timedelta = DEADLINE
    batch: int = BATCH

    def windows(self, now: datetime) -> list[AskWindow]:
        """The look-up schedule as bands of hand-off age.

        Age ``[after, 2·after)`` is asked every ``after``; age
        ``[after·2^k, after·2^(k+1))`` every ``after·2^(k-1)``, so each band holds
        about two look-ups; bands stop at the deadline. Past it only ``sending``
        messages are read, every ``after``, to be given the deadline verdict.
        """
        out: list[AskWindow] = []
        low = self.after
        step = self.after
        while low < self.deadline:
            high = min(low * 2, self.deadline)
            out.append(AskWindow(now - high, now - low, now - step))
            step = low
            low = high
        out.append(AskWindow(None, now - self.deadline, now - self.after, sending_only=True))
        return out


DEFAULT_POLICY = ReconcilePolicy()


@dataclass(frozen=True, slots=True)
class Answer:
    """What the provider said about one message; ``asked`` is False when it could not be
    asked (no look-up, another provider, no provider message id)."""

    stuck: Stuck
    update: StatusUpdate | None
    asked: bool
    error: str | None = None


@dataclass
class ReconcileResult:
    asked: int = 0
    resolved: int = 0  # moved on by the carrier's answer
    unresolved: int = 0  # past the deadline with no answer: :data:`UNRESOLVED`
    waiting: int = 0  # no answer yet, asked again later
    skipped: int = 0  # settled elsewhere since it was read


def stuck(uow: UnitOfWork, now: datetime, policy: ReconcilePolicy = DEFAULT_POLICY) -> list[Stuck]:
    """The oldest ``sending`` or ``sent`` messages due a look-up (a read; no row is held)."""
    # A message is handed off within the validity period of its send time (delivery),
    # so one handed off after the deadline's start was due after this; a day's margin.
    sent_since = now - policy.deadline - delivery.VALIDITY - timedelta(days=1)
    return store.awaiting_receipt(uow.session, policy.windows(now), policy.batch, sent_since)


def look_up(provider: Provider, messages: Sequence[Stuck]) -> list[Answer]:
    """Ask the provider about each message; call outside any transaction.

    A message handed to another provider (the configuration changed) is not asked.
    A failing look-up is logged and counts as no answer.
    """
    lookup = provider if isinstance(provider, StatusLookup) else None
    out: list[Answer] = []
    for msg in messages:
        pid = msg.provider_message_id
        if lookup is None or pid is None or msg.provider != provider.name:
            out.append(Answer(msg, None, asked=False))
            continue
        try:
            update = lookup.fetch_status(pid, sender=msg.sender, parts=msg.parts)
        except Exception as exc:
            log.warning("status look-up of %s raised %s", msg.id, type(exc).__name__)
            out.append(Answer(msg, None, asked=True, error=type(exc).__name__))
            continue
        if update is not None and (update.provider, update.provider_message_id) != (
            msg.provider,
            pid,
        ):
            log.warning("status look-up of %s answered for another message", msg.id)
            update = None
        out.append(Answer(msg, update, asked=True))
    return out


def settle(
    uow: UnitOfWork,
    answers: Sequence[Answer],
    now: datetime,
    policy: ReconcilePolicy = DEFAULT_POLICY,
) -> ReconcileResult:
    """Apply the answers to the messages still in the state and on the attempt asked about.

    Answers go through ``status.apply_statuses``; what the answer did not move is
    given :data:`UNRESOLVED` when it is ``sending`` past the deadline, else marked
    asked.
    """
    result = ReconcileResult(asked=sum(a.asked for a in answers))
    held = store.claim_awaiting(uow.session, [a.stuck for a in answers])
    mine = [a for a in answers if a.stuck.id in held]
    result.skipped = len(answers) - len(mine)
    answered = [a for a in mine if a.update is not None]
    updates = [a.update for a in answered if a.update is not None]
    outcomes = status.apply_statuses(uow, updates, now) if updates else []
    moved: set[str] = set()
    for answer, outcome in zip(answered, outcomes, strict=True):
        assert answer.update is not None
        uow.tenant(answer.stuck.tenant_id).audit(
            now,
            "worker",
            "message.reconciled",
            answer.stuck.id,
            {
                "provider": answer.update.provider,
                "answer": answer.update.status,
                "error_code": answer.update.error_code,
                "outcome": outcome,
            },
        )
        if outcome in _MOVED:
            moved.add(answer.stuck.id)
    result.resolved = len(moved)
    waiting: list[str] = []
    for answer in mine:
        if answer.stuck.id in moved:
            continue
        if answer.stuck.status == store.SENDING and (
            now - answer.stuck.handed_off_at >= policy.deadline
        ):
            if _give_up(uow, answer, now, policy):
                result.unresolved += 1
        else:
            waiting.append(answer.stuck.id)
    store.mark_asked(uow.session, waiting, now)
    result.waiting = len(waiting)
    return result


def _give_up(uow: UnitOfWork, answer: Answer, now: datetime, policy: ReconcilePolicy) -> bool:
    """:data:`UNRESOLVED` with :data:`NO_RECEIPT`, its reason, an event and an audit entry."""
    msg = load_message(uow.session, answer.stuck.id)
    if not can_move(Status(msg.status), UNRESOLVED):
        return False
    hours = policy.deadline.total_seconds() / 3600
    msg.status = UNRESOLVED.value
    msg.error_code = NO_RECEIPT
    msg.updated_at = now
    msg.reasons = [
        *(msg.reasons or []),
        {
            "code": NO_RECEIPT,
            "rule": "R-E-01",
            "message": (
                f"Delivery unknown: the carrier accepted it, but no receipt came within "
                f"{hours:g} h and the carrier cannot tell its status. It may or may not "
                "have arrived."
            ),
            "fix": "Check with the recipient before sending it again.",
            "severity": "warn",
        },
    ]
    detail = {
        "stage": "reconcile",
        "reason": "no receipt; carrier status unknown",
        "asked": answer.asked,
        "lookup_error": answer.error,
        "handed_off_at": answer.stuck.handed_off_at.isoformat(),
    }
    scope = uow.tenant(msg.tenant_id)
    scope.add_event(msg.id, msg.status, now, detail, provider=msg.provider, error_code=NO_RECEIPT)
    scope.audit(
        now,
        "worker",
        "message.reconciled",
        msg.id,
        {"provider": msg.provider, "answer": None, "outcome": msg.status, "code": NO_RECEIPT},
    )
    log.info("message %s: no receipt after %g h, marked %s", msg.id, hours, msg.status)
    return True
