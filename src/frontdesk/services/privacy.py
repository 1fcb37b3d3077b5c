"""Export everything held about a number, and erase its personal data (mission §6, R-D-04, R-D-05).

Export (R-B-01, R-D-04): the contact, the consent ledger with its capture
evidence, the suppression history, every message with its carrier events, every
inbound text, reviews, appointments, calls, the conversation, and the audit
entries about the number — plus, for each message sent, the proof chain
message → the consent event that covered it when it left → that event's
capture evidence.

Erasure keeps what the law makes evidence. The consent ledger (append-only by a
database trigger) and every opt-out and suppression record stay: R-D-04 keeps
proof of consent for the life of the consent + 5 years and opt-out records
permanently, and R-D-02 honours a do-not-text request for years, so a number
that opted out stays suppressed after its name and texts are gone (mission §6:
"erasure that still honours an opt-out"). What goes is the personal data that
proves nothing: the contact's name, postal code, time zone and state, message and
inbound bodies (replaced by ``[erased]``), media URLs, the conversation's notes
and a proposed appointment time. Messages still waiting to be sent are canceled,
since their text is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from frontdesk import errors
from frontdesk.clock import rfc3339
from frontdesk.domain.consent import Scope, fold, scope_for
from frontdesk.domain.messages import Category
from frontdesk.services import consents
from frontdesk.storage import privacy as store
from frontdesk.storage.models import (
    AuditEntry,
    ConsentEventRow,
    InboundMessage,
    Message,
    MessageEvent,
    Suppression,
)
from frontdesk.storage.uow import TenantScope

ERASED = "[erased]"
PENDING = ("scheduled", "queued")
OFFERED = ("sending", "sent", "delivered", "undelivered", "failed")

RETAINED = (
    "The consent ledger and its evidence, and every opt-out and suppression record, are "
    "kept: they are the proof of consent and of the opt-out (R-D-04: consent evidence for "
    "the life of the consent + 5 years, opt-out records permanently; R-D-02: a do-not-text "
    "request is honoured for years). Message metadata (times, statuses, carrier codes) and "
    "the audit log, which names a number by its last four digits, are kept as the message "
    "log (R-D-04)."
)


def _consent_event(e: ConsentEventRow) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "scope": e.scope or "all",
        "method": e.method,
        "written": e.written,
        "recipient_act": e.recipient_act,
        "limited_to": e.limited_to,
        "evidence": e.evidence,
        "source": e.source,
        "captured_at": rfc3339(e.captured_at),
        "recorded_at": rfc3339(e.recorded_at),
    }


def _suppression(s: Suppression) -> dict[str, Any]:
    return {
        "id": s.id,
        "reason": s.reason,
        "scope": s.scope,
        "source": s.source,
        "note": s.note,
        "created_at": rfc3339(s.created_at),
        "lifted_at": rfc3339(s.lifted_at),
        "lifted_by": s.lifted_by,
    }


def _event(e: MessageEvent) -> dict[str, Any]:
    return {
        "status": e.status,
        "provider": e.provider,
        "provider_message_id": e.provider_message_id,
        "error_code": e.error_code,
        "detail": e.detail,
        "at": rfc3339(e.at),
    }


def _message(m: Message, events: Iterable[MessageEvent]) -> dict[str, Any]:
    return {
        "id": m.id,
        "to": m.to_phone,
        "from": m.from_phone,
        "body": m.body,
        "media_urls": m.media_urls or [],
        "category": m.category,
        "status": m.status,
        "reasons": [r.get("code") for r in m.reasons or [] if isinstance(r, dict)],
        "segments": m.segments,
        "send_at": rfc3339(m.send_at),
        "handed_off_at": rfc3339(m.handed_off_at),
        "error_code": m.error_code,
        "created_at": rfc3339(m.created_at),
        "events": [_event(e) for e in events],
    }


def _inbound(i: InboundMessage) -> dict[str, Any]:
    return {
        "id": i.id,
        "to": i.to_phone,
        "body": i.body,
        "media_urls": i.media_urls or [],
        "classification": i.classification,
        "intent": i.intent,
        "actions": i.actions,
        "received_at": rfc3339(i.received_at),
    }


def _audit(a: AuditEntry) -> dict[str, Any]:
    return {
        "seq": a.seq,
        "at": rfc3339(a.at),
        "actor": a.actor,
        "action": a.action,
        "subject": a.subject,
        "data": a.data,
        "hash": a.hash,
    }


def consent_proof(
    ledger: Sequence[ConsentEventRow], messages: Iterable[Message]
) -> list[dict[str, Any]]:
    """For each message that left: the consent event in force then, with its evidence (R-D-04).

    The ledger is folded as the platform knew it at the moment of the hand-off:
    only events captured *and* recorded by then count, so a back-dated import
    cannot pretend to have covered an earlier message.
    """
    by_id = {e.id: e for e in ledger}
    out = []
    for m in messages:
        if m.status not in OFFERED:
            continue
        at = m.handed_off_at or m.updated_at
        try:
            category = Category(m.category)
        except ValueError:
            continue
        needed = scope_for(category)
        entry: dict[str, Any] = {
            "message_id": m.id,
            "category": m.category,
            "sent_at": rfc3339(at),
            "scope_needed": needed.value if needed else None,
        }
        if needed is None:
            entry.update(
                covered=True,
                consent_event_id=None,
                note="a compliance reply needs no consent (R-FCC-03)",
            )
            out.append(entry)
            continue
        known = [e for e in ledger if e.captured_at <= at and e.recorded_at <= at]
        state = fold(consents.to_domain(known))
        event_id: str | None = None
        if needed is Scope.MARKETING:
            if state.marketing.granted and state.marketing.written:
                event_id = state.marketing.event_id
        else:
            info = state.informational
            if info.granted and (info.limited_to is None or category in info.limited_to):
                event_id = info.event_id
            elif state.marketing.granted:
                event_id = state.marketing.event_id
        row = by_id.get(event_id) if event_id else None
        entry.update(
            covered=row is not None,
            consent_event_id=event_id,
            consent=_consent_event(row) if row is not None else None,
        )
        out.append(entry)
    return out


def _refs(data: Any) -> set[str]:
    if isinstance(data, dict):
        return {v for v in data.values() if isinstance(v, str)}
    return set()


def export(scope: TenantScope, e164: str, now: datetime) -> dict[str, Any]:
    """Everything this tenant holds about ``e164`` (mission §6, §7: the consent proof export)."""
    session, tid = scope.session, scope.tenant_id
    contact = scope.contact(e164)
    ledger = list(scope.consent_events(e164))
    sups = list(store.all_suppressions(session, tid, e164))
    msgs = list(store.messages_to(session, tid, e164))
    inbound = list(store.inbound_from(session, tid, e164))
    if contact is None and not (ledger or sups or msgs or inbound):
        raise errors.not_found("contact")
    events: dict[str, list[MessageEvent]] = {}
    for ev in store.events_of(session, tid, [m.id for m in msgs]):
        events.setdefault(ev.message_id, []).append(ev)
    reviews = list(store.reviews_of(session, tid, e164))
    appointments = list(store.appointments_of(session, tid, e164))
    calls = list(store.calls_from(session, tid, e164))
    conversation = store.conversation_of(session, tid, e164)

    own_ids = (
        {m.id for m in msgs}
        | {i.id for i in inbound}
        | {r.id for r in reviews}
        | {a.id for a in appointments}
        | {c.id for c in calls}
        | {e.id for e in ledger}
        | {s.id for s in sups}
    )
    if contact is not None:
        own_ids.add(contact.id)
    last4 = e164[-4:]
    audit = [
        a
        for a in store.audit_about(session, tid, own_ids | {e164, last4})
        if a.subject != last4 or _refs(a.data) & own_ids
    ]
    state = consents.current_state(scope, e164)
    return {
        "phone": e164,
        "exported_at": now.isoformat(),
        "contact": None
        if contact is None
        else {
            "id": contact.id,
            "name": contact.name,
            "timezone": contact.timezone,
            "postal_code": contact.postal_code,
            "state": contact.state,
            "last_inbound_at": rfc3339(contact.last_inbound_at),
            "created_at": rfc3339(contact.created_at),
            "updated_at": rfc3339(contact.updated_at),
        },
        "consent": {
            "events": [_consent_event(e) for e in ledger],
            "current": {
                "informational": state.informational.granted,
                "marketing": state.marketing.granted and state.marketing.written,
                "revoked_at": rfc3339(state.revoked_at),
            },
        },
        "consent_proof": consent_proof(ledger, msgs),
        "opted_out": any(s.lifted_at is None and s.scope == "all" for s in sups),
        "suppressions": [_suppression(s) for s in sups],
        "messages": [_message(m, events.get(m.id, [])) for m in msgs],
        "inbound": [_inbound(i) for i in inbound],
        "reviews": [
            {
                "id": r.id,
                "inbound_id": r.inbound_id,
                "status": r.status,
                "deadline": rfc3339(r.deadline),
                "decided_at": rfc3339(r.decided_at),
                "decided_by": r.decided_by,
            }
            for r in reviews
        ],
        "appointments": [
            {
                "id": a.id,
                "starts_at": rfc3339(a.starts_at),
                "service": a.service,
                "status": a.status,
                "proposed_time": a.proposed_time,
            }
            for a in appointments
        ],
        "calls": [
            {"id": c.id, "at": rfc3339(c.at), "status": c.status, "outcome": c.outcome}
            for c in calls
        ],
        "conversation": None
        if conversation is None
        else {
            "owner": conversation.owner,
            "state": conversation.state,
            "language": conversation.language,
            "data": conversation.data,
            "last_inbound_at": rfc3339(conversation.last_inbound_at),
            "last_outbound_at": rfc3339(conversation.last_outbound_at),
        },
        "audit": [_audit(a) for a in audit],
    }


def erase(scope: TenantScope, e164: str, now: datetime, actor: str) -> dict[str, Any]:
    """Erase the personal data held about ``e164``; keep the evidence (see the module docstring)."""
    session, tid = scope.session, scope.tenant_id
    contact = scope.lock_contact(e164)
    msgs = list(store.messages_to(session, tid, e164))
    inbound = list(store.inbound_from(session, tid, e164))
    ledger = list(scope.consent_events(e164))
    sups = list(store.all_suppressions(session, tid, e164))
    if contact is None and not (msgs or inbound or ledger or sups):
        raise errors.not_found("contact")

    canceled = 0
    for m in msgs:
        if m.status in PENDING:
            m.status = "canceled"
            m.reasons = [
                *(m.reasons or []),
                {
                    "code": "erased",
                    "rule": "R-D-04",
                    "message": "Canceled: the recipient's personal data were erased.",
                    "fix": "Nothing to do.",
                    "severity": "block",
                },
            ]
            canceled += 1
        if m.body != ERASED or m.media_urls:
            m.body = ERASED
            m.media_urls = []
            m.updated_at = now
    for i in inbound:
        i.body = ERASED
        i.media_urls = []
    if contact is not None:
        contact.name = None
        contact.postal_code = None
        contact.timezone = None
        contact.state = None
        contact.version += 1
        contact.updated_at = now
    conversation = store.conversation_of(session, tid, e164)
    if conversation is not None:
        conversation.data = {}
        conversation.updated_at = now
    for appointment in store.appointments_of(session, tid, e164):
        appointment.proposed_time = None

    active = [s for s in sups if s.lifted_at is None]
    suppressed = any(s.scope == "all" for s in active)
    opted_out = any(s.reason in consents.RECIPIENT_SUPPRESSIONS for s in active)
    counts = {"messages": len(msgs), "inbound": len(inbound), "canceled": canceled}
    scope.audit(
        now,
        actor,
        "contact.erased",
        e164[-4:],
        {
            "contact": contact.id if contact is not None else None,
            **counts,
            "suppressed": suppressed,
            "consent_events_kept": len(ledger),
            "suppressions_kept": len(sups),
        },
    )
    return {
        "phone": e164,
        "erased": {
            "contact_fields": ["name", "postal_code", "timezone", "state"]
            if contact is not None
            else [],
            "message_bodies": len(msgs),
            "inbound_bodies": len(inbound),
            "media_urls": "removed",
        },
        "canceled_pending": canceled,
        "suppressed": suppressed,
        "opted_out": opted_out,
        "active_suppressions": [_suppression(s) for s in active],
        "kept": {"consent_events": len(ledger), "suppressions": len(sups)},
        "retained": RETAINED,
    }
