"""The SQL of reconciliation: messages whose receipt is overdue, and the claim that settles them.

A message is awaiting a receipt while it is ``sending`` (handed off, no word
from the carrier) or ``sent`` (accepted by the carrier, no final receipt yet).
Which of them are due a look-up is decided by :class:`AskWindow` bands the
service computes: a message whose hand-off falls in a band is asked when its
row has not changed since the band's ``asked_before``. An unanswered look-up
moves ``updated_at`` to the time of asking (:func:`mark_asked`), so a message
the carrier cannot place is asked again an interval later instead of on every
pass, and cannot hold the head of the oldest-first batch. Every comparison is a
column against a bound parameter, so the same statement runs on both engines.

:func:`claim_awaiting` is the exclusivity: on PostgreSQL the rows are taken
``FOR UPDATE SKIP LOCKED``, so two workers settling the same messages get
disjoint sets, and a row another worker already settled has moved on; on
SQLite the write transaction is the only writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from frontdesk.storage.models import Message

SENDING = "sending"
SENT = "sent"
AWAITING = (SENDING, SENT)


@dataclass(frozen=True, slots=True)
class AskWindow:
    """Messages handed off in ``(handed_after, handed_before]`` whose row has not
    changed since ``asked_before``; ``sending_only`` leaves ``sent`` ones out."""

    handed_after: datetime | None
    handed_before: datetime
    asked_before: datetime
    sending_only: bool = False


@dataclass(frozen=True, slots=True)
class Stuck:
    """A message awaiting a receipt as reconciliation reads it (columns, no ORM object)."""

    id: str
    tenant_id: str
    provider: str | None
    provider_message_id: str | None
    handed_off_at: datetime
    status: str = SENDING
    sender: str | None = None  # the number it was sent from
    parts: int = 1  # its segments: a carrier that tracks parts asks about each


_COLUMNS = (
    Message.id,
    Message.tenant_id,
    Message.provider,
    Message.provider_message_id,
    Message.handed_off_at,
    Message.status,
    Message.from_phone,
    Message.segments,
)


def awaiting_receipt(
    session: Session, windows: Sequence[AskWindow], limit: int, sent_since: datetime
) -> list[Stuck]:
    """Up to ``limit`` messages ``sending`` or ``sent`` that fall in one of ``windows``,
    oldest hand-off first.

    ``sent`` messages stay ``sent`` for good when their carrier never sends a final
    receipt, so they pile up; only those with ``send_at`` after ``sent_since`` are
    read, a range on the ``(status, send_at)`` index, so the pass does not grow with
    the table. ``sending`` messages are few (in flight) and all read, but those still
    in an outbox claim (no outcome written yet) are the worker's to settle
    (``services.delivery.recover_claims``).
    """
    if not windows:
        return []
    sending: list[ColumnElement[bool]] = []
    sent: list[ColumnElement[bool]] = []
    for w in windows:
        terms = [Message.handed_off_at <= w.handed_before, Message.updated_at <= w.asked_before]
        if w.handed_after is not None:
            terms.append(Message.handed_off_at > w.handed_after)
        sending.append(and_(*terms))
        if not w.sending_only:
            sent.append(and_(*terms))
    order = (Message.handed_off_at, Message.id)
    found = list(
        session.execute(
            select(*_COLUMNS)
            .where(Message.status == SENDING, Message.claim_token.is_(None), or_(*sending))
            .order_by(*order)
            .limit(limit)
        )
    )
    if sent:
        found += session.execute(
            select(*_COLUMNS)
            .where(Message.status == SENT, Message.send_at > sent_since, or_(*sent))
            .order_by(*order)
            .limit(limit)
        )
    found.sort(key=lambda r: (r[4], r[0]))
    return [
        Stuck(mid, tid, prov, pid, at, state, sender, max(int(segments or 1), 1))
        for mid, tid, prov, pid, at, state, sender, segments in found[:limit]
        if at is not None
    ]


def claim_awaiting(session: Session, stuck: Sequence[Stuck]) -> set[str]:
    """The ids among ``stuck`` still in the state they were read in, on the same attempt,
    now held by this transaction (a retry since the read has a new provider message
    id, a receipt since the read a new state: not ours)."""
    if not stuck:
        return set()
    expected = {s.id: (s.status, s.provider, s.provider_message_id) for s in stuck}
    stmt = (
        select(Message.id, Message.status, Message.provider, Message.provider_message_id)
        .where(Message.id.in_(sorted(expected)), Message.status.in_(AWAITING))
        .order_by(Message.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return {
        mid
        for mid, state, provider, pid in session.execute(stmt)
        if expected[mid] == (state, provider, pid)
    }


def mark_asked(session: Session, ids: Sequence[str], now: datetime) -> None:
    """Record that the carrier was asked about these messages at ``now``."""
    if ids:
        session.execute(
            update(Message)
            .where(Message.id.in_(sorted(ids)), Message.status.in_(AWAITING))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
