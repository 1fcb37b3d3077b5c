"""Submit, check and cancel outbound messages; every one passes the gate (design.md, Send flow)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from frontdesk import errors
from frontdesk.domain import content, gate
from frontdesk.domain.messages import Category, Status
from frontdesk.domain.reasons import Reason
from frontdesk.ids import new_id
from frontdesk.services import facts as facts_service
from frontdesk.services.contacts import ensure_contact
from frontdesk.storage.models import Message, Tenant
from frontdesk.storage.uow import LIVE_EXCLUDED, TenantScope


@dataclass(frozen=True)
class SendCommand:
    to: str
    body: str
    category: Category
    sender: str | None = None
    media_urls: tuple[str, ...] = ()
    send_at: datetime | None = None
    idempotency_key: str | None = None
    subject: str | None = None
    appointment_starts_at: datetime | None = None
    revocation_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    healthcare_exempt: bool = False  # R-C-07: ask for the covered entity's exemption

    def fingerprint(self) -> str:
        """What an idempotency key stands for: every field but the key, as sorted JSON.

        Stored as ``request_hash``; the encoding must never change, or a retry made
        across an upgrade would be refused as a different request, so a field added
        later is left out while it has its default."""
        data = {name: getattr(self, name) for name in _FINGERPRINTED}
        for name, default in _ADDED_LATER.items():
            if data[name] == default:
                del data[name]
        return hashlib.sha256(_FINGERPRINT_JSON.encode(data).encode()).hexdigest()


_FINGERPRINTED = tuple(f.name for f in fields(SendCommand) if f.name != "idempotency_key")
_ADDED_LATER: dict[str, object] = {"healthcare_exempt": False}
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=str)


@dataclass(frozen=True)
class Submitted:
    message: Message
    decision: gate.Decision | None
    created: bool


def _request(cmd: SendCommand) -> gate.MessageRequest:
    return gate.MessageRequest(
        to=cmd.to,
        body=cmd.body,
        category=cmd.category,
        sender=cmd.sender,
        media_urls=cmd.media_urls,
        send_at=cmd.send_at,
        subject=cmd.subject,
        appointment_starts_at=cmd.appointment_starts_at,
        revocation_at=cmd.revocation_at,
        healthcare_exempt=cmd.healthcare_exempt,
    )


def _sender(
    scope: TenantScope, tenant: Tenant, requested: str | None, category: Category
) -> tuple[str | None, bool]:
    """The sending number and whether the tenant owns it (R-R-02). With none requested,
    one whose campaign may carry the category (R-R-01, R-CT-05; facts.default_sender)."""
    if requested is None:
        return facts_service.default_sender(scope, tenant, category), True
    from frontdesk.domain import phone

    numbers = facts_service.sending_numbers(scope, tenant)
    parsed = phone.try_parse(requested)
    e164 = parsed.e164 if parsed else requested
    return e164, e164 in numbers


@dataclass(frozen=True)
class Planned:
    """What a decision needs besides the facts: the request to gather them for and
    whether the tenant owns the sender (R-R-01 ``sender_not_owned``)."""

    facts_request: facts_service.FactsRequest
    sender: str | None
    owned: bool


def plan(
    scope: TenantScope,
    tenant: Tenant,
    cmd: SendCommand,
    now: datetime,
    exclude_message_id: str | None = None,
) -> Planned:
    from frontdesk.domain import phone

    parsed = phone.try_parse(cmd.to)
    sender, owned = _sender(scope, tenant, cmd.sender, cmd.category)
    at = cmd.send_at if cmd.send_at is not None and cmd.send_at > now else now
    request = facts_service.FactsRequest(
        parsed.e164 if parsed else None, at, exclude_message_id, sender
    )
    return Planned(request, sender, owned)


def decide_with(
    cmd: SendCommand, planned: Planned, facts: gate.Facts, now: datetime
) -> gate.Decision:
    if not planned.owned:
        facts = replace(facts, sender_owned=False)
    return gate.evaluate(_request(cmd), facts, now)


def decide(
    scope: TenantScope,
    tenant: Tenant,
    cmd: SendCommand,
    now: datetime,
    exclude_message_id: str | None = None,
    *,
    batch: facts_service.BatchFacts | None = None,
) -> tuple[gate.Decision, str | None]:
    planned = None
    if batch is not None and exclude_message_id is None:
        made = batch.plans.get(id(cmd))
        if made is not None and made[0] is cmd and isinstance(made[1], Planned):
            planned = made[1]
    if planned is None:
        planned = plan(scope, tenant, cmd, now, exclude_message_id)
    req = planned.facts_request
    if batch is not None:
        facts = batch.facts(req)
    else:
        facts = facts_service.gather(
            scope, tenant, req.e164, now, exclude_message_id, at=req.at, sender=req.sender
        )
    return decide_with(cmd, planned, facts, now), planned.sender


def prepare_batch(
    scope: TenantScope, cmds: Sequence[SendCommand], now: datetime
) -> facts_service.BatchFacts:
    """Read the facts for every command of a batch at once (issue 4); pass the result
    to :func:`submit` for each command, in order."""
    tenant = scope.tenant()
    plans = [plan(scope, tenant, cmd, now) for cmd in cmds]
    batch = facts_service.BatchFacts(scope, tenant, [p.facts_request for p in plans], now)
    batch.plans = {id(cmd): (cmd, planned) for cmd, planned in zip(cmds, plans, strict=True)}
    return batch


def check(scope: TenantScope, cmd: SendCommand, now: datetime) -> gate.Decision:
    """Decide and explain without storing or sending."""
    decision, _ = decide(scope, scope.tenant(), cmd, now)
    return decision


def with_media_reasons(decision: gate.Decision, media_reasons: Sequence[Reason]) -> gate.Decision:
    """R-S-02: media problems found by ``services.media`` (it needs the network, so it runs
    outside the pure gate) refuse the message like any other blocking reason."""
    if not media_reasons:
        return decision
    return replace(
        decision,
        allowed=False,
        status=Status.BLOCKED,
        reasons=decision.reasons + tuple(media_reasons),
        send_at=decision.send_at,
    )


@dataclass(frozen=True)
class Accepted:
    """A submitted message as its stored columns (:func:`submit_row`)."""

    row: Mapping[str, Any]
    decision: gate.Decision | None
    created: bool


def _idempotent(scope: TenantScope, cmd: SendCommand) -> Message | None:
    if not cmd.idempotency_key:
        return None
    existing = scope.message_by_idempotency_key(cmd.idempotency_key)
    if existing is not None and existing.request_hash != cmd.fingerprint():
        raise errors.AppError(
            409,
            "Idempotency key reused",
            "This idempotency_key was used with a different request; use a new key.",
            [
                errors.FieldError(
                    "idempotency_key",
                    "idempotency_conflict",
                    "key already used for a different message",
                )
            ],
        )
    return existing


def _accept(
    scope: TenantScope,
    cmd: SendCommand,
    now: datetime,
    actor: str,
    media_reasons: Sequence[Reason],
    batch: facts_service.BatchFacts | None,
    store: Callable[[dict[str, Any]], None],
) -> tuple[dict[str, Any], gate.Decision]:
    """Decide, then ``store`` the message row, and queue its first event and audit entry
    (after the row: they point at it)."""
    tenant = scope.tenant()
    decision, sender = decide(scope, tenant, cmd, now, batch=batch)
    decision = with_media_reasons(decision, media_reasons)
    if decision.e164 is not None:
        if batch is not None:
            batch.ensure_contact(decision.e164, now)
        else:
            ensure_contact(scope, decision.e164, now)
    row: dict[str, Any] = {
        "id": new_id("msg"),
        "tenant_id": scope.tenant_id,
        "to_phone": decision.e164 or cmd.to[:64],
        "from_phone": sender,
        "body": cmd.body,
        "media_urls": list(cmd.media_urls),
        "category": cmd.category.value,
        "subject": cmd.subject,
        "status": decision.status.value,
        "reasons": [r.as_dict() for r in decision.reasons],
        "warnings": [r.as_dict() for r in decision.warnings],
        "segments": decision.segments,
        "encoding": decision.encoding,
        "send_at": decision.send_at,
        "idempotency_key": cmd.idempotency_key,
        # Only a retry with the same key compares it (R-API idempotency).
        "request_hash": cmd.fingerprint() if cmd.idempotency_key else None,
        "provider": None,
        "provider_message_id": None,
        "error_code": None,
        "attempts": 0,
        "revocation_at": cmd.revocation_at,
        "appointment_starts_at": cmd.appointment_starts_at,
        "opt_out_notice": content.has_opt_out_language(cmd.body),
        # R-C-07: sent without consent under the healthcare exemption (counted per patient)
        "healthcare_exempt": decision.healthcare_exempt,
        "created_at": now,
        "updated_at": now,
    }
    store(row)
    status = row["status"]
    if batch is not None and decision.e164 is not None and status not in LIVE_EXCLUDED:
        batch.note_sent(
            decision.e164,
            row["id"],
            row["send_at"],
            now,
            row["category"],
            cmd.subject,
            notice=row["opt_out_notice"],
            exempt=row["healthcare_exempt"],
        )
    scope.add_event(row["id"], status, now, {"reasons": list(decision.codes), "stage": "accept"})
    scope.audit(
        now,
        actor,
        "message.blocked" if not decision.allowed else "message.accepted",
        row["id"],
        {
            "category": row["category"],
            "status": status,
            "reasons": list(decision.codes),
            "to": row["to_phone"][-4:],
        },
    )
    return row, decision


def submit(
    scope: TenantScope,
    cmd: SendCommand,
    now: datetime,
    actor: str,
    *,
    media_reasons: Sequence[Reason] = (),
    batch: facts_service.BatchFacts | None = None,
) -> Submitted:
    """Decide, then store the message, its first event and its audit entry.

    With ``batch`` (from :func:`prepare_batch`) the facts come from the batch and
    the stored message is noted in it, so a later command of the same batch to the
    same number counts it (R-Q-04 caps, first-message rules)."""
    existing = _idempotent(scope, cmd)
    if existing is not None:
        return Submitted(existing, None, created=False)
    stored: list[Message] = []

    def add(row: dict[str, Any]) -> None:
        stored.append(Message(**row))
        scope.add(stored[0])

    _, decision = _accept(scope, cmd, now, actor, media_reasons, batch, add)
    return Submitted(stored[0], decision, created=True)


def submit_row(
    scope: TenantScope,
    cmd: SendCommand,
    now: datetime,
    actor: str,
    *,
    media_reasons: Sequence[Reason] = (),
    batch: facts_service.BatchFacts | None = None,
) -> Accepted:
    """:func:`submit` for callers that only render the result (the batch route and the
    group-committed single send): the row is queued and bulk-written
    (``storage.appends``) instead of becoming an ORM object (issue 4)."""
    existing = _idempotent(scope, cmd)
    if existing is not None:
        return Accepted(scope.message_row(existing), None, created=False)
    row, decision = _accept(scope, cmd, now, actor, media_reasons, batch, scope.queue_message)
    return Accepted(row, decision, created=True)


def cancel(scope: TenantScope, message_id: str, now: datetime, actor: str) -> Message:
    msg = scope.message(message_id)
    if msg is None:
        raise errors.not_found("message")
    if msg.status not in ("scheduled", "queued"):
        raise errors.AppError(
            409,
            "Cannot cancel",
            f"The message is {msg.status}; only scheduled or queued messages can be canceled.",
        )
    msg.status = "canceled"
    msg.updated_at = now
    scope.add_event(msg.id, "canceled", now, {"by": actor})
    scope.audit(now, actor, "message.canceled", msg.id, {})
    return msg
