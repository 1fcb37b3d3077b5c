"""The counting SQL behind the rolling health figures (R-E-04) and the complaint log.

Every query filters on ``tenant_id`` itself; the service layer assembles the
figures and leaves the verdict to ``domain.health``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from frontdesk.storage.models import AuditEntry, ConsentEventRow, Message, Tenant

OFFERED = ("sending", "sent", "delivered", "undelivered", "failed")
ERRORS = ("undelivered", "failed")
FILTERED_CODE = "30007"
COMPLAINT_ACTION = "compliance.complaint"


@dataclass
class SenderCounts:
    sent: int = 0
    recipients: int = 0
    errors: int = 0
    filtered: int = 0


@dataclass
class RawFigures:
    sent: int = 0
    delivered: int = 0
    recipients: int = 0
    errors: int = 0
    filtered: int = 0
    opt_outs: int = 0
    opt_outs_inbound: int = 0
    opt_outs_carrier: int = 0
    complaints: int = 0
    sev0_complaints: int = 0
    blocked: dict[str, int] = field(default_factory=dict)
    by_sender: dict[str, SenderCounts] = field(default_factory=dict)


def _activity() -> Any:
    """When a message last met the carrier: its hand-off, or the refusal at hand-off."""
    return func.coalesce(Message.handed_off_at, Message.updated_at)


def count(session: Session, tenant_id: str, since: datetime, until: datetime) -> RawFigures:
    out = RawFigures()
    at = _activity()
    window = (
        Message.tenant_id == tenant_id,
        Message.provider.is_not(None),
        Message.status.in_(OFFERED),
        at >= since,
        at <= until,
    )
    is_error = case((Message.status.in_(ERRORS), 1), else_=0)
    is_filtered = case((Message.error_code == FILTERED_CODE, 1), else_=0)
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Message.status == "delivered", 1), else_=0)), 0),
            func.count(distinct(Message.to_phone)),
            func.coalesce(func.sum(is_error), 0),
            func.coalesce(func.sum(is_filtered), 0),
        ).where(*window)
    ).one()
    out.sent, out.delivered, out.recipients, out.errors, out.filtered = (int(v) for v in row)
    for sender, sent, recipients, errors, filtered in session.execute(
        select(
            Message.from_phone,
            func.count(),
            func.count(distinct(Message.to_phone)),
            func.coalesce(func.sum(is_error), 0),
            func.coalesce(func.sum(is_filtered), 0),
        )
        .where(*window)
        .group_by(Message.from_phone)
    ):
        out.by_sender[sender or "default"] = SenderCounts(
            int(sent), int(recipients), int(errors), int(filtered)
        )

    revoked = session.execute(
        select(ConsentEventRow.phone, ConsentEventRow.source).where(
            ConsentEventRow.tenant_id == tenant_id,
            ConsentEventRow.kind == "revoked",
            ConsentEventRow.recorded_at >= since,
            ConsentEventRow.recorded_at <= until,
        )
    ).all()
    carrier = {p for p, s in revoked if s.startswith("carrier")}
    texted = {p for p, s in revoked if not s.startswith("carrier")}
    out.opt_outs_carrier = len(carrier)
    out.opt_outs_inbound = len(texted)
    out.opt_outs = len(carrier | texted)

    for data in session.execute(
        select(AuditEntry.data).where(
            AuditEntry.tenant_id == tenant_id,
            AuditEntry.action == COMPLAINT_ACTION,
            AuditEntry.at >= since,
            AuditEntry.at <= until,
        )
    ).scalars():
        out.complaints += 1
        if (data or {}).get("severity") == "sev0":
            out.sev0_complaints += 1

    blocked: Counter[str] = Counter()
    for reasons in session.execute(
        select(Message.reasons).where(
            Message.tenant_id == tenant_id,
            Message.status == "blocked",
            Message.updated_at >= since,
            Message.updated_at <= until,
        )
    ).scalars():
        codes = {str(r.get("code")) for r in reasons or [] if isinstance(r, dict)}
        blocked.update(codes or {"unknown"})
    out.blocked = dict(sorted(blocked.items()))
    return out


def active_tenant_ids(session: Session) -> list[str]:
    return list(
        session.execute(
            select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.created_at)
        ).scalars()
    )


def last_action_at(session: Session, tenant_id: str, action: str) -> datetime | None:
    """When the tenant's audit log last recorded ``action`` (e.g. ``tenant.reinstated``)."""
    return session.execute(
        select(AuditEntry.at)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.action == action)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
