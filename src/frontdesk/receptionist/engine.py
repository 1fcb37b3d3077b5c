"""The receptionist's decision for one inbound text (receptionist.md §2.2-§2.3, R-B-04).

:func:`respond` is called after the compliance gate said NONE (Part 1: opt-out,
opt-in, HELP and REVIEW are handled before the receptionist sees anything). It
classifies the text with deterministic rules (:mod:`.intents`), asks the optional
LLM only when the rules found nothing, plans one action from a closed list, renders
an EN/ES template from the tenant's facts, optionally lets the LLM reword it, and
runs the result through the guardrails (:mod:`.guardrails`) — the policy validator
that every returned text passes, whoever produced it.

Closed action list: ``confirm_appointment``, ``cancel_appointment``,
``request_reschedule``, ``handoff``, ``alert_staff`` or None. The caller performs
the action; this module has no database and no clock (``ctx.now`` is passed in).

Safety and honesty decisions:

* urgent words → the tenant's fixed emergency text and ``alert_staff``; the AI does
  not triage (§2.3 item 10);
* two unrecognised turns in a row → handoff, never "invalid response" (§2.2);
* auto-replies are never answered (loop protection, §2.3 item 8), nor is any text
  once the per-conversation reply cap is reached or staff own the thread (item 9);
* a cancellation confirmation says how to stop texts, and no template asks for an
  opt-out word for another purpose (§1.6);
* an LLM reading never cancels by itself: a model-only ``cancel_appointment`` is
  handed to staff;
* "are you a bot?" is answered truthfully (item 7).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import phonenumbers

from frontdesk.receptionist.extract import extract_time, fold, format_clock
from frontdesk.receptionist.guardrails import check_reply, reply_cap
from frontdesk.receptionist.intents import Intent, IntentMatch, classify
from frontdesk.receptionist.templates import (
    DAY_KEYS,
    DEFAULT_EMERGENCY,
    OPT_OUT_FOOTER,
    MissingSlot,
    day_hours,
    render,
    week_hours,
)

if TYPE_CHECKING:
    from frontdesk.receptionist.consult import Nlu

__all__ = [
    "ACTIONS",
    "AppointmentView",
    "ConversationContext",
    "ReceptionistReply",
    "TenantKnowledge",
    "respond",
]

ACTIONS = frozenset(
    {"confirm_appointment", "cancel_appointment", "request_reschedule", "handoff", "alert_staff"}
)


@dataclass(frozen=True, slots=True)
class TenantKnowledge:
    business_name: str
    timezone: str
    phone: str | None = None
    address: str | None = None
    hours: Mapping[str, str | None] = field(default_factory=dict)
    services: tuple[str, ...] = ()
    prices: Mapping[str, str] = field(default_factory=dict)
    insurance: tuple[str, ...] = ()
    booking_url: str | None = None
    allowed_link_domains: frozenset[str] = frozenset()
    emergency_text: str | None = None
    # The emergency text in other languages ("es" -> ...), so a patient who writes in
    # Spanish is told what to do in Spanish; ``emergency_text`` serves the rest.
    emergency_texts: Mapping[str, str] = field(default_factory=dict)
    languages: tuple[str, ...] = ("en", "es")

    def emergency_for(self, language: str) -> str:
        """The tenant's emergency text in ``language``, else its one text, else "call 911"
        in ``language`` (§2.3 item 10: fixed text, never composed by the AI)."""
        for text in (self.emergency_texts.get(language), self.emergency_text):
            if text and text.strip():
                return text.strip()
        return DEFAULT_EMERGENCY.get(language, DEFAULT_EMERGENCY["en"])


@dataclass(frozen=True, slots=True)
class AppointmentView:
    id: str
    starts_at: datetime
    service: str | None
    status: str


@dataclass(frozen=True, slots=True)
class ConversationContext:
    now: datetime
    state: str = "idle"
    language: str = "en"
    unrecognised: int = 0
    appointment: AppointmentView | None = None
    marketing_consent: bool = False
    ai_replies_last_hour: int = 0
    ai_replies_last_day: int = 0
    staff_owned: bool = False
    first_message_to_contact: bool = False


@dataclass(frozen=True, slots=True)
class ReceptionistReply:
    intent: str
    action: str | None
    text: str | None
    slots: Mapping[str, str]
    handoff: bool
    language: str
    source: str
    template_id: str | None
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class _Plan:
    template_id: str | None
    action: str | None = None
    handoff: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    list_key: str | None = None  # a variable built from a list that may be shortened
    items: tuple[str, ...] = ()


# Templates the optional LLM may reword; fixed texts (emergency, identity, cancel,
# prices, handoffs) are never reworded.
_WORDABLE = frozenset(
    {
        "confirm.done", "reschedule.ask_time", "reschedule.with_time", "late.ack",
        "book.ask_time", "book.with_time", "hours.open", "hours.closed", "hours.week",
        "location.address", "services.list", "info.received", "other.clarify",
        "thanks.appointment",
    }
)  # fmt: skip

# "A person will text you back" is said once: after a handoff these are not repeated.
_HANDOFF_TEMPLATES = frozenset(
    {
        "human.handoff", "other.handoff", "other.clarify", "complaint.handoff",
        "handoff.question", "info.received", "price.unknown",
    }
)  # fmt: skip

_DOW_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MON_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DOW_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_MON_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
)  # fmt: skip


def _zone(knowledge: TenantKnowledge) -> ZoneInfo:
    try:
        return ZoneInfo(knowledge.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _when(starts_at: datetime, zone: ZoneInfo, language: str) -> str:
    local = starts_at.astimezone(zone) if starts_at.tzinfo else starts_at
    clock = format_clock(local.time())
    if language == "es":
        return f"{_DOW_ES[local.weekday()]} {local.day} de {_MON_ES[local.month - 1]} a las {clock}"
    return f"{_DOW_EN[local.weekday()]} {_MON_EN[local.month - 1]} {local.day} at {clock}"


def _day_label(day: date, today: date, language: str) -> str:
    es = language == "es"
    if day == today:
        return "hoy" if es else "today"
    if day == today + timedelta(days=1):
        return "mañana" if es else "tomorrow"
    return f"el {_DOW_ES[day.weekday()]}" if es else f"on {_DOW_EN[day.weekday()]}"


_TOKEN_RE = re.compile(r"[\w$%']+")
_INACTIVE = frozenset({"cancelled", "canceled", "completed", "no_show", "noshow", "missed"})
_PRICE_LEAD = frozenset(
    {"", "a", "an", "the", "for", "is", "of", "per", "your", "one", "do", "does", "cost",
     "much", "price", "priced", "charge", "and", "or", "una", "un", "la", "el", "por", "cuesta",
     "y", "o"}
)  # fmt: skip


def _mentioned(
    text: str, names: tuple[str, ...] | list[str], exact_lead: bool = False
) -> str | None:
    found = _all_mentioned(text, names, exact_lead)
    return found[0] if found else None


def _all_mentioned(
    text: str, names: tuple[str, ...] | list[str], exact_lead: bool = False
) -> list[str]:
    """The tenant-listed name (service, insurer) the text mentions, longest first;
    plural/singular and a distinctive first word ("Delta" for "Delta Dental PPO") count.
    With ``exact_lead`` the word before it must not qualify it ("a cleaning" matches
    "cleaning", "a deep cleaning" does not: a price is quoted only for the listed item)."""
    low = " " + " ".join(_TOKEN_RE.findall(fold(text))) + " "
    found: list[str] = []
    for name in sorted(names, key=len, reverse=True):
        key = " ".join(_TOKEN_RE.findall(fold(name)))
        if not key:
            continue
        variants = {key, key.rstrip("s"), key + "s", key + "es"}
        first = key.split()[0]
        if len(key.split()) > 1 and len(first) >= 4:
            variants.add(first)
        for v in variants:
            for m in re.finditer(rf"(?<= ){re.escape(v)}(?= )", low):
                before = low[: m.start()].split()
                lead_ok = not exact_lead or (before[-1] if before else "") in _PRICE_LEAD
                if lead_ok and name not in found:
                    found.append(name)
    return found


def _hours_plan(
    match: IntentMatch, ctx: ConversationContext, k: TenantKnowledge, lang: str
) -> _Plan:
    week = week_hours(k.hours, lang)
    if week is None:
        return _Plan("handoff.question", action="handoff", handoff=True)
    today = ctx.now.astimezone(_zone(k)).date() if ctx.now.tzinfo else ctx.now.date()
    asked = match.slots.get("proposed_date")
    day = date.fromisoformat(asked) if asked else today
    shown = day_hours(k.hours.get(DAY_KEYS[day.weekday()]))
    label = _day_label(day, today, lang)
    if shown is None:
        return _Plan("hours.closed", variables={"day_label": label, "week": week})
    return _Plan("hours.open", variables={"day_label": label, "day_hours": shown, "week": week})


def _plan(
    intent: Intent,
    match: IntentMatch,
    text: str,
    ctx: ConversationContext,
    k: TenantKnowledge,
    lang: str,
    llm_only: bool,
) -> _Plan:
    appt = ctx.appointment
    if appt is not None and appt.status.lower() in _INACTIVE:
        appt = None
    zone = _zone(k)
    when = _when(appt.starts_at, zone, lang) if appt is not None else None
    proposed = match.slots.get("_label")
    if intent is Intent.URGENT:
        return _Plan("urgent.alert", "alert_staff", True, {"emergency": k.emergency_for(lang)})
    if intent is Intent.AUTO_REPLY:
        return _Plan(None)
    if intent is Intent.HUMAN_REQUEST:
        return _Plan("human.handoff", "handoff", True)
    if intent is Intent.COMPLAINT:
        return _Plan("complaint.handoff", "handoff", True)
    if intent is Intent.ASK_IDENTITY:
        return _Plan("identity.assistant")
    if intent is Intent.CONFIRM_APPOINTMENT:
        if appt is None or when is None:
            return _Plan("confirm.no_appointment", "handoff", True)
        return _Plan("confirm.done", "confirm_appointment", variables={"when": when})
    if intent is Intent.CANCEL_APPOINTMENT:
        if appt is None or when is None or llm_only:
            return _Plan(
                "cancel.no_appointment" if appt is None else "human.handoff", "handoff", True
            )
        return _Plan("cancel.done", "cancel_appointment", variables={"when": when})
    if intent is Intent.RESCHEDULE:
        if appt is None or when is None:
            return _Plan("reschedule.no_appointment", "handoff", True)
        if proposed:
            return _Plan(
                "reschedule.with_time",
                "request_reschedule",
                variables={"when": when, "proposed": proposed},
            )
        return _Plan("reschedule.ask_time", "request_reschedule")
    if intent is Intent.RUNNING_LATE:
        return _Plan("late.ack", "alert_staff")
    if intent is Intent.BOOK_NEW:
        if proposed:
            return _Plan("book.with_time", "handoff", True, {"proposed": proposed})
        if (
            k.booking_url
            and check_reply(
                f"{k.business_name}: {k.booking_url}",
                business_name=k.business_name,
                marketing_consent=False,
                allowed_link_domains=k.allowed_link_domains,
            ).ok
        ):
            return _Plan("book.link", variables={"booking_url": k.booking_url})
        return _Plan("book.ask_time")
    if intent is Intent.ASK_HOURS:
        return _hours_plan(match, ctx, k, lang)
    if intent is Intent.ASK_LOCATION:
        if k.address:
            return _Plan("location.address", variables={"address": k.address})
        return _Plan("handoff.question", "handoff", True)
    if intent is Intent.ASK_PRICE:
        services = _all_mentioned(
            match.slots.get("service", "") + " " + text, list(k.prices), exact_lead=True
        )
        if len(services) > 1:
            listed = ", ".join(f"{name} {k.prices[name]}" for name in services)
            return _Plan("price.several", variables={"prices": listed})
        if services:
            service = services[0]
            return _Plan("price.known", variables={"service": service, "price": k.prices[service]})
        return _Plan("price.unknown", "handoff", True)
    if intent is Intent.ASK_SERVICES:
        if k.services:
            return _Plan("services.list", list_key="services", items=k.services)
        return _Plan("handoff.question", "handoff", True)
    if intent is Intent.ASK_INSURANCE_PAYMENT:
        insurer = _mentioned(match.slots.get("insurer", "") + " " + text, list(k.insurance))
        if insurer is not None:
            return _Plan("insurance.accepted", variables={"insurer": insurer})
        if k.insurance:
            return _Plan("insurance.list", list_key="insurance", items=k.insurance)
        return _Plan("handoff.question", "handoff", True)
    if intent is Intent.PROVIDE_INFO:
        choice = match.slots.get("choice")
        if choice:
            action = "request_reschedule" if appt is not None else "handoff"
            return _Plan("slot.choice", action, appt is None, {"choice": choice})
        return _Plan("info.received", "handoff", True)
    if intent is Intent.THANKS_ACK:
        if when is not None and ctx.state != "closed":
            return _Plan("thanks.appointment", variables={"when": when})
        return _Plan(None)
    if ctx.unrecognised >= 1:
        return _Plan("other.handoff", "handoff", True)
    return _Plan("other.clarify")


def _render(plan: _Plan, lang: str, business: str) -> str:
    """The plan's template; a list variable is shortened ("A, B and 3 more") until the
    reply fits in two segments."""
    variables: dict[str, str | None] = {"business": business, **plan.variables}
    assert plan.template_id is not None
    if plan.list_key is None:
        return render(plan.template_id, lang, variables)
    items = list(plan.items)
    more = "y {n} más" if lang == "es" else "and {n} more"
    text = ""
    for keep in range(len(items), 0, -1):
        shown = ", ".join(items[:keep])
        if keep < len(items):
            shown += " " + more.format(n=len(items) - keep)
        variables[plan.list_key] = shown
        text = render(plan.template_id, lang, variables)
        if check_reply(text, business_name=business, marketing_consent=True).ok:
            return text
    return text


def _digit_facts(text: str) -> set[str]:
    return {t for t in fold(text).replace("$", " $").split() if any(c.isdigit() for c in t)}


def respond(
    text: str,
    ctx: ConversationContext,
    knowledge: TenantKnowledge,
    nlu: Nlu | None = None,
) -> ReceptionistReply:
    """Decide the reply to one inbound text (after the gate said NONE). Never raises on
    any text; every returned text has passed :func:`.guardrails.check_reply`."""
    langs = tuple(lang for lang in knowledge.languages if lang in ("en", "es")) or ("en",)
    default_lang = ctx.language if ctx.language in langs else langs[0]
    match = classify(
        text or "",
        now=ctx.now,
        timezone=knowledge.timezone,
        state=ctx.state,
        has_appointment=ctx.appointment is not None,
        default_language=default_lang,
    )
    lang = match.language if match.language in langs else default_lang
    intent = match.intent
    slots = {k: v for k, v in match.slots.items()}
    notes: list[str] = [f"rule:{match.rule}"]
    source = "rules"
    llm_only = False
    needs_human = False

    if intent is Intent.OTHER and nlu is not None and not ctx.staff_owned and text.strip():
        result = nlu.classify(
            text, now=ctx.now, language=lang, state=ctx.state, business_name=knowledge.business_name
        )
        if result is None:
            notes.append(f"llm_fallback: {nlu.last_error or 'no answer'}")
        else:
            intent = result.intent
            source = "llm"
            llm_only = True
            needs_human = result.needs_human
            notes.append(f"llm:{result.model}:{result.prompt_hash}:{result.confidence:.2f}")
            for key in ("service", "insurer", "name", "zip", "choice"):
                if key in result.slots:
                    slots[key] = result.slots[key]
            proposal = result.slots.get("proposed_time")
            expr = extract_time(proposal, ctx.now, knowledge.timezone) if proposal else None
            if expr is not None:
                slots.update(expr.slots())

    expr_label = None
    if "proposed_time" in slots:
        expr = extract_time(text, ctx.now, knowledge.timezone)
        if expr is None and slots.get("proposed_time"):
            expr = extract_time(slots["proposed_time"], ctx.now, knowledge.timezone)
        if expr is not None:
            slots.update(expr.slots())
            expr_label = expr.label(lang)
    plan_match = IntentMatch(
        intent, lang, {**slots, **({"_label": expr_label} if expr_label else {})}
    )
    plan = _plan(intent, plan_match, text, ctx, knowledge, lang, llm_only)
    if needs_human and plan.action is None:
        plan.action, plan.handoff = "handoff", True

    def reply(text_out: str | None, template_id: str | None, src: str) -> ReceptionistReply:
        action = plan.action if plan.action in ACTIONS else None
        return ReceptionistReply(
            intent=intent.value,
            action=action,
            text=text_out,
            slots=slots,
            handoff=plan.handoff,
            language=lang,
            source=src,
            template_id=template_id,
            notes=tuple(notes),
        )

    if ctx.staff_owned:
        notes.append("staff_owned: no AI reply")
        plan.action = "alert_staff" if intent is Intent.URGENT else None
        plan.handoff = False
        return reply(None, None, source)
    if plan.template_id is None:
        return reply(None, None, source)
    if ctx.state == "handed_off" and plan.template_id in _HANDOFF_TEMPLATES:
        notes.append("already_handed_off: no repeat")
        plan.action, plan.handoff = "handoff", True
        return reply(None, None, source)
    capped = reply_cap(ctx.ai_replies_last_hour, ctx.ai_replies_last_day)
    if capped is not None:
        notes.append(capped)
        plan.handoff = True
        if plan.action not in ("alert_staff",):
            plan.action = "handoff"
        return reply(None, None, "guardrail")

    business = knowledge.business_name.strip()
    tenant_numbers = [n for n in (knowledge.phone,) if n]
    emergency = (knowledge.emergency_text, *knowledge.emergency_texts.values())
    tenant_numbers += [text for text in emergency if text]

    def finish(candidate: str) -> tuple[str, tuple[str, ...]]:
        if ctx.first_message_to_contact:
            footer = OPT_OUT_FOOTER.get(lang, OPT_OUT_FOOTER["en"])
            candidate = f"{candidate} {footer}"
        check = check_reply(
            candidate,
            business_name=business,
            marketing_consent=ctx.marketing_consent,
            allowed_link_domains=knowledge.allowed_link_domains,
            tenant_numbers=_numbers(tenant_numbers),
            first_message_to_contact=ctx.first_message_to_contact,
        )
        return check.text, check.violations

    template_id: str | None = plan.template_id
    try:
        draft = _render(plan, lang, business)
    except MissingSlot as exc:
        notes.append(f"template_unfilled: {template_id}.{exc.args[0]}")
        draft, template_id = "", None
    final, violations = finish(draft) if draft else ("", ("empty",))
    src = source

    if not violations and nlu is not None and nlu.wording and template_id in _WORDABLE:
        facts = {k: v for k, v in plan.variables.items()}
        worded = nlu.word(draft, facts=facts, now=ctx.now, language=lang, business_name=business)
        if worded is None:
            notes.append(f"wording_fallback: {nlu.last_error or 'no answer'}")
        else:
            invented = _digit_facts(worded) - _digit_facts(draft)
            candidate, bad = finish(worded)
            if invented:
                bad = (*bad, "invented_facts: " + ", ".join(sorted(invented)))
            if bad:
                notes.append("wording_rejected: " + "; ".join(bad))
            else:
                final, src = candidate, "llm"

    if violations:
        notes.append(f"template_rejected: {template_id}: " + "; ".join(violations))
        plan.handoff = True
        if plan.action is None:
            plan.action = "handoff"
        template_id = "fallback.safe"
        final, violations = finish(render("fallback.safe", lang, {"business": business}))
        src = "guardrail"
        if violations:
            notes.append("fallback_rejected: " + "; ".join(violations))
            return reply(None, None, "guardrail")
    return reply(final, template_id, src)


def _numbers(sources: list[str]) -> list[str]:
    """The tenant's own numbers: its office phone and any number in its emergency text
    (an on-call line the tenant configured), for the R-CT-04 check."""
    out: list[str] = []
    for s in sources:
        if s.startswith("+") and s[1:].isdigit():
            out.append(s)
            continue
        for m in phonenumbers.PhoneNumberMatcher(s, "US"):
            out.append(phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164))
    return out
