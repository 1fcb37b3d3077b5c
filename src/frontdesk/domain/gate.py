"""The gate: one pure decision for every outbound message.

``evaluate(request, facts, now)`` runs at accept time and again at hand-off inside
the transaction that claims the message (design.md, guarantee 1). It never reads
a clock or a database: the caller gathers :class:`Facts` and passes ``now``.

Each rule is one named function returning the :class:`Reason` it finds (or
``None``); :data:`RULES` lists them in the order reasons are reported. Content
rules live in ``content.py``, time rules in ``quiet_hours.py``, segment counting in
``segments.py``; this module composes them into a :class:`Decision`:
``blocked`` when any rule blocks, else ``scheduled`` when the message must wait
(a future ``send_at`` or quiet hours, reason ``quiet_hours``), else ``queued``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from frontdesk.domain import campaigns, content, healthcare, phone, quiet_hours, segments
from frontdesk.domain.consent import ConsentState
from frontdesk.domain.messages import COMPLIANCE_REPLIES, Category, Status
from frontdesk.domain.reasons import Reason, ReasonCode, Severity

MAX_BODY_CHARS = 1600
MAX_SEGMENTS = 10
CONFIRMATION_DEADLINE = timedelta(minutes=5)
FREQUENCY_WINDOW = timedelta(hours=24)

# R-Q-04: conversational replies and compliance replies are not counted against caps.
UNCAPPED: frozenset[Category] = COMPLIANCE_REPLIES | {Category.CONVERSATION}


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
    healthcare_exempt: bool = False  # the sender asks for the R-C-07 exemption


@dataclass(frozen=True, slots=True)
class TenantFacts:
    name: str
    suspended: bool = False
    timezone: str = "America/New_York"
    numbers: frozenset[str] = frozenset()
    allowed_link_domains: frozenset[str] = frozenset()
    frequency_cap: int = 3
    missed_call_in_quiet_hours: bool = False
    reply_exemption_minutes: int = 15
    max_segments_warning: int = 2
    registration_required: bool = False
    policy_accepted: bool = True
    # R-Q-02: the tenant's own window (local minutes) for scheduled informational texts;
    # None = the federal and state rules alone.
    informational_window: tuple[int, int] | None = None
    # R-C-07: the tenant declared itself a HIPAA covered entity (healthcare exemption).
    hipaa_exempt_mode: bool = False


@dataclass(frozen=True, slots=True)
class RecentSend:
    """An automated message to this contact already accepted (for rolling caps)."""

    at: datetime
    category: Category
    subject: str


@dataclass(frozen=True, slots=True)
class ContactFacts:
    opted_out: bool = False
    opted_out_scope: str = "all"
    under_review: bool = False
    consent: ConsentState = field(default_factory=ConsentState)
    confirmations_for_revocation: int = 0
    state: str | None = None
    postal_code: str | None = None
    timezone: str | None = None
    last_inbound_at: datetime | None = None
    first_message: bool = True
    # The capped sends within 24 h either side of the message, oldest first; left
    # empty when there are fewer than :func:`fewest_that_cap` of them, because so few
    # cannot block it (R-Q-04, R-Q-03) and reading them is most of a batch's fact
    # reads (issue 4).
    recent: tuple[RecentSend, ...] = ()
    not_sms_capable: str | None = None  # "invalid" (30005) or "landline" (30006), R-E-03
    # ``send_at`` of the latest live message to the contact that said how to opt out.
    last_opt_out_notice_at: datetime | None = None
    # ``send_at`` of the live healthcare-exempt messages within 7 days of this one (R-C-07).
    exempt_sends: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class Facts:
    tenant: TenantFacts
    contact: ContactFacts = field(default_factory=ContactFacts)
    sender_owned: bool = True
    sender_campaign: campaigns.SenderCampaign | None = None


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
    effective_category: Category | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code.value for r in self.reasons)

    @property
    def healthcare_exempt(self) -> bool:
        """Allowed without consent under the R-C-07 exemption (a warning says so)."""
        return self.allowed and any(
            w.code is ReasonCode.HEALTHCARE_EXEMPT for w in self.warnings
        )


class _Ctx:
    """One decision's inputs and derived values (a plain slotted class: it is built once
    per decision on the hot path, where a frozen dataclass costs measurably more)."""

    __slots__ = ("at", "e164", "effective", "facts", "findings", "now", "request", "seg")

    def __init__(
        self,
        request: MessageRequest,
        facts: Facts,
        now: datetime,
        at: datetime,
        e164: str | None,
        seg: segments.SegmentCount,
        findings: content.ContentFindings | None,
        effective: Category,
    ) -> None:
        self.request = request
        self.facts = facts
        self.now = now
        self.at = at  # when the message would leave: max(now, send_at)
        self.e164 = e164
        self.seg = seg
        self.findings = findings
        self.effective = effective


Rule = Callable[[_Ctx], Reason | None]


def _reason(
    code: ReasonCode, rule: str, message: str, fix: str, severity: Severity = Severity.BLOCK
) -> Reason:
    return Reason(code=code, rule=rule, message=message, fix=fix, severity=severity)


def rule_body(ctx: _Ctx) -> Reason | None:
    """R-S-01: Twilio rejects bodies over 1,600 characters or 10 segments; empty says nothing."""
    body = ctx.request.body
    if not body.strip() and not ctx.request.media_urls:
        return _reason(
            ReasonCode.EMPTY_BODY, "R-S-01", "The message body is empty.", "Write a body."
        )
    if len(body) > MAX_BODY_CHARS or ctx.seg.segments > MAX_SEGMENTS:
        return _reason(
            ReasonCode.BODY_TOO_LONG,
            "R-S-01",
            f"The body has {len(body)} characters in {ctx.seg.segments} {ctx.seg.encoding.value}"
            f" segments; carriers accept at most {MAX_BODY_CHARS} characters / {MAX_SEGMENTS}"
            " segments.",
            "Shorten the message or split it into separate messages.",
        )
    return None


def rule_segments_warning(ctx: _Ctx) -> Reason | None:
    """R-S-01 / T-17: automated texts are capped at 2 segments by default (cost and filtering)."""
    limit = ctx.facts.tenant.max_segments_warning
    if ctx.seg.segments <= limit or ctx.request.category in UNCAPPED:
        return None
    extra = ""
    if ctx.seg.non_gsm_characters:
        chars = "".join(dict.fromkeys(ctx.seg.non_gsm_characters))[:10]
        extra = f" The characters {chars!r} force UCS-2 and cut each segment to 67 characters."
    return _reason(
        ReasonCode.BODY_TOO_LONG,
        "R-S-01",
        f"The message takes {ctx.seg.segments} segments (over {limit}).{extra}",
        "Shorten it, or replace curly quotes, dashes and emoji with plain characters.",
        Severity.WARN,
    )


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


def rule_policy_accepted(ctx: _Ctx) -> Reason | None:
    """R-B-03: the business sends only once it has accepted the current SMS Messaging Policy."""
    found = campaigns.policy_reasons(ctx.facts.tenant.policy_accepted, ctx.request.category)
    return found[0] if found else None


def _sender_reason(ctx: _Ctx, code: ReasonCode) -> Reason | None:
    if ctx.facts.sender_campaign is None and not ctx.facts.tenant.registration_required:
        return None  # nothing registered and nothing required: no sender rule can fire
    found = campaigns.sender_reasons(
        ctx.facts.sender_campaign,
        ctx.request.category,
        ctx.effective,
        registration_required=ctx.facts.tenant.registration_required,
    )
    return next((r for r in found if r.code is code), None)


def rule_campaign_approved(ctx: _Ctx) -> Reason | None:
    """R-R-01 / R-R-05: a US long code sends only under an approved campaign, a toll-free
    number only once verified (carriers block the rest: Twilio 30034 / 30032)."""
    return _sender_reason(ctx, ReasonCode.CAMPAIGN_NOT_APPROVED)


def rule_category_in_campaign(ctx: _Ctx) -> Reason | None:
    """R-CT-05: the message's effective category is within the sender's registered use case."""
    return _sender_reason(ctx, ReasonCode.CATEGORY_NOT_IN_CAMPAIGN)


def rule_not_opted_out(ctx: _Ctx) -> Reason | None:
    """R-FCC-02 / R-FCC-07: after a STOP nothing is sent until the person opts in again.

    Only the one opt-out confirmation (R-FCC-03) and HELP answers (R-K-03) pass.
    A marketing-only revocation (R-FCC-06 scope) blocks marketing only, including an
    informational message whose content makes it marketing (R-C-02 dual-purpose).
    """
    contact = ctx.facts.contact
    if not contact.opted_out or ctx.request.category in COMPLIANCE_REPLIES:
        return None
    if contact.opted_out_scope == "marketing" and ctx.effective is not Category.MARKETING:
        return None
    return _reason(
        ReasonCode.OPTED_OUT,
        "R-FCC-02",
        "The recipient opted out; nothing more may be sent until they opt in again.",
        "Wait for the recipient to text START, or record new consent captured after the opt-out.",
    )


def rule_sms_capable(ctx: _Ctx) -> Reason | None:
    """R-E-03: stop sending to a number the carrier reported unknown (30005) or a landline
    (30006); a reassigned or disconnected number's old consent is void (R-D-03, T-20)."""
    status = ctx.facts.contact.not_sms_capable
    if status is None or ctx.request.category in COMPLIANCE_REPLIES:
        return None
    what = "unknown or out of service" if status == "invalid" else "a landline"
    return _reason(
        ReasonCode.NUMBER_NOT_SMS_CAPABLE,
        "R-E-03",
        f"The carrier reported this number as {what}; texts to it are stopped.",
        "Confirm the number with the contact and record fresh consent captured after the "
        "carrier's report.",
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
    if req.revocation_at is not None and ctx.now - req.revocation_at > CONFIRMATION_DEADLINE:
        return _reason(
            ReasonCode.CONFIRMATION_TOO_LATE,
            "R-FCC-03",
            "The opt-out confirmation is more than 5 minutes after the revocation.",
            "It is dropped: a late confirmation loses the FCC's presumption of lawfulness.",
        )
    return None


def rule_consent(ctx: _Ctx) -> Reason | None:
    """R-C-01 and R-C-02: consent covering the category; marketing needs it in writing.

    The category judged is the *effective* one: a reminder carrying an offer is
    marketing (R-C-02 dual-purpose, T-13).
    """
    category = ctx.effective
    consent = ctx.facts.contact.consent
    if consent.covers(category) or rule_not_opted_out(ctx) is not None:
        return None  # an opt-out is the reason that matters; a revocation also voids consent
    if consent.covers_without_writing(category):
        why = ""
        if category is not ctx.request.category and ctx.findings is not None:
            terms = ", ".join(ctx.findings.promotional_terms[:3])
            why = f" The {ctx.request.category.value} text is promotional ({terms}), so it is"
            why += " marketing."
        return _reason(
            ReasonCode.MARKETING_REQUIRES_WRITTEN_CONSENT,
            "R-C-02",
            "Marketing needs prior express written consent; the ledger holds only other "
            f"consent.{why}",
            "Record written consent (disclosure text plus a signature or form record), or "
            "remove the promotional wording.",
        )
    if ctx.request.healthcare_exempt:
        return _healthcare_exemption(ctx, category)
    return _reason(
        ReasonCode.NO_CONSENT,
        "R-C-01",
        f"No consent on record covers {category.value} messages to this number.",
        "Record the recipient's consent (POST /v1/consents) before sending.",
    )


def _healthcare_exemption(ctx: _Ctx, category: Category) -> Reason:
    """R-C-07: without consent, a covered entity's healthcare text goes only when every
    condition of 47 CFR 64.1200(a)(9)(iv) holds (``domain.healthcare``); the decision
    then carries a warning saying so, else the refusal names each unmet condition."""
    tenant = ctx.facts.tenant
    if not tenant.hipaa_exempt_mode:
        return _reason(
            ReasonCode.NO_CONSENT,
            "R-C-07",
            f"No consent on record covers {category.value} messages to this number, and the "
            "healthcare exemption is only for a tenant declared a HIPAA covered entity.",
            "Record the recipient's consent, or set hipaa_exempt_mode if the business is a "
            "covered entity.",
        )
    revoked = ctx.facts.contact.consent.revoked_at
    if revoked is not None:
        return _reason(
            ReasonCode.NO_CONSENT,
            "R-C-07",
            f"The recipient revoked consent on {revoked:%Y-%m-%d}; the healthcare exemption "
            "never overrides a revocation, even once its suppression is lifted.",
            "Text this number again only after the recipient opts back in (START).",
        )
    findings = ctx.findings
    unmet = healthcare.unmet_conditions(
        ctx.request.body,
        category,
        business_name=tenant.name,
        contact_info=findings is not None and bool(findings.phone_numbers or findings.urls),
        opt_out_language=content.has_opt_out_language(ctx.request.body),
        promotional_terms=findings.promotional_terms if findings is not None else (),
        exempt_sends=ctx.facts.contact.exempt_sends,
        at=ctx.at,
    )
    if unmet:
        return _reason(
            ReasonCode.NO_CONSENT,
            "R-C-07",
            "No consent on record, and the healthcare exemption does not apply: "
            + "; ".join(unmet)
            + ".",
            "Record the recipient's consent, or meet every condition of the exemption.",
        )
    return _reason(
        ReasonCode.HEALTHCARE_EXEMPT,
        "R-C-07",
        "Sent without consent under the healthcare exemption (47 CFR 64.1200(a)(9)(iv)): "
        "a covered entity's concise healthcare text, within 1 a day and 3 a week.",
        "Nothing to do; record the patient's consent when they give it.",
        Severity.WARN,
    )


def rule_appointment_started(ctx: _Ctx) -> Reason | None:
    """Late cutoff (design.md): a reminder after the appointment starts is worse than none."""
    starts = ctx.request.appointment_starts_at
    if starts is None or ctx.at < starts:
        return None
    return _reason(
        ReasonCode.APPOINTMENT_STARTED,
        "R-Q-02",
        "The appointment has already started; the reminder would arrive too late.",
        "Nothing to do: the reminder is dropped.",
    )


def rule_frequency_cap(ctx: _Ctx) -> Reason | None:
    """R-Q-04 platform cap (3 automated messages per rolling 24 h) and R-Q-03 / T-16.

    FL, OK and MD allow at most 3 solicitation messages per rolling 24 h on the
    same subject; conversational and compliance replies are not counted. Messages
    scheduled up to 24 h *after* this one count too, so no rolling window that
    contains this message can exceed the cap.
    """
    category = ctx.request.category
    if category in UNCAPPED or not ctx.facts.contact.recent:
        return None
    recent = [
        r
        for r in ctx.facts.contact.recent
        if abs(r.at - ctx.at) < FREQUENCY_WINDOW and r.category not in UNCAPPED
    ]
    cap = ctx.facts.tenant.frequency_cap
    if len(recent) >= cap:
        return _reason(
            ReasonCode.FREQUENCY_CAP,
            "R-Q-04",
            f"{len(recent)} automated messages already went to this number in the last 24 hours"
            f" (cap {cap}).",
            "Send it later, or fold it into a message already scheduled.",
        )
    if ctx.effective is Category.MARKETING:
        loc = quiet_hours.locate(_recipient(ctx), ctx.facts.tenant.timezone)
        state_cap = quiet_hours.subject_cap(loc.states)
        if state_cap is not None:
            subject = ctx.request.subject or category.value
            same = [r for r in recent if r.subject == subject]
            if len(same) >= state_cap:
                states = ", ".join(sorted(loc.states))
                return _reason(
                    ReasonCode.FREQUENCY_CAP,
                    "R-Q-03",
                    f"{states} law allows {state_cap} messages per 24 hours on the same subject;"
                    f" {len(same)} on {subject!r} were already sent.",
                    "Wait 24 hours from the earliest of them or change the subject.",
                )
    return None


def fewest_that_cap(tenant: TenantFacts, recipient: quiet_hours.Recipient) -> int:
    """The fewest capped sends around a message to ``recipient`` that can block it.

    :func:`rule_frequency_cap` blocks at ``frequency_cap`` sends in the rolling
    window (R-Q-04), or, where a state caps solicitations per subject, at that cap
    (R-Q-03: FL, OK and MD allow 3). With fewer capped sends than this in the window
    no rule can block, whatever their subjects, so the facts may leave them out.
    """
    state_cap = quiet_hours.subject_cap(quiet_hours.locate(recipient, tenant.timezone).states)
    if state_cap is None:
        return tenant.frequency_cap
    return min(tenant.frequency_cap, state_cap)


def _recipient(ctx: _Ctx) -> quiet_hours.Recipient:
    contact = ctx.facts.contact
    return quiet_hours.Recipient(
        e164=ctx.e164 or ctx.request.to,
        state=contact.state,
        postal_code=contact.postal_code,
        timezone=contact.timezone,
    )


def _content_reasons(ctx: _Ctx) -> list[Reason]:
    """R-CT-01..05, R-K-08, R-C-02, R-C-06, R-FCC-03: the content screen's findings."""
    if ctx.findings is not None:
        return list(ctx.findings.reasons)
    if ctx.request.category in COMPLIANCE_REPLIES:
        return list(
            content.screen_compliance_reply(
                ctx.request.body, ctx.facts.tenant.name, ctx.request.category
            )
        )
    return []


RULES: tuple[Rule, ...] = (
    rule_body,
    rule_valid_number,
    rule_sender_owned,
    rule_tenant_active,
    rule_policy_accepted,
    rule_campaign_approved,
    rule_category_in_campaign,
    rule_not_opted_out,
    rule_sms_capable,
    rule_not_under_review,
    rule_compliance_reply,
    rule_consent,
    rule_appointment_started,
    rule_frequency_cap,
    rule_segments_warning,
)


def _quiet_hours(
    at: datetime, recipient: quiet_hours.Recipient, category: Category, facts: Facts
) -> quiet_hours.QuietHoursDecision:
    """R-Q-01..05 through :func:`quiet_hours.check`, memoised per minute.

    Every window edge falls on a whole minute, so the decision at ``at`` equals the
    decision at the start of its minute (a deferral target is a later edge, hence
    after ``at`` too). Only decisions that do not depend on the recipient's last
    inbound message (the direct-reply exemption) are memoised.
    """
    tenant = facts.tenant
    last = facts.contact.last_inbound_at
    exempt_possible = (
        last is not None
        and tenant.reply_exemption_minutes > 0
        and at - last <= timedelta(minutes=tenant.reply_exemption_minutes)
    )
    if exempt_possible:
        return quiet_hours.check(
            at,
            recipient,
            category,
            tenant_timezone=tenant.timezone,
            last_inbound_at=last,
            reply_exemption_minutes=tenant.reply_exemption_minutes,
            missed_call_in_quiet_hours=tenant.missed_call_in_quiet_hours,
            informational_window=tenant.informational_window,
        )
    minute = at.replace(second=0, microsecond=0)
    decision = _quiet_hours_at_minute(
        minute,
        recipient,
        category,
        tenant.timezone,
        tenant.missed_call_in_quiet_hours,
        tenant.informational_window,
    )
    if decision.allowed or decision.next_allowed is None:
        return decision
    return (
        decision
        if decision.next_allowed > at
        else quiet_hours.check(
            at,
            recipient,
            category,
            tenant_timezone=tenant.timezone,
            missed_call_in_quiet_hours=tenant.missed_call_in_quiet_hours,
            informational_window=tenant.informational_window,
        )
    )


@lru_cache(maxsize=65536)
def _quiet_hours_at_minute(
    minute: datetime,
    recipient: quiet_hours.Recipient,
    category: Category,
    tenant_timezone: str,
    missed_call_in_quiet_hours: bool,
    informational_window: tuple[int, int] | None,
) -> quiet_hours.QuietHoursDecision:
    return quiet_hours.check(
        minute,
        recipient,
        category,
        tenant_timezone=tenant_timezone,
        missed_call_in_quiet_hours=missed_call_in_quiet_hours,
        informational_window=informational_window,
    )


OPT_OUT_NOTICE_EVERY = timedelta(days=30)
RECURRING_PROGRAMS: frozenset[Category] = frozenset(
    {
        Category.APPOINTMENT_CONFIRMATION,
        Category.APPOINTMENT_REMINDER,
        Category.SERVICE_NOTIFICATION,
        Category.TRANSACTIONAL,
    }
)


def opt_out_notice_due(category: Category, contact: ContactFacts, at: datetime) -> bool:
    """R-K-08 (CTIA practice): a recurring program repeats its opt-out instructions at
    least monthly, so a message of one must carry them when the contact's last message
    that did (already sent, or on its way) leaves more than 30 days before ``at``.

    The first message to a contact, marketing and missed-call follow-ups need them
    every time anyway; conversation and compliance replies answer the contact and are
    not a program.
    """
    if category not in RECURRING_PROGRAMS or contact.first_message:
        return False
    last = contact.last_opt_out_notice_at
    return last is None or at - last > OPT_OUT_NOTICE_EVERY


def _screen(request: MessageRequest, facts: Facts, at: datetime) -> content.ContentFindings | None:
    if request.category in COMPLIANCE_REPLIES or not request.body.strip():
        return None
    links, phones, age_gated = campaigns.campaign_content_flags(facts.sender_campaign)
    tenant = facts.tenant
    return _screen_flat(
        request.body,
        tenant.name,
        request.category,
        facts.contact.first_message,
        links,
        phones,
        age_gated,
        tenant.numbers,
        tenant.allowed_link_domains,
        opt_out_notice_due(request.category, facts.contact, at),
    )


@lru_cache(maxsize=8192)
def _screen_flat(
    body: str,
    business_name: str,
    category: Category,
    first_message: bool,
    links: bool | None,
    phones: bool | None,
    age_gated: bool | None,
    numbers: frozenset[str],
    domains: frozenset[str],
    notice_due: bool,
) -> content.ContentFindings:
    """The content screen keyed on plain values (cheaper to hash than a context object)."""
    return content.screen(
        body,
        content.ContentContext(
            business_name=business_name,
            category=category,
            first_message_to_contact=first_message,
            tenant_numbers=numbers,
            allowed_link_domains=domains,
            campaign_embedded_links=links,
            campaign_embedded_phone=phones,
            campaign_age_gated=age_gated,
            opt_out_notice_due=notice_due,
        ),
    )


def evaluate(request: MessageRequest, facts: Facts, now: datetime) -> Decision:
    """Decide one message: allowed (queued or scheduled) or blocked, with reasons."""
    parsed = phone.try_parse(request.to)
    e164 = parsed.e164 if parsed else None
    seg = segments.count(request.body)
    at = request.send_at if request.send_at is not None and request.send_at > now else now
    findings = _screen(request, facts, at)
    effective = findings.effective_category if findings is not None else request.category
    ctx = _Ctx(request, facts, now, at, e164, seg, findings, effective)
    blocking: list[Reason] = []
    warnings: list[Reason] = []
    for rule in RULES:
        found = rule(ctx)
        if found is not None:
            (warnings if found.severity is Severity.WARN else blocking).append(found)
    for found in _content_reasons(ctx):
        (warnings if found.severity is Severity.WARN else blocking).append(found)

    send_at = at
    deferral: Reason | None = None
    if not blocking and e164 is not None:
        qh = _quiet_hours(at, _recipient(ctx), effective, facts)
        if not qh.allowed:
            if qh.next_allowed is None:
                blocking.append(
                    _reason(
                        ReasonCode.QUIET_HOURS,
                        qh.rule,
                        qh.explanation,
                        "Give the contact's state or time zone so a window can be found.",
                    )
                )
            else:
                send_at = qh.next_allowed
                deferral = _reason(
                    ReasonCode.QUIET_HOURS,
                    qh.rule,
                    qh.explanation,
                    "Nothing to do: it is sent when the window opens.",
                )
                if (
                    request.appointment_starts_at is not None
                    and send_at >= request.appointment_starts_at
                ):
                    blocking.append(
                        _reason(
                            ReasonCode.APPOINTMENT_STARTED,
                            "R-Q-02",
                            "Quiet hours last until after the appointment starts; the reminder "
                            "would arrive too late.",
                            "Nothing to do: the reminder is dropped.",
                        )
                    )

    if blocking:
        status = Status.BLOCKED
        reasons = tuple(blocking)
    else:
        status = Status.SCHEDULED if send_at > now else Status.QUEUED
        reasons = (deferral,) if deferral is not None else ()
    return Decision(
        allowed=not blocking,
        status=status,
        reasons=reasons,
        warnings=tuple(warnings),
        send_at=send_at,
        category=request.category,
        e164=e164,
        segments=seg.segments,
        encoding=seg.encoding.value,
        effective_category=effective,
    )
