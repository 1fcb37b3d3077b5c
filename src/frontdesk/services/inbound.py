"""Inbound texts: keywords first (opt-out, opt-in, help, review), then the receptionist.

An opt-out appends the revocation, writes the suppression, cancels scheduled
messages to that number and queues the one confirmation, all in the caller's
transaction (design.md, Inbound flow; R-FCC-02, R-FCC-03), and closes the AI
thread. Only a text classified ``none`` reaches the receptionist
(:func:`services.conversations.respond`), which sets the intent and appends what
it did (``appointment_confirmed``, ``appointment_canceled``,
``reschedule_requested``, ``handed_off``, ``replied`` …). A reply held for
``review`` is not continued by the AI (receptionist.md §1.4, actions per outcome).

The tenant's optional model is asked *between* two units of work, never inside
one: :func:`consult` (read-only) says whether a text will reach the receptionist
with a model to ask; the caller calls ``Consultation.ask`` with no transaction
open and hands the answers to :func:`handle_inbound`. A STOP is never behind a
model call: the keywords decide first, and the write transaction that records
it is not held open while a model answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from frontdesk import errors
from frontdesk.domain import keywords
from frontdesk.domain.consent import Method, Scope
from frontdesk.domain.keywords import Classification, KeywordContext, KeywordResult, Mode
from frontdesk.domain.messages import Category
from frontdesk.ids import new_id
from frontdesk.providers.base import InboundSms
from frontdesk.receptionist.consult import NluAnswers
from frontdesk.services import consents, conversations, replies, suppressions
from frontdesk.services import messages as messages_service
from frontdesk.services.contacts import ensure_contact
from frontdesk.services.conversations import Consultation
from frontdesk.storage import flows
from frontdesk.storage.models import InboundMessage, Review, Tenant
from frontdesk.storage.uow import TenantScope

REPEAT_CONFIRMATION_WINDOW = timedelta(hours=24)


@dataclass
class InboundOutcome:
    inbound: InboundMessage
    result: KeywordResult | None
    actions: list[str] = field(default_factory=list)
    duplicate: bool = False
    replies: list[str] = field(default_factory=list)


def _context(tenant: Tenant, opted_out: bool, pending_appointment: bool) -> KeywordContext:
    settings: dict[str, Any] = tenant.settings or {}
    return KeywordContext(
        mode=Mode(settings.get("keyword_mode", "balanced")),
        opted_out=opted_out,
        pending_appointment=pending_appointment,
        yes_is_opt_in=bool(settings.get("yes_is_opt_in", False)),
        spanish=bool(settings.get("spanish_keywords", True)),
        french=bool(settings.get("french_keywords", True)),
        extra_opt_out=frozenset(settings.get("extra_opt_out_keywords", ())),
    )


def _queue_reply(
    scope: TenantScope,
    to: str,
    sender: str,
    body: str,
    category: Category,
    now: datetime,
    revocation_at: datetime | None = None,
) -> str:
    submitted = messages_service.submit(
        scope,
        messages_service.SendCommand(
            to=to, body=body, category=category, sender=sender, revocation_at=revocation_at
        ),
        now,
        actor="system",
    )
    return submitted.message.id


def opt_out(
    scope: TenantScope,
    tenant: Tenant,
    e164: str,
    *,
    marketing_only: bool,
    method: Method,
    source: str,
    now: datetime,
    actor: str,
    evidence: dict[str, Any],
) -> list[str]:
    """Record a revocation: consent event, suppression, scheduled sends canceled."""
    actions = []
    already = any(
        s.reason in consents.RECIPIENT_SUPPRESSIONS and s.scope == "all"
        for s in scope.active_suppressions(e164)
    )
    consents.record_revocation(
        scope,
        e164,
        revoked_scope=Scope.MARKETING if marketing_only else None,
        method=method,
        at=now,
        now=now,
        source=source,
        actor=actor,
        evidence=evidence,
    )
    if not already:
        suppressions.add(
            scope,
            e164,
            reason="opt_out",
            scope_name="marketing" if marketing_only else "all",
            source=source,
            note=None,
            now=now,
            actor=actor,
        )
    actions.append("suppressed")
    canceled = suppressions.cancel_pending(
        scope, e164, marketing_only=marketing_only, code="opted_out", now=now
    )
    if canceled:
        actions.append("scheduled_canceled")
    for review in scope.pending_reviews(e164):
        review.status = "opt_out"
        review.decided_at = now
        review.decided_by = actor
    return actions


def _classify(
    scope: TenantScope, tenant: Tenant, e164: str, body: str, now: datetime
) -> KeywordResult:
    opted_out = any(s.scope == "all" for s in scope.active_suppressions(e164))
    pending_appointment = flows.next_appointment(scope, e164, now) is not None or any(
        m.category in ("appointment_reminder", "appointment_confirmation")
        for m in scope.messages(
            to=e164, status=None, since=now - timedelta(days=14), limit=5, offset=0
        )
    )
    return keywords.classify(body, _context(tenant, opted_out, pending_appointment))


def consult(scope: TenantScope, sms: InboundSms, now: datetime) -> Consultation | None:
    """What the tenant's model must be asked before :func:`handle_inbound` handles
    ``sms``, or None: a duplicate, a keyword (STOP, HELP, START, review) and a tenant
    without a model ask nothing. Reads only; call it on a read-only unit of work."""
    if sms.provider_message_id and scope.inbound_by_provider_id(
        sms.provider, sms.provider_message_id
    ):
        return None
    tenant = scope.tenant()
    body = sms.body or ""
    if _classify(scope, tenant, sms.sender, body, now).classification is not Classification.NONE:
        return None
    return conversations.consultation(scope, tenant, sms.sender, body, now)


def handle_inbound(
    scope: TenantScope,
    sms: InboundSms,
    now: datetime,
    *,
    review_hours: int = 24,
    answers: NluAnswers | None = None,
) -> InboundOutcome:
    """Record ``sms`` and act on it; ``answers`` are the model's, from :func:`consult`."""
    if sms.provider_message_id:
        seen = scope.inbound_by_provider_id(sms.provider, sms.provider_message_id)
        if seen is not None:
            return InboundOutcome(seen, None, list(seen.actions), duplicate=True)
    tenant = scope.tenant()
    e164 = sms.sender
    contact = ensure_contact(scope, e164, now)
    contact.version += 1
    contact.last_inbound_at = now
    contact.updated_at = now
    result = _classify(scope, tenant, e164, sms.body or "", now)
    inbound = InboundMessage(
        id=new_id("inb"),
        tenant_id=scope.tenant_id,
        from_phone=e164,
        to_phone=sms.to,
        body=sms.body or "",
        media_urls=list(sms.media_urls),
        provider=sms.provider,
        provider_message_id=sms.provider_message_id,
        classification=result.classification.value,
        intent=None,
        actions=[],
        decision={
            "layer": result.layer,
            "rule": result.rule,
            "language": result.language,
            "scope": result.scope.value,
            "version": result.version,
            "model_score": result.model_score,
        },
        received_at=now,
    )
    scope.add(inbound)
    scope.flush()
    outcome = InboundOutcome(inbound, result)
    spanish = result.language == "es"
    cls = result.classification
    evidence = {
        "inbound_id": inbound.id,
        "message_id": sms.provider_message_id,
        "rule": result.rule,
        "layer": result.layer,
    }
    if cls is Classification.OPT_OUT:
        marketing_only = result.scope is keywords.RevocationScope.MARKETING
        recent = scope.confirmations_since(e164, now - REPEAT_CONFIRMATION_WINDOW)
        outcome.actions += opt_out(
            scope,
            tenant,
            e164,
            marketing_only=marketing_only,
            method=Method.INBOUND_SMS,
            source="inbound_sms",
            now=now,
            actor="recipient",
            evidence=evidence,
        )
        if recent == 0:
            body = replies.opt_out_confirmation(
                tenant,
                bare_cancel=result.bare_cancel,
                marketing_only=marketing_only,
                spanish=spanish,
            )
            outcome.replies.append(
                _queue_reply(
                    scope, e164, sms.to, body, Category.OPT_OUT_CONFIRMATION, now, revocation_at=now
                )
            )
            outcome.actions.append("replied")
        if result.bare_cancel:
            outcome.actions.append("staff_task_appointment_may_need_canceling")
        conversations.note_inbound(scope, e164, now, state="closed")
    elif cls is Classification.HELP:
        outcome.replies.append(
            _queue_reply(
                scope,
                e164,
                sms.to,
                replies.help_reply(tenant, spanish=spanish),
                Category.HELP_REPLY,
                now,
            )
        )
        outcome.actions.append("replied")
    elif cls is Classification.OPT_IN:
        consents.record_grant(
            scope,
            e164,
            consent_scope=Scope.INFORMATIONAL,
            method=Method.SMS_KEYWORD,
            captured_at=now,
            evidence=evidence,
            now=now,
            source="inbound_sms",
            actor="recipient",
        )
        outcome.actions.append("opted_in")
        outcome.replies.append(
            _queue_reply(
                scope,
                e164,
                sms.to,
                replies.opt_in_confirmation(tenant),
                Category.OPT_IN_CONFIRMATION,
                now,
            )
        )
        outcome.actions.append("replied")
    elif cls is Classification.REVIEW:
        if not scope.pending_reviews(e164):
            scope.add(
                Review(
                    id=new_id("rev"),
                    tenant_id=scope.tenant_id,
                    phone=e164,
                    inbound_id=inbound.id,
                    status="pending",
                    deadline=now + timedelta(hours=review_hours),
                    created_at=now,
                )
            )
        outcome.actions.append("held_for_review")
        conversations.note_inbound(scope, e164, now, state="held")
    elif cls is Classification.NONE:
        answered = conversations.respond(scope, tenant, inbound, now, answers)
        inbound.intent = answered.intent
        outcome.actions += answered.actions
        outcome.replies += answered.replies
    if cls in (Classification.HELP, Classification.OPT_IN):
        reopened = "idle" if cls is Classification.OPT_IN else None
        conversations.note_inbound(scope, e164, now, state=reopened)
    inbound.actions = list(outcome.actions)
    scope.audit(
        now,
        "recipient",
        f"inbound.{cls.value}",
        inbound.id,
        {"from": e164[-4:], "rule": result.rule, "actions": outcome.actions},
    )
    return outcome


