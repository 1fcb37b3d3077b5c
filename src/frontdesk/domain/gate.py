"""The gate: one pure decision for every outbound message.

``evaluate(request, facts, now)`` runs at accept time and again at hand-off inside
the transaction that claims the message (design.md, guarantee 1). It never reads
a clock or a database: the caller gathers :class:`Facts` and passes ``now``.
Each rule is a named function returning the :class:`Reason` it finds; the order
of :data:`RULES` is the order in which reasons are reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontdesk.domain import phone, segments
from frontdesk.domain.consent import ConsentState
from frontdesk.domain.messages import COMPLIANCE_REPLIES, Category, Status
from frontdesk.domain.reasons import Reason, ReasonCode, Severity

MAX_BODY_CHARS = 1600


@dataclass(frozen=True, slots=True)
class MessageRequest:
    to: str
    body: str
    category: Category
    sender: str | None = None
    media_urls: tuple[str, ...] = ()
    send_at: datetime | None = None
    subject: str | None = None
    appointment_starts_at: datetime | None = None
    revocation_at: datetime | None = None  # for an opt-out confirmation: the STOP it confirms


@dataclass(frozen=True, slots=True)
class TenantFacts:
    name: str
    suspended: bool = False
    timezone: str = "America/New_York"


@dataclass(frozen=True, slots=True)
class ContactFacts:
    opted_out: bool = False
    opted_out_scope: str = "all"
    under_review: bool = False
    consent: ConsentState = field(default_factory=ConsentState)
    confirmations_for_revocation: int = 0


@dataclass(frozen=True, slots=True)
class Facts:
    tenant: TenantFacts
    contact: ContactFacts = field(default_factory=ContactFacts)
    sender_owned: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    status: Status
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...]
    send_at: datetime
    category: Category
    e164: str | None
    segments: int = 0
    encoding: str = "GSM-7"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code.value for r in self.reasons)


@dataclass(frozen=True, slots=True)
class _Ctx:
    request: MessageRequest
    facts: Facts
    now: datetime
    e164: str | None


Rule = Callable[[_Ctx], Reason | None]


def _reason(code: ReasonCode, rule: str, message: str, fix: str) -> Reason:
    return Reason(code=code, rule=rule, message=message, fix=fix)


def rule_body(ctx: _Ctx) -> Reason | None:
    """R-S-01: Twilio rejects bodies over 1,600 characters; an empty body says nothing."""
    body = ctx.request.body
    if not body.strip() and not ctx.request.media_urls:
        return _reason(
            ReasonCode.EMPTY_BODY, "R-S-01", "The message body is empty.", "Write a body."
        )
    if len(body) > MAX_BODY_CHARS:
        return _reason(
            ReasonCode.BODY_TOO_LONG,
            "R-S-01",
            f"The body has {len(body)} characters; carriers accept at most {MAX_BODY_CHARS}.",
            "Shorten the message or split it into separate messages.",
        )
    return None


def rule_valid_number(ctx: _Ctx) -> Reason | None:
    """R-C-01: consent is matched on the E.164 number, so the destination must parse."""
    if ctx.e164 is None:
        return _reason(
            ReasonCode.INVALID_NUMBER,
            "R-C-01",
            f"{ctx.request.to!r} is not a valid phone number.",
            "Give the number in E.164 (+14155550100) or national format with area code.",
        )
    return None


def rule_tenant_active(ctx: _Ctx) -> Reason | None:
    """R-R-06: a suspended tenant sends nothing but compliance replies."""
    if ctx.facts.tenant.suspended and ctx.request.category not in COMPLIANCE_REPLIES:
        return _reason(
            ReasonCode.TENANT_SUSPENDED,
            "R-R-06",
            f"{ctx.facts.tenant.name}'s messaging is suspended.",
            "Ask the platform operator to review and reinstate the account.",
        )
    return None


def rule_not_opted_out(ctx: _Ctx) -> Reason | None:
    """R-FCC-02 / R-FCC-07: after a STOP nothing is sent until the person opts in again.

    Only the one opt-out confirmation (R-FCC-03) and HELP answers (R-K-03) pass.
    A marketing-only revocation (R-FCC-06 scope) blocks marketing only.
    """
    contact = ctx.facts.contact
    if not contact.opted_out or ctx.request.category in COMPLIANCE_REPLIES:
        return None
    if contact.opted_out_scope == "marketing" and ctx.request.category is not Category.MARKETING:
        return None
    return _reason(
        ReasonCode.OPTED_OUT,
        "R-FCC-02",
        "The recipient opted out; nothing more may be sent until they opt in again.",
        "Wait for the recipient to text START, or record new consent captured after the opt-out.",
    )


def rule_not_under_review(ctx: _Ctx) -> Reason | None:
    """R-K-02: while a reply that may be an opt-out awaits a person, proactive sends are held."""
    if not ctx.facts.contact.under_review:
        return None
    if ctx.request.category in COMPLIANCE_REPLIES or ctx.request.category is Category.CONVERSATION:
        return None
    return _reason(
        ReasonCode.UNDER_REVIEW,
        "R-K-02",
        "The recipient's last reply may be an opt-out and awaits a person's decision.",
        "Decide the review (POST /v1/reviews/{id}); it becomes an opt-out at its deadline.",
    )


def rule_consent(ctx: _Ctx) -> Reason | None:
    """R-C-01 and R-C-02: consent covering the category; marketing needs it in writing."""
    category = ctx.request.category
    consent = ctx.facts.contact.consent
    if consent.covers(category) or rule_not_opted_out(ctx) is not None:
        return None  # an opt-out is the reason that matters; a revocation also voids consent
    if consent.covers_without_writing(category):
        return _reason(
            ReasonCode.MARKETING_REQUIRES_WRITTEN_CONSENT,
            "R-C-02",
            "Marketing needs prior express written consent; the ledger holds only other consent.",
            "Record written consent (disclosure text plus a signature or form record) first.",
        )
    return _reason(
        ReasonCode.NO_CONSENT,
        "R-C-01",
        f"No consent on record covers {category.value} messages to this number.",
        "Record the recipient's consent (POST /v1/consents) before sending.",
    )


def rule_compliance_reply(ctx: _Ctx) -> Reason | None:
    """R-FCC-03 / T-09 / T-10: one opt-out confirmation per revocation, within 5 minutes."""
    req = ctx.request
    if req.category is not Category.OPT_OUT_CONFIRMATION:
        return None
    if ctx.facts.contact.confirmations_for_revocation > 0:
        return _reason(
            ReasonCode.CONFIRMATION_ALREADY_SENT,
            "R-FCC-03",
            "An opt-out confirmation was already sent for this revocation.",
            "Nothing to do: only one confirmation is allowed.",
        )
    if req.revocation_at is not None and ctx.now - req.revocation_at > timedelta(minutes=5):
        return _reason(
            ReasonCode.CONFIRMATION_TOO_LATE,
            "R-FCC-03",
            "The opt-out confirmation is more than 5 minutes after the revocation.",
            "It is dropped: a late confirmation loses the FCC's presumption of lawfulness.",
        )
    return None


def rule_sender_owned(ctx: _Ctx) -> Reason | None:
    """R-R-02: numbers are not shared across brands; a tenant sends only from its own numbers."""
    if ctx.facts.sender_owned:
        return None
    return _reason(
        ReasonCode.SENDER_NOT_OWNED,
        "R-R-02",
        f"{ctx.request.sender} is not one of this tenant's sending numbers.",
        "Omit 'from' to use the tenant's number, or register the number (POST /v1/numbers).",
    )


RULES: tuple[Rule, ...] = (
    rule_body,
    rule_valid_number,
    rule_sender_owned,
    rule_tenant_active,
    rule_not_opted_out,
    rule_not_under_review,
    rule_compliance_reply,
    rule_consent,
)


def evaluate(request: MessageRequest, facts: Facts, now: datetime) -> Decision:
    """Decide one message: allowed (queued or scheduled) or blocked, with reasons."""
    parsed = phone.try_parse(request.to)
    ctx = _Ctx(request=request, facts=facts, now=now, e164=parsed.e164 if parsed else None)
    blocking: list[Reason] = []
    warnings: list[Reason] = []
    for rule in RULES:
        found = rule(ctx)
        if found is None:
            continue
        (warnings if found.severity is Severity.WARN else blocking).append(found)
    seg = segments.count(request.body)
    send_at = request.send_at if request.send_at and request.send_at > now else now
    if blocking:
        status = Status.BLOCKED
    elif send_at > now:
        status = Status.SCHEDULED
    else:
        status = Status.QUEUED
    return Decision(
        allowed=not blocking,
        status=status,
        reasons=tuple(blocking),
        warnings=tuple(warnings),
        send_at=send_at,
        category=request.category,
        e164=ctx.e164,
        segments=seg.segments,
        encoding=seg.encoding.value,
    )
