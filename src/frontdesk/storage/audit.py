"""The tamper-evident audit log: an append-only hash chain per tenant (design.md, guarantee 3)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.orm import Session

from frontdesk.storage import appends, txmemo
from frontdesk.storage.models import AuditEntry

GENESIS = "0" * 64
AUDIT_TABLE = cast(Table, AuditEntry.__table__)
_HEAD = (
    select(AuditEntry.seq, AuditEntry.hash)
    .where(AuditEntry.tenant_id == bindparam("tenant"))
    .order_by(AuditEntry.seq.desc())
    .limit(1)
)
# Built once: json.dumps with options builds a new encoder per call (issue 4).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_PLAIN_JSON = json.JSONEncoder(default=str)


def _canonical(
    seq: int, at: datetime, actor: str, action: str, subject: str | None, data: dict[str, Any]
) -> bytes:
    payload = {
        "seq": seq,
        "at": at.isoformat(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "data": data,
    }
    return _CANONICAL_JSON.encode(payload).encode()


def entry_hash(
    prev: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    data: dict[str, Any],
) -> str:
    return hashlib.sha256(
        prev.encode() + _canonical(seq, at, actor, action, subject, data)
    ).hexdigest()


def _head(session: Session, tenant_id: str) -> tuple[int, str]:
    """The chain head (seq, hash) for this transaction, read once per tenant.

    Later appends in the same transaction continue from the memo (see
    :mod:`frontdesk.storage.txmemo` for why it cannot go stale): on SQLite the
    transaction holds the write lock from ``BEGIN IMMEDIATE``; on PostgreSQL the
    per-tenant ``pg_advisory_xact_lock`` taken before the first read is held until
    the transaction ends, so no other writer can extend this tenant's chain.
    """
    heads = txmemo.memo(session, "audit_heads")
    found: tuple[int, str] | None = heads.get(tenant_id)
    if found is not None:
        return found
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": tenant_id})
    last = session.execute(_HEAD, {"tenant": tenant_id}).first()
    return (last[0], last[1]) if last else (0, GENESIS)


def append(
    session: Session,
    tenant_id: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    data: dict[str, Any],
) -> None:
    """Append one entry to the tenant's chain (design.md, guarantee 3).

    The entry is queued (:mod:`frontdesk.storage.appends`), not built as an ORM
    object: it reaches the database before the transaction's next statement or
    its commit, in seq order.
    """
    head_seq, prev = _head(session, tenant_id)
    seq = head_seq + 1
    data = json.loads(_PLAIN_JSON.encode(data))
    digest = entry_hash(prev, seq, at, actor, action, subject, data)
    appends.add(
        session,
        AUDIT_TABLE,
        {
            "tenant_id": tenant_id,
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "data": data,
            "prev_hash": prev,
            "hash": digest,
        },
    )
    txmemo.memo(session, "audit_heads")[tenant_id] = (seq, digest)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_bad: int | None


def verify(session: Session, tenant_id: str) -> Verification:
    prev = GENESIS
    checked = 0
    expected_seq = 1
    rows = session.execute(
        select(AuditEntry).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.seq)
    ).scalars()
    for row in rows:
        good = (
            row.seq == expected_seq
            and row.prev_hash == prev
            and row.hash
            == entry_hash(prev, row.seq, row.at, row.actor, row.action, row.subject, row.data)
        )
        if not good:
            return Verification(False, checked, row.seq)
        prev = row.hash
        checked += 1
        expected_seq += 1
    return Verification(True, checked, None)
