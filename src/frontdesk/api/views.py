"""Render storage rows as the JSON bodies of api.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from frontdesk.api.schemas import iso

__all__ = ["iso"]
from frontdesk.domain.consent import ConsentState, ScopeState
from frontdesk.domain.gate import Decision
from frontdesk.storage.models import (
    ConsentEventRow,
    Contact,
    InboundMessage,
    Message,
    Suppression,
    Tenant,
)


def tenant(t: Tenant) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "timezone": t.timezone,
        "status": t.status,
        "support_email": t.support_email,
        "support_phone": t.support_phone,
        "suspension": None
        if t.status != "suspended"
        else {
            "reason": t.suspension_reason,
            "since": iso(t.suspended_at),
            "automatic": t.suspension_automatic,
        },
        "created_at": iso(t.created_at),
    }


def message(m: Message) -> dict[str, Any]:
    return message_row({name: getattr(m, name) for name in _MESSAGE_FIELDS})


_MESSAGE_FIELDS = (
    "id",
    "to_phone",
    "from_phone",
    "body",
    "media_urls",
    "category",
    "subject",
    "status",
    "reasons",
    "warnings",
    "segments",
    "encoding",
    "send_at",
    "created_at",
    "updated_at",
    "attempts",
    "provider",
    "provider_message_id",
    "error_code",
    "idempotency_key",
)


def message_row(m: Mapping[str, Any]) -> dict[str, Any]:
    """A message as api.md renders it, from its stored columns."""
    return {
        "id": m["id"],
        "to": m["to_phone"],
        "from": m["from_phone"],
        "body": m["body"],
        "media_urls": m["media_urls"] or [],
        "category": m["category"],
        "subject": m["subject"],
        "status": m["status"],
        "reasons": [r["code"] for r in m["reasons"] or []],
        "explanations": m["reasons"] or [],
        "warnings": m["warnings"] or [],
        "segments": m["segments"],
        "encoding": m["encoding"],
        "send_at": iso(m["send_at"]),
        "created_at": iso(m["created_at"]),
        "updated_at": iso(m["updated_at"]),
        "attempts": m["attempts"],
        "provider": m["provider"],
        "provider_message_id": m["provider_message_id"],
        "error_code": m["error_code"],
        "idempotency_key": m["idempotency_key"],
    }


def decision(d: Decision) -> dict[str, Any]:
    return {
        "allowed": d.allowed,
        "status": d.status.value,
        "reasons": list(d.codes),
        "explanations": [r.as_dict() for r in d.reasons],
        "warnings": [r.as_dict() for r in d.warnings],
        "segments": d.segments,
        "encoding": d.encoding,
        "send_at": iso(d.send_at),
        "category": d.category.value,
        "to": d.e164,
    }


def _scope(s: ScopeState) -> dict[str, Any]:
    return {
        "granted": s.granted,
        "written": s.written,
        "since": iso(s.since),
        "method": s.method.value if s.method else None,
        "limited_to": sorted(c.value for c in s.limited_to) if s.limited_to else None,
        "event_id": s.event_id,
    }


def suppression(s: Suppression) -> dict[str, Any]:
    return {
        "id": s.id,
        "phone": s.phone,
        "reason": s.reason,
        "scope": s.scope,
        "source": s.source,
        "note": s.note,
        "created_at": iso(s.created_at),
        "removable": s.reason == "manual",
    }


def contact(
    c: Contact, state: ConsentState, sups: list[Suppression], under_review: bool
) -> dict[str, Any]:
    return {
        "phone": c.phone,
        "name": c.name,
        "timezone": c.timezone,
        "postal_code": c.postal_code,
        "state": c.state,
        "opted_out": any(s.scope == "all" for s in sups),
        "suppressions": [suppression(s) for s in sups],
        "under_review": under_review,
        "consents": contact_consents(state),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }


def consent_event(e: ConsentEventRow) -> dict[str, Any]:
    return {
        "id": e.id,
        "phone": e.phone,
        "kind": e.kind,
        "scope": e.scope or "all",
        "method": e.method,
        "written": e.written,
        "evidence": e.evidence,
        "source": e.source,
        "limited_to": e.limited_to,
        "captured_at": iso(e.captured_at),
        "recorded_at": iso(e.recorded_at),
    }


def inbound(i: InboundMessage) -> dict[str, Any]:
    return {
        "id": i.id,
        "from": i.from_phone,
        "to": i.to_phone,
        "body": i.body,
        "classification": i.classification,
        "intent": i.intent,
        "actions": i.actions,
        "decision": i.decision,
        "received_at": iso(i.received_at),
    }


def contact_consents(state: ConsentState) -> dict[str, Any]:
    return {"informational": _scope(state.informational), "marketing": _scope(state.marketing)}
