"""The hot SQL of throughput shaping, receipts and carrier-error bookkeeping (R-R-04, R-E-02).

Rate state lives in the database, not in a worker: the hand-off times of the
messages themselves (``messages.handed_off_at``) are the counter, read inside
the transaction that records the next hand-off. On SQLite ``BEGIN IMMEDIATE``
serialises writers, so the read is exact; on PostgreSQL :func:`lock_sender` and
:func:`lock_tenant` take row locks that serialise the workers which hand off for
the same sender or tenant until they commit, so two workers cannot both see
"one slot left".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from frontdesk.storage.claims import loaded_messages
from frontdesk.storage.models import Message, MessageEvent, SendingNumber, Tenant

CHUNK = 400
MESSAGES = cast(Table, Message.__table__)
EVENTS = cast(Table, MessageEvent.__table__)


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_sender(session: Session, tenant_id: str, number: str) -> None:
    if _pg(session):
        session.execute(
            select(SendingNumber.id)
            .where(SendingNumber.tenant_id == tenant_id, SendingNumber.number == number)
            .with_for_update(key_share=True)
        )


def lock_tenant(session: Session, tenant_id: str) -> None:
    if _pg(session):
        # FOR NO KEY UPDATE: serialises the workers without blocking API inserts that
        # reference the tenant row (a plain FOR UPDATE would, and could deadlock with
        # the audit chain's advisory lock).
        session.execute(
            select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True)
        )


def handoffs_from_number(
    session: Session, tenant_id: str, number: str, since: datetime, limit: int
) -> list[datetime]:
    """The latest ``limit`` hand-off times from one sending number after ``since``, ascending."""
    rows = session.execute(
        select(Message.handed_off_at)
        .where(
            Message.tenant_id == tenant_id,
            Message.from_phone == number,
            Message.handed_off_at > since,
        )
        .order_by(Message.handed_off_at.desc())
        .limit(limit)
    ).scalars()
    return sorted(t for t in rows if t is not None)


def handoffs_for_tenant(
    session: Session, tenant_id: str, since: datetime, limit: int
) -> list[datetime]:
    """The latest ``limit`` hand-off times of a tenant (its campaign) after ``since``, ascending."""
    rows = session.execute(
        select(Message.handed_off_at)
        .where(Message.tenant_id == tenant_id, Message.handed_off_at > since)
        .order_by(Message.handed_off_at.desc())
        .limit(limit)
    ).scalars()
    return sorted(t for t in rows if t is not None)


def count_handoffs_for_tenant(session: Session, tenant_id: str, since: datetime) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Message)
            .where(Message.tenant_id == tenant_id, Message.handed_off_at >= since)
        ).scalar_one()
    )


def filtered_recipients_since(session: Session, tenant_id: str, code: str, since: datetime) -> int:
    """Distinct recipients whose message failed with ``code`` since ``since`` (R-E-02 30007)."""
    return int(
        session.execute(
            select(func.count(func.distinct(Message.to_phone))).where(
                Message.tenant_id == tenant_id,
                Message.error_code == code,
                Message.updated_at >= since,
            )
        ).scalar_one()
    )


@dataclass(slots=True)
class ReceiptTarget:
    """The message a receipt names, as the status machine reads it (no ORM object).

    ``loaded`` is the full row once an outcome needed it (a carrier failure); from
    then on it, not these columns, is the message's state.
    """

    id: str
    tenant_id: str
    to_phone: str
    status: str
    error_code: str | None
    loaded: Message | None = None


def _by_provider(keys: Sequence[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """(provider, up to CHUNK provider message ids): ``provider = ? AND id IN (...)``
    uses the (provider, provider message id) indexes; a row-value IN does not."""
    ids: dict[str, set[str]] = {}
    for provider, pid in keys:
        ids.setdefault(provider, set()).add(pid)
    for provider, pids in sorted(ids.items()):
        ordered = sorted(pids)
        for start in range(0, len(ordered), CHUNK):
            yield provider, ordered[start : start + CHUNK]


def receipt_targets(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ReceiptTarget]:
    """The messages a drain of receipts names, by (provider, provider message id).

    Platform-level like ``UnitOfWork.message_by_provider_id``: a receipt names no
    tenant; the message found carries it.
    """
    out: dict[tuple[str, str], ReceiptTarget] = {}
    c = MESSAGES.c
    for provider, pids in _by_provider(keys):
        rows = session.execute(
            select(
                c.provider_message_id, c.id, c.tenant_id, c.to_phone, c.status, c.error_code
            ).where(c.provider == provider, c.provider_message_id.in_(pids))
        )
        for pid, *rest in rows:
            out[(provider, pid)] = ReceiptTarget(*rest)
    held = loaded_messages(session)
    if held:  # the session's own objects, with any change not yet flushed, are the truth
        for target in out.values():
            target.loaded = held.get(target.id)
    return out


def recorded_receipts(
    session: Session, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str, str]]:
    """(provider, provider message id, status) already recorded for these receipts."""
    out: set[tuple[str, str, str]] = set()
    c = EVENTS.c
    for provider, pids in _by_provider(keys):
        rows = session.execute(
            select(c.provider_message_id, c.status).where(
                c.provider == provider, c.provider_message_id.in_(pids)
            )
        )
        for pid, status in rows:
            out.add((provider, str(pid), str(status)))
    return out