def decide_review(
    scope: TenantScope, review_id: str, decision: str, now: datetime, actor: str
) -> Review:
    review = scope.review(review_id)
    if review is None:
        raise errors.not_found("review")
    if review.status != "pending":
        raise errors.conflict(f"The review was already decided ({review.status}).")
    tenant = scope.tenant()
    if decision == "opt_out":
        opt_out(
            scope,
            tenant,
            review.phone,
            marketing_only=False,
            method=Method.INBOUND_SMS,
            source="review",
            now=now,
            actor=actor,
            evidence={"review_id": review.id, "inbound_id": review.inbound_id},
        )
        review.status = "opt_out"
    else:
        review.status = "keep"
    review.decided_at = now
    review.decided_by = actor
    scope.audit(now, actor, "review.decided", review.id, {"decision": decision})
    return review


def expire_review(scope: TenantScope, review: Review, now: datetime) -> None:
    """receptionist.md §1.5: a review nobody decides becomes an opt-out at its deadline."""
    tenant = scope.tenant()
    opt_out(
        scope,
        tenant,
        review.phone,
        marketing_only=False,
        method=Method.INBOUND_SMS,
        source="review_expired",
        now=now,
        actor="system",
        evidence={"review_id": review.id, "inbound_id": review.inbound_id},
    )
    review.status = "expired"
    review.decided_at = now
    review.decided_by = "system"
    scope.audit(now, "system", "review.expired", review.id, {})
