"""The tamper-evident audit log: an append-only hash chain per tenant (design.md, guarantee 3)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from frontdesk.storage.models import AuditEntry

GENESIS = "0" * 64


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
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


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


def append(
    session: Session,
    tenant_id: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    data: dict[str, Any],
) -> AuditEntry:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": tenant_id})
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash)
        .where(AuditEntry.tenant_id == tenant_id)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    seq = (last[0] + 1) if last else 1
    prev = last[1] if last else GENESIS
    data = json.loads(json.dumps(data, default=str))
    entry = AuditEntry(
        tenant_id=tenant_id,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        data=data,
        prev_hash=prev,
        hash=entry_hash(prev, seq, at, actor, action, subject, data),
    )
    session.add(entry)
    session.flush()
    return entry


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
