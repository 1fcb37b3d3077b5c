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

from sqlalchemy import and_, or_, select, update
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


def awaiting_receipt(session: Session, windows: Sequence[AskWindow], limit: int) -> list[Stuck]:
    """Up to ``limit`` messages ``sending`` or ``sent`` that fall in one of ``windows``,
    oldest hand-off first."""
    if not windows:
        return []
    bands = []
    for w in windows:
        terms = [Message.handed_off_at <= w.handed_before, Message.updated_at <= w.asked_before]
        if w.handed_after is not None:
            terms.append(Message.handed_off_at > w.handed_after)
        if w.sending_only:
            terms.append(Message.status == SENDING)
        bands.append(and_(*terms))
    rows = session.execute(
        select(
            Message.id,
            Message.tenant_id,
            Message.provider,
            Message.provider_message_id,
            Message.handed_off_at,
            Message.status,
            Message.from_phone,
            Message.segments,
        )
        .where(Message.status.in_(AWAITING), or_(*bands))
        .order_by(Message.handed_off_at, Message.id)
        .limit(limit)
    )
    return [
        Stuck(mid, tid, prov, pid, at, state, sender, max(int(segments or 1), 1))
        for mid, tid, prov, pid, at, state, sender, segments in rows
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
