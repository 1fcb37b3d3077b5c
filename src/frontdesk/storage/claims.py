"""The hot SQL of delivery in one reviewable place: claim due messages.

The claim runs inside the same transaction as the re-check and the hand-off, so a
crash before commit leaves every claimed row ``queued`` for the next worker, and
duplicates to the carrier are bounded by the claim size (design.md, guarantee 2).
On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets many workers claim disjoint rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from frontdesk.storage.models import Message

DUE_STATUSES = ("queued", "scheduled")


def claim_due(session: Session, now: datetime, limit: int) -> Sequence[Message]:
    due = (
        select(Message.id)
        .where(Message.status.in_(DUE_STATUSES), Message.send_at <= now)
        .order_by(Message.send_at, Message.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.execute(due).scalars())
    if not ids:
        return []
    session.execute(
        update(Message)
        .where(Message.id.in_(ids))
        .values(status="sending", attempts=Message.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    rows = (
        session.execute(
            select(Message)
            .where(Message.id.in_(ids))
            .order_by(Message.send_at, Message.id)
            .execution_options(populate_existing=True)
        )
        .scalars()
        .all()
    )
    return rows


def next_due_at(session: Session) -> datetime | None:
    return session.execute(
        select(Message.send_at)
        .where(Message.status.in_(DUE_STATUSES))
        .order_by(Message.send_at)
        .limit(1)
    ).scalar_one_or_none()
