"""The suppression list: the tenant's do-not-text list (R-D-02, R-B-02)."""

from __future__ import annotations

from datetime import datetime

from frontdesk import errors
from frontdesk.ids import new_id
from frontdesk.services.contacts import ensure_contact
from frontdesk.storage.models import Message, Suppression
from frontdesk.storage.uow import TenantScope


def add(
    scope: TenantScope,
    e164: str,
    *,
    reason: str,
    scope_name: str,
    source: str,
    note: str | None,
    now: datetime,
    actor: str,
) -> Suppression:
    """Add an entry. Entries are merged, never overwritten (R-B-02).

    The contact row is locked first, in the same order as a hand-off takes it, so a
    suppression and a worker re-checking a message to this number never deadlock;
    then the number's claims not yet released to the carrier are fenced, so none is
    sent after this commits (R-FCC-02; storage/claims.py).
    """
    ensure_contact(scope, e164, now)
    scope.lock_contact(e164)
    scope.fence_claims(e164, marketing_only=scope_name == "marketing")
    for existing in scope.active_suppressions(e164):
        if existing.reason == reason and existing.scope in (scope_name, "all"):
            return existing
    ensure_contact(scope, e164, now)
    scope.session.info.setdefault("touched_contacts", set()).add((scope.tenant_id, e164))
    row = Suppression(
        id=new_id("sup"),
        tenant_id=scope.tenant_id,
        phone=e164,
        reason=reason,
        scope=scope_name,
        source=source,
        note=note,
        created_at=now,
    )
    scope.add(row)
    contact = scope.contact(e164)
    if contact is not None:
        contact.version += 1
        contact.updated_at = now
    scope.audit(
        now,
        actor,
        "suppression.added",
        e164[-4:],
        {"suppression": row.id, "reason": reason, "scope": scope_name, "source": source},
    )
    return row


def lift_manual(scope: TenantScope, e164: str, now: datetime, actor: str) -> int:
    """Only a manual entry may be deleted; a recipient's opt-out is lifted only by their opt-in."""
    active = scope.active_suppressions(e164)
    if not active:
        raise errors.not_found("suppression for that number")
    manual = [s for s in active if s.reason == "manual"]
    if not manual:
        raise errors.AppError(
            409,
            "Opt-out cannot be deleted",
            "This number opted out itself; only the recipient can lift it by texting START "
            "(or new consent captured after the opt-out).",
        )
    for sup in manual:
        sup.lifted_at = now
        sup.lifted_by = actor
        scope.audit(now, actor, "suppression.lifted", e164[-4:], {"suppression": sup.id})
    return len(manual)


def cancel_pending(
    scope: TenantScope, e164: str, *, marketing_only: bool, code: str, now: datetime
) -> list[Message]:
    """Cancel scheduled (future) messages to a number that has just opted out.

    Messages already ``queued`` are left to the hand-off re-check, which blocks them
    with the same reason (R-FCC-02, T-11).
    """
    canceled = []
    for msg in scope.pending_messages_to(e164):
        if msg.status != "scheduled" or msg.category in {
            "opt_out_confirmation",
            "opt_in_confirmation",
            "help_reply",
        }:
            continue
        if marketing_only and msg.category != "marketing":
            continue
        msg.status = "canceled"
        msg.reasons = [
            *msg.reasons,
            {
                "code": code,
                "rule": "R-FCC-02",
                "message": "Canceled: the recipient opted out.",
                "fix": "Nothing to do.",
                "severity": "block",
            },
        ]
        msg.updated_at = now
        canceled.append(msg)
    return canceled
