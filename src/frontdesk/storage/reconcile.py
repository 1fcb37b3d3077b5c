"""The SQL of reconciliation: messages left ``sending``, and the claim that settles them.

A message is asked about when it was handed off before ``handed_before`` and not
asked since ``asked_before``: an unanswered look-up moves ``updated_at`` to the
time of asking (:func:`mark_asked`), so a message the carrier cannot place is
asked again an interval later instead of on every pass, and cannot hold the
head of the oldest-first batch.

:func:`claim_sending` is the exclusivity: on PostgreSQL the rows are taken
``FOR UPDATE SKIP LOCKED``, so two workers settling the same messages get
disjoint sets, and a row another worker already settled is no longer
``sending``; on SQLite the write transaction is the only writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from frontdesk.storage.models import Message

SENDING = "sending"


@dataclass(frozen=True, slots=True)
class Stuck:
    """A ``sending`` message as reconciliation reads it (columns, no ORM object)."""

    id: str
    tenant_id: str
    provider: str | None
    provider_message_id: str | None
    handed_off_at: datetime


def stuck_sending(
    session: Session, handed_before: datetime, asked_before: datetime, limit: int
) -> list[Stuck]:
    """Up to ``limit`` messages ``sending`` since before ``handed_before``, oldest first."""
    rows = session.execute(
        select(
            Message.id,
            Message.tenant_id,
            Message.provider,
            Message.provider_message_id,
            Message.handed_off_at,
        )
        .where(
            Message.status == SENDING,
            Message.handed_off_at <= handed_before,
            Message.updated_at <= asked_before,
        )
        .order_by(Message.handed_off_at, Message.id)
        .limit(limit)
    )
    return [Stuck(mid, tid, prov, pid, at) for mid, tid, prov, pid, at in rows if at is not None]


def claim_sending(session: Session, stuck: Sequence[Stuck]) -> set[str]:
    """The ids among ``stuck`` still ``sending`` on the same attempt, now held by this
    transaction (a retry since the read has a new provider message id: not ours)."""
    if not stuck:
        return set()
    expected = {s.id: (s.provider, s.provider_message_id) for s in stuck}
    stmt = (
        select(Message.id, Message.provider, Message.provider_message_id)
        .where(Message.id.in_(sorted(expected)), Message.status == SENDING)
        .order_by(Message.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return {mid for mid, provider, pid in session.execute(stmt) if expected[mid] == (provider, pid)}


def mark_asked(session: Session, ids: Sequence[str], now: datetime) -> None:
    """Record that the carrier was asked about these ``sending`` messages at ``now``."""
    if ids:
        session.execute(
            update(Message)
            .where(Message.id.in_(sorted(ids)), Message.status == SENDING)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
