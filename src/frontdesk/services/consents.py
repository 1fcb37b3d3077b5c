"""The consent ledger: append grants and revocations.

An opt-out is lifted only by the recipient's own act (R-FCC-07).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from frontdesk import errors
from frontdesk.domain.consent import (
    RECIPIENT_ACT_METHODS,
    WRITTEN_METHODS,
    ConsentEvent,
    ConsentState,
    EventKind,
    Method,
    Scope,
    fold,
    validate_grant,
)
from frontdesk.domain.messages import Category
from frontdesk.ids import new_id
from frontdesk.services.contacts import ensure_contact
from frontdesk.storage.models import ConsentEventRow, Suppression
from frontdesk.storage.uow import TenantScope

RECIPIENT_SUPPRESSIONS = ("opt_out", "carrier_opt_out", "review_expired")
# R-E-03 / R-D-03: a carrier's "unknown number" or "landline" report is lifted by fresh
# consent from the person captured after the report (the number was re-verified).
LINE_SUPPRESSIONS = ("carrier_invalid", "carrier_landline")


_KINDS = {k.value: k for k in EventKind}
_SCOPES = {s.value: s for s in Scope}
_METHODS = {m.value: m for m in Method}


def to_domain(rows: Iterable[ConsentEventRow]) -> list[ConsentEvent]:
    return [
        ConsentEvent(
            kind=_KINDS.get(r.kind) or EventKind(r.kind),
            scope=(_SCOPES.get(r.scope) or Scope(r.scope)) if r.scope else None,
            method=(_METHODS.get(r.method) or Method(r.method)) if r.method else None,
            at=r.captured_at,
            written=r.written,
            limited_to=frozenset(Category(c) for c in r.limited_to) if r.limited_to else None,
            recipient_act=r.recipient_act,
            event_id=r.id,
        )
        for r in rows
    ]


def folded(rows: Iterable[Any]) -> ConsentState:
    """:func:`fold` of one number's ledger rows (the batch reads' columns), remembered by
    the rows' values: the ledger is append-only and the fold a pure function of them, so
    a number met again (its next batch, its hand-off) is not converted and folded again
    (issue 4: about 8 µs a number a batch)."""
    return _folded(
        tuple(
            (
                r.id,
                r.kind,
                r.scope,
                r.method,
                r.written,
                r.recipient_act,
                tuple(r.limited_to) if r.limited_to else None,
                r.captured_at,
            )
            for r in rows
        )
    )


@lru_cache(maxsize=1 << 15)
def _folded(rows: tuple[tuple[Any, ...], ...]) -> ConsentState:
    return fold(
        ConsentEvent(
            kind=_KINDS.get(kind) or EventKind(kind),
            scope=(_SCOPES.get(scope) or Scope(scope)) if scope else None,
            method=(_METHODS.get(method) or Method(method)) if method else None,
            at=at,
            written=written,
            limited_to=frozenset(Category(c) for c in limited) if limited else None,
            recipient_act=recipient_act,
            event_id=event_id,
        )
        for event_id, kind, scope, method, written, recipient_act, limited, at in rows
    )


def current_state(scope: TenantScope, e164: str) -> ConsentState:
    return fold(to_domain(scope.consent_events(e164)))


def record_grant(
    scope: TenantScope,
    e164: str,
    *,
    consent_scope: Scope,
    method: Method,
    captured_at: datetime,
    evidence: Mapping[str, object],
    now: datetime,
    source: str,
    actor: str,
    limited_to: frozenset[Category] | None = None,
) -> ConsentEventRow:
    """Append a grant after checking its evidence (R-C-02, R-C-03, R-C-05).

    R-FCC-07: a grant lifts an earlier opt-out only when it proves an affirmative act
    by the recipient and was captured after the opt-out; otherwise the opt-out stays.
    """
    problems = validate_grant(consent_scope, method, evidence, captured_at, now)
    if problems:
        raise errors.AppError(
            422,
            "Consent refused",
            "The consent does not meet the evidence rules; nothing was recorded.",
            [errors.FieldError(p.field, p.code, p.message) for p in problems],
        )
    ensure_contact(scope, e164, now)
    scope.lock_contact(e164)  # same lock order as a hand-off (see suppressions.add)
    written = consent_scope is Scope.MARKETING and method in WRITTEN_METHODS
    recipient_act = method in RECIPIENT_ACT_METHODS
    row = ConsentEventRow(
        id=new_id("cev"),
        tenant_id=scope.tenant_id,
        phone=e164,
        kind=EventKind.GRANTED.value,
        scope=consent_scope.value,
        method=method.value,
        written=written,
        recipient_act=recipient_act,
        limited_to=sorted(c.value for c in limited_to) if limited_to else None,
        evidence=dict(evidence),
        source=source,
        captured_at=captured_at,
        recorded_at=now,
    )
    scope.add(row)
    scope.audit(
        now,
        actor,
        "consent.granted",
        e164[-4:],
        {"event": row.id, "scope": consent_scope.value, "method": method.value, "written": written},
    )
    if recipient_act:
        lift_recipient_opt_outs(scope, e164, captured_at, now, actor, by=row.id)
    return row


def lift_recipient_opt_outs(
    scope: TenantScope, e164: str, captured_at: datetime, now: datetime, actor: str, by: str
) -> list[Suppression]:
    lifted = []
    for sup in scope.active_suppressions(e164):
        if (
            sup.reason in RECIPIENT_SUPPRESSIONS or sup.reason in LINE_SUPPRESSIONS
        ) and sup.created_at <= captured_at:
            sup.lifted_at = now
            sup.lifted_by = by
            lifted.append(sup)
            scope.audit(
                now, actor, "suppression.lifted", e164[-4:], {"suppression": sup.id, "by": by}
            )
    return lifted


def record_revocation(
    scope: TenantScope,
    e164: str,
    *,
    revoked_scope: Scope | None,
    method: Method,
    at: datetime,
    now: datetime,
    source: str,
    actor: str,
    evidence: Mapping[str, object],
) -> ConsentEventRow:
    """Append a revocation (R-FCC-02: honoured by any reasonable means, at once).

    The contact is locked in the hand-off's order and the number's claims not yet
    released to the carrier are fenced, so no message goes out after this commits."""
    ensure_contact(scope, e164, now)
    scope.lock_contact(e164)
    scope.fence_claims(e164, marketing_only=revoked_scope is Scope.MARKETING)
    row = ConsentEventRow(
        id=new_id("cev"),
        tenant_id=scope.tenant_id,
        phone=e164,
        kind=EventKind.REVOKED.value,
        scope=revoked_scope.value if revoked_scope else None,
        method=method.value,
        written=False,
        recipient_act=True,
        limited_to=None,
        evidence=dict(evidence),
        source=source,
        captured_at=at,
        recorded_at=now,
    )
    scope.add(row)
    scope.audit(
        now,
        actor,
        "consent.revoked",
        e164[-4:],
        {"event": row.id, "scope": row.scope or "all", "method": method.value},
    )
    return row
