"""Rolling health figures per tenant, carrier complaints, and automatic suspension (R-E-04, R-R-06).

``report`` answers ``GET /v1/compliance/health``; ``enforce`` is the periodic job
(the worker's housekeeping) that assesses every active tenant and pulls the kill
switch (``services.tenants.suspend(..., automatic=True)``) when the verdict is
``suspend``. Each automatic suspension is audited with the figures and findings
that caused it, so the operator reviewing a reinstatement sees the evidence.

Enforcement counts from the later of the window's start and the tenant's last
reinstatement: the operator's reinstatement is a decision on the figures seen so
far, and the same window must not suspend the tenant again the next minute
(R-R-06's reinstatement workflow). The health report always shows the full window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from frontdesk import errors
from frontdesk.domain.health import (
    DEFAULT_THRESHOLDS,
    HealthAssessment,
    HealthFigures,
    Thresholds,
    assess,
)
from frontdesk.services import tenants
from frontdesk.storage import health as health_store
from frontdesk.storage.health import RawFigures
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.health")

DEFAULT_WINDOW = timedelta(hours=24)
Severity = Literal["sev0", "complaint"]


@dataclass(frozen=True)
class TenantHealth:
    tenant_id: str
    since: datetime
    until: datetime
    raw: RawFigures
    figures: HealthFigures
    assessment: HealthAssessment


def _figures(raw: RawFigures) -> HealthFigures:
    return HealthFigures(
        sent=raw.sent,
        delivered=raw.delivered,
        recipients=raw.recipients,
        opt_outs=raw.opt_outs,
        errors=raw.errors,
        filtered=raw.filtered,
        complaints=raw.complaints,
        sev0_complaints=raw.sev0_complaints,
    )


def measure(
    uow: UnitOfWork,
    tenant_id: str,
    since: datetime,
    until: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> TenantHealth:
    raw = health_store.count(uow.session, tenant_id, since, until)
    figures = _figures(raw)
    return TenantHealth(tenant_id, since, until, raw, figures, assess(figures, thresholds))


def figures_dict(h: TenantHealth) -> dict[str, Any]:
    raw, f = h.raw, h.figures
    return {
        "sent": f.sent,
        "delivered": f.delivered,
        "unique_recipients": f.recipients,
        "opt_outs": f.opt_outs,
        "opt_outs_inbound": raw.opt_outs_inbound,
        "opt_outs_carrier": raw.opt_outs_carrier,
        "opt_out_rate": round(f.opt_out_rate, 6),
        "errors": f.errors,
        "error_rate": round(f.error_rate, 6),
        "filtered": f.filtered,
        "filtered_rate": round(f.filtered_rate, 6),
        "complaints": f.complaints,
        "sev0_complaints": f.sev0_complaints,
    }


def report(
    uow: UnitOfWork,
    tenant_id: str,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> dict[str, Any]:
    """The body of ``GET /v1/compliance/health``: figures, verdict and suspension state."""
    h = measure(uow, tenant_id, now - window, now, thresholds)
    tenant = uow.tenant_row(tenant_id)
    assert tenant is not None
    return {
        "window": {
            "hours": window.total_seconds() / 3600,
            "since": h.since.isoformat(),
            "until": h.until.isoformat(),
        },
        **figures_dict(h),
        "blocked_by_reason": h.raw.blocked,
        "by_sender": {
            number: {
                "sent": c.sent,
                "unique_recipients": c.recipients,
                "errors": c.errors,
                "filtered": c.filtered,
            }
            for number, c in sorted(h.raw.by_sender.items())
        },
        "level": h.assessment.level,
        "findings": [f.as_dict() for f in h.assessment.findings],
        "sample_sufficient": h.assessment.sample_sufficient,
        "thresholds": thresholds.as_dict(),
        "status": tenant.status,
        "suspension": None
        if tenant.status != "suspended"
        else {
            "reason": tenant.suspension_reason,
            "since": tenant.suspended_at.isoformat() if tenant.suspended_at else None,
            "automatic": tenant.suspension_automatic,
        },
    }


def enforcement_since(
    uow: UnitOfWork, tenant_id: str, now: datetime, window: timedelta
) -> datetime:
    start = now - window
    reinstated = health_store.last_action_at(uow.session, tenant_id, "tenant.reinstated")
    return max(start, reinstated) if reinstated is not None else start


def enforce_tenant(
    uow: UnitOfWork,
    tenant_id: str,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> TenantHealth | None:
    """Assess one tenant; suspend it when the verdict is ``suspend``. Returns the health if so."""
    tenant = uow.tenant_row(tenant_id)
    if tenant is None or tenant.status != "active":
        return None
    h = measure(uow, tenant_id, enforcement_since(uow, tenant_id, now, window), now, thresholds)
    if not h.assessment.suspend:
        return None
    uow.tenant(tenant_id).audit(
        now,
        "system",
        "compliance.auto_suspension",
        tenant_id,
        {
            "automatic": True,
            "since": h.since.isoformat(),
            "figures": figures_dict(h),
            "findings": [f.as_dict() for f in h.assessment.findings],
        },
    )
    tenants.suspend(uow, tenant_id, h.assessment.reason(), now, automatic=True, actor="system")
    log.warning("tenant %s suspended automatically: %s", tenant_id, h.assessment.level)
    return h


def enforce(
    uow: UnitOfWork,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[str]:
    """The housekeeping job: every active tenant assessed; the ids of those suspended."""
    suspended = []
    for tenant_id in health_store.active_tenant_ids(uow.session):
        if enforce_tenant(uow, tenant_id, now, window, thresholds) is not None:
            suspended.append(tenant_id)
    return suspended


def record_complaint(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    severity: Severity,
    source: str,
    note: str | None,
    sender: str | None,
    now: datetime,
    actor: str,
) -> TenantHealth | None:
    """A carrier complaint or Sev-0 notice, then immediate enforcement (R-R-06).

    A Sev-0 suspends at once whatever the traffic sample; an ordinary complaint
    is counted in the figures (R-E-04: complaints lead to a demand for proof of
    opt-in) and suspends only when the figures do.
    """
    if uow.tenant_row(tenant_id) is None:
        raise errors.not_found("tenant")
    uow.tenant(tenant_id).audit(
        now,
        actor,
        health_store.COMPLAINT_ACTION,
        tenant_id,
        {"severity": severity, "source": source, "note": note, "sender": sender},
    )
    uow.session.flush()
    return enforce_tenant(uow, tenant_id, now)
