"""The receptionist engine end to end: intent → action → template → guardrails
(receptionist.md §2.2-§2.4, R-B-04, R-CT-01..04, R-C-02, T-21, §1.6)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.domain import segments
from frontdesk.domain.content import (
    ContentContext,
    check_reserved_keyword_misuse,
    has_opt_out_language,
    screen,
)
from frontdesk.domain.messages import Category
from frontdesk.domain.reasons import Severity
from frontdesk.receptionist import (
    ACTIONS,
    AppointmentView,
    ConversationContext,
    ReceptionistReply,
    TenantKnowledge,
    respond,
)
from frontdesk.receptionist.guardrails import (
    MAX_AI_REPLIES_PER_DAY,
    MAX_AI_REPLIES_PER_HOUR,
    check_reply,
    claims_human,
    prefer_gsm7,
)
from frontdesk.receptionist.templates import TEMPLATES, render, template_fields

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # Tue 11:00 in New York
OFFICE = "+14155550100"
EMERGENCY = "If this is an emergency, call 911 or our on-call line (415) 555-0100."
KNOWLEDGE = TenantKnowledge(
    business_name="Bright Smile Dental",
    timezone="America/New_York",
    phone=OFFICE,
    address="12 Main St, Springfield",
    hours={
        "mon": "08:00-17:00",
        "tue": "08:00-17:00",
        "wed": "08:00-17:00",
        "thu": "08:00-17:00",
        "fri": "08:00-17:00",
        "sat": "09:00-13:00",
        "sun": None,
    },
    services=("cleanings", "exams", "fillings", "crowns", "whitening"),
    prices={"cleaning": "$120", "exam": "$80"},
    insurance=("Delta Dental PPO", "Cigna", "MetLife"),
    booking_url="https://brightsmile.example/book",
    allowed_link_domains=frozenset({"brightsmile.example"}),
    emergency_text=EMERGENCY,
)
VISIT = AppointmentView("appt-1", datetime(2026, 3, 12, 20, 0, tzinfo=UTC), "cleaning", "booked")
PENDING = ConversationContext(now=NOW, state="awaiting_confirmation", appointment=VISIT)
IDLE = ConversationContext(now=NOW)


def ask(
    text: str, ctx: ConversationContext = PENDING, k: TenantKnowledge = KNOWLEDGE
) -> ReceptionistReply:
    reply = respond(text, ctx, k)
    assert reply.action is None or reply.action in ACTIONS
    if reply.text is not None:
        assert reply.text.startswith(k.business_name)
        assert segments.count(reply.text).segments <= 2
    return reply


# ---------------------------------------------------------------- appointment menu


@pytest.mark.parametrize("text", ["C", "YES", "yep", "sí", "see you then", "👍", "I'll be there"])
def test_menu_answers_confirm_a_pending_visit(text: str) -> None:
    reply = ask(text)
    assert (reply.intent, reply.action, reply.handoff) == (
        "confirm_appointment",
        "confirm_appointment",
        False,
    )
    assert reply.text is not None and "4:00 pm" in reply.text
    assert ("Thu Mar 12" if reply.language == "en" else "jueves 12 de marzo") in reply.text


def test_confirm_without_an_appointment_goes_to_staff() -> None:
    reply = ask("I confirm", IDLE)
    assert reply.action == "handoff" and reply.handoff


@pytest.mark.parametrize("text", ["R", "can we move it", "reschedule please"])
def test_reschedule_without_a_time_asks_for_one(text: str) -> None:
    reply = ask(text)
    assert (reply.intent, reply.action) == ("reschedule", "request_reschedule")
    assert "proposed_time" not in reply.slots
    assert reply.text is not None and "What day and time" in reply.text


def test_reschedule_with_a_time_carries_it_in_slots() -> None:
    reply = ask("can we move it to thu 4:30pm?")
    assert reply.action == "request_reschedule"
    assert reply.slots["proposed_time"] == "Thu Mar 12 4:30 pm"
    assert reply.slots["proposed_date"] == "2026-03-12"
    assert reply.slots["proposed_clock"] == "16:30"
    assert reply.text is not None and "Thu Mar 12 4:30 pm" in reply.text


@pytest.mark.parametrize(
    ("text", "footer"),
    [
        ("cancel my appointment", "Reply STOP to stop texts."),
        ("cancelar mi cita", "Responda STOP para dejar de recibir mensajes."),
    ],
)
def test_cancel_confirms_and_still_says_how_to_stop_texts(text: str, footer: str) -> None:
    """§1.6: the cancellation reply ends with how to opt out, and STOP means only that."""
    reply = ask(text)
    assert (reply.intent, reply.action) == ("cancel_appointment", "cancel_appointment")
    assert reply.text is not None and reply.text.endswith(footer)
    assert has_opt_out_language(reply.text)
    assert check_reserved_keyword_misuse(reply.text) == ()


def test_cancel_without_an_appointment_hands_off() -> None:
    reply = ask("please cancel my appointment", IDLE)
    assert reply.action == "handoff" and reply.handoff
    assert reply.text is not None and "Reply STOP to stop texts." in reply.text


def test_running_late_alerts_staff_without_handing_off() -> None:
    reply = ask("running 10 min late, sorry")
    assert (reply.intent, reply.action, reply.handoff) == ("running_late", "alert_staff", False)


# ---------------------------------------------------------------- questions


def test_hours_for_tomorrow_in_the_tenant_zone() -> None:
    reply = ask("what time do you open tomorrow", IDLE)
    assert reply.intent == "ask_hours"
    assert reply.text == (
        "Bright Smile Dental: tomorrow we're open 8:00 am-5:00 pm. "
        "Hours: Mon-Fri 8 am-5 pm, Sat 9 am-1 pm."
    )


def test_today_is_the_tenant_day_not_the_utc_day() -> None:
    """Sat 01:00 UTC is Fri 21:00 in New York: "today" is Friday, "tomorrow" Saturday."""
    ctx = ConversationContext(now=datetime(2026, 3, 14, 1, 0, tzinfo=UTC))
    today = ask("are you open today?", ctx)
    assert today.text is not None and "today we're open 8:00 am-5:00 pm" in today.text
    tomorrow = ask("are you open tomorrow?", ctx)
    assert tomorrow.text is not None and "tomorrow we're open 9:00 am-1:00 pm" in tomorrow.text


def test_closed_day() -> None:
    reply = ask("are you open sunday?", IDLE)
    assert reply.text is not None and "we're closed on Sun" in reply.text


def test_hours_in_spanish() -> None:
    reply = ask("¿A qué hora abren mañana?", IDLE)
    assert reply.language == "es"
    assert reply.text == (
        "Bright Smile Dental: mañana abrimos 8:00 am-5:00 pm. "
        "Horario: lun-vie 8 am-5 pm, sab 9 am-1 pm."
    )


def test_location() -> None:
    reply = ask("where are you located?", IDLE)
    assert reply.text == "Bright Smile Dental: we're at 12 Main St, Springfield."


def test_price_only_from_the_price_list() -> None:
    known = ask("how much is a cleaning?", IDLE)
    assert known.text is not None and "$120" in known.text and not known.handoff
    unknown = ask("how much for a root canal?", IDLE)
    assert unknown.handoff and unknown.action == "handoff"
    assert unknown.text is not None and "$" not in unknown.text
    assert not any(ch.isdigit() for ch in unknown.text)


def test_a_qualified_service_is_not_quoted_the_plain_price() -> None:
    """A "deep cleaning" is not the listed "cleaning": staff follow up instead."""
    reply = ask("how much is a deep cleaning?", IDLE)
    assert reply.template_id == "price.unknown" and reply.handoff


def test_several_listed_prices() -> None:
    reply = ask("how much for the exam and cleaning?", IDLE)
    assert reply.text == (
        "Bright Smile Dental: cleaning $120, exam $80. Reply with a day and time if you'd "
        "like to book."
    )


def test_services_and_insurance() -> None:
    services = ask("what services do you offer?", IDLE)
    assert services.text is not None and "whitening" in services.text
    delta = ask("do you take delta dental?", IDLE)
    assert delta.text is not None and "yes, we accept Delta Dental PPO" in delta.text
    other = ask("do you take aetna?", IDLE)
    assert other.text is not None and "we accept Delta Dental PPO, Cigna, MetLife" in other.text


def test_a_long_service_list_is_shortened_to_two_segments() -> None:
    k = dataclasses.replace(
        KNOWLEDGE, services=tuple(f"specialised treatment number {i}" for i in range(20))
    )
    reply = ask("what services do you offer?", IDLE, k)
    assert reply.text is not None and "more" in reply.text


def test_booking_link_only_on_an_allowed_domain() -> None:
    linked = ask("I'd like to book a cleaning", IDLE)
    assert linked.text is not None and "https://brightsmile.example/book" in linked.text
    foreign = dataclasses.replace(KNOWLEDGE, booking_url="https://bit.ly/abc")
    unlinked = ask("I'd like to book a cleaning", IDLE, foreign)
    assert (
        unlinked.text is not None and "http" not in unlinked.text and "bit.ly" not in unlinked.text
    )


def test_human_request_hands_off() -> None:
    reply = ask("can I talk to a real person", IDLE)
    assert (reply.intent, reply.action, reply.handoff) == ("human_request", "handoff", True)


@pytest.mark.parametrize(
    "text",
    ["help my face is swollen", "basement is flooding", "we have no heat", "I smell gas",
     "Me duele mucho la muela"],
)  # fmt: skip
def test_urgent_gets_the_fixed_emergency_text_and_alerts_staff(text: str) -> None:
    """§2.3 item 10: fixed text, staff alert, handoff; the AI does not triage."""
    reply = ask(text)
    assert (reply.intent, reply.action, reply.handoff) == ("urgent", "alert_staff", True)
    assert reply.text is not None and EMERGENCY in reply.text
    assert reply.source == "rules"


def test_urgent_without_a_tenant_emergency_text_says_call_911() -> None:
    k = dataclasses.replace(KNOWLEDGE, emergency_text=None)
    assert ask("my gums are bleeding", IDLE, k).text == (
        "Bright Smile Dental: If this is an emergency, call 911. We've alerted the team."
    )
    es = ask("tengo la cara hinchada", IDLE, k)
    assert (
        es.text == "Bright Smile Dental: Si es una emergencia, llame al 911. Ya avisamos al equipo."
    )


def test_urgent_in_spanish_gets_the_tenants_spanish_emergency_text() -> None:
    """§2.3 item 10 in the patient's language: the on-call number stays the tenant's."""
    spanish = "Si es una emergencia, llame al 911 o a nuestra guardia (415) 555-0100."
    k = dataclasses.replace(KNOWLEDGE, emergency_texts={"es": spanish})
    es = ask("tengo la cara hinchada", IDLE, k)
    assert es.text is not None and spanish in es.text and "Ya avisamos" in es.text
    en = ask("help my face is swollen", IDLE, k)
    assert en.text is not None and EMERGENCY in en.text
    only_english = ask("tengo la cara hinchada", IDLE, KNOWLEDGE)
    assert only_english.text is not None and EMERGENCY in only_english.text, (
        "without a Spanish text the tenant's own text, with its on-call number, is kept"
    )


@pytest.mark.parametrize("text", ["who is this?", "are you a bot?", "Is this a real person?"])
def test_identity_is_answered_truthfully(text: str) -> None:
    """§2.3 item 7 (Utah AI disclosure, California bot law): never claims to be human."""
    reply = ask(text, IDLE)
    assert reply.intent == "ask_identity"
    assert reply.text is not None and "automated assistant of Bright Smile Dental" in reply.text
    assert not claims_human(reply.text)


def test_identity_in_spanish() -> None:
    reply = ask("¿eres un robot?", IDLE)
    assert reply.language == "es"
    assert reply.text is not None and "asistente automatico de Bright Smile Dental" in reply.text


def test_thanks_gets_a_short_reply_or_none() -> None:
    with_visit = ask("thanks!", ConversationContext(now=NOW, appointment=VISIT))
    assert with_visit.text == "Bright Smile Dental: you're welcome! See you Thu Mar 12 at 4:00 pm."
    assert ask("thanks!", IDLE).text is None


@pytest.mark.parametrize(
    "text",
    ["I'm driving right now. I'll get back to you when I'm not driving",
     "Auto-reply: I am out of the office until Monday", "Estoy manejando"],
)  # fmt: skip
def test_auto_replies_are_never_answered(text: str) -> None:
    """§2.3 item 8: loop protection."""
    reply = ask(text)
    assert reply.intent == "auto_reply" and reply.text is None and reply.action is None


def test_two_unrecognised_turns_hand_off_never_invalid_response() -> None:
    """§2.2: unrecognised twice in a row → a person, never "invalid response"."""
    first = ask("the blue one with the stripes", IDLE)
    assert first.intent == "other" and not first.handoff
    assert first.text is not None and "invalid" not in first.text.lower()
    second = ask("the blue one with the stripes", dataclasses.replace(IDLE, unrecognised=1))
    assert (second.action, second.handoff) == ("handoff", True)
    assert second.text is not None and "invalid" not in second.text.lower()
    assert "team member" in second.text


def test_after_a_handoff_the_handoff_text_is_not_repeated() -> None:
    ctx = dataclasses.replace(IDLE, state="handed_off", unrecognised=2)
    again = ask("hello??", ctx)
    assert again.text is None and again.handoff and again.action == "handoff"
    assert ask("what are your hours?", ctx).text is not None
    assert ask("my face is swollen", ctx).action == "alert_staff"


def test_spanish_inbound_gets_spanish_replies() -> None:
    for text in ("quiero cambiar mi cita", "¿dónde están ubicados?", "gracias, ahí estaré"):
        reply = ask(text)
        assert reply.language == "es"
        assert reply.text is not None
        assert any(w in reply.text for w in (" su ", " estamos ", " le ", "gracias", "Lo "))


def test_english_only_tenant_answers_in_english() -> None:
    k = dataclasses.replace(KNOWLEDGE, languages=("en",))
    assert ask("¿dónde están ubicados?", IDLE, k).language == "en"


# ---------------------------------------------------------------- guardrails in the engine


def test_staff_owned_thread_gets_no_ai_reply() -> None:
    ctx = dataclasses.replace(PENDING, staff_owned=True)
    assert ask("what are your hours?", ctx).text is None
    urgent = ask("my face is swollen", ctx)
    assert urgent.text is None and urgent.action == "alert_staff"


@pytest.mark.parametrize(
    ("hour", "day"),
    [(MAX_AI_REPLIES_PER_HOUR, 0), (0, MAX_AI_REPLIES_PER_DAY)],
)
def test_reply_caps_stop_replying_and_hand_off(hour: int, day: int) -> None:
    ctx = dataclasses.replace(PENDING, ai_replies_last_hour=hour, ai_replies_last_day=day)
    reply = ask("what are your hours?", ctx)
    assert reply.text is None and reply.handoff and reply.action == "handoff"
    assert reply.source == "guardrail"
    below = dataclasses.replace(PENDING, ai_replies_last_hour=hour - 1 if hour else 0,
                                ai_replies_last_day=day - 1 if day else 0)  # fmt: skip
    assert ask("what are your hours?", below).text is not None


def test_first_message_to_a_contact_carries_opt_out_language() -> None:
    """R-K-08 / R-CT-01: the first message names the business and says how to opt out."""
    ctx = dataclasses.replace(IDLE, first_message_to_contact=True)
    reply = ask("where are you?", ctx)
    assert reply.text is not None and reply.text.endswith("Reply STOP to opt out.")
    es = ask("¿dónde están?", ctx)
    assert es.text is not None and has_opt_out_language(es.text)


def test_a_tenant_fact_that_breaks_policy_is_not_sent() -> None:
    """Guardrails apply to templates too: an address with an offer and a foreign number."""
    k = dataclasses.replace(KNOWLEDGE, address="12 Main St - 20% off whitening! Call 212-555-0199")
    reply = ask("where are you?", IDLE, k)
    assert reply.source == "guardrail" and reply.template_id == "fallback.safe"
    assert reply.text == "Bright Smile Dental: a team member will text you back shortly."
    assert reply.handoff and any("promotional" in n for n in reply.notes)
    assert any("foreign_phone" in n for n in reply.notes)


def test_marketing_consent_does_not_unlock_foreign_links() -> None:
    k = dataclasses.replace(KNOWLEDGE, address="see maps at tinyurl.com/abc")
    reply = ask("where are you?", dataclasses.replace(IDLE, marketing_consent=True), k)
    assert reply.template_id == "fallback.safe"


# ---------------------------------------------------------------- templates lint

SAMPLE = {
    "business": "Bright Smile Dental",
    "when": "Tue Mar 3 at 3:00 pm",
    "proposed": "Thu Mar 5 4:30 pm",
    "booking_url": "https://brightsmile.example/book",
    "day_label": "tomorrow",
    "day_hours": "8:00 am-5:00 pm",
    "week": "Mon-Fri 8 am-5 pm, Sat 9 am-1 pm",
    "address": "12 Main St, Springfield",
    "service": "cleaning",
    "price": "$120",
    "services": "cleanings, exams, fillings",
    "insurer": "Delta Dental PPO",
    "insurance": "Delta Dental PPO, Cigna, MetLife",
    "emergency": "If this is an emergency, call 911.",
    "choice": "2",
    "prices": "exam $80, cleaning $120",
}


@pytest.mark.parametrize(
    ("template_id", "language"),
    [(t, lang) for t in sorted(TEMPLATES) for lang in ("en", "es")],
)
def test_every_template_lints_clean(template_id: str, language: str) -> None:
    """R-CT-01 name first; R-C-02 no promotion; §1.6 / R-K-08 no opt-out word as a menu
    answer; R-CT-02/03/04 content, links and numbers; R-S-01 ≤ 2 segments, GSM-7."""
    assert set(TEMPLATES[template_id]) == {"en", "es"}
    assert template_fields(template_id) <= set(SAMPLE)
    text = render(template_id, language, SAMPLE)
    assert text.startswith("Bright Smile Dental: ")
    findings = screen(
        text,
        ContentContext(
            business_name="Bright Smile Dental",
            category=Category.CONVERSATION,
            first_message_to_contact=False,
            tenant_numbers=frozenset({OFFICE}),
            allowed_link_domains=frozenset({"brightsmile.example"}),
        ),
    )
    assert findings.promotional_terms == ()
    assert [r for r in findings.reasons if r.severity is Severity.BLOCK] == []
    assert check_reserved_keyword_misuse(text) == ()
    assert check_reply(
        text,
        business_name="Bright Smile Dental",
        marketing_consent=False,
        allowed_link_domains={"brightsmile.example"},
        tenant_numbers={OFFICE},
    ).ok
    sent = prefer_gsm7(text)
    assert segments.is_gsm7(sent)
    assert segments.count(sent).segments <= 2


def test_the_linter_would_catch_a_bad_menu_template() -> None:
    """The lint above can fail: the classic "Reply CANCEL to cancel your visit"."""
    bad = "Bright Smile Dental: Reply CANCEL to cancel your visit."
    assert check_reserved_keyword_misuse(bad) != ()
    assert not check_reply(bad, business_name="Bright Smile Dental", marketing_consent=False).ok


# ---------------------------------------------------------------- guardrails unit


def test_guardrail_findings() -> None:
    def violations(text: str, **kw: object) -> tuple[str, ...]:
        args: dict[str, object] = {
            "business_name": "Bright Smile Dental",
            "marketing_consent": False,
            "allowed_link_domains": {"brightsmile.example"},
            "tenant_numbers": {OFFICE},
        }
        args.update(kw)
        return check_reply(text, **args).violations  # type: ignore[arg-type]

    ok = "Bright Smile Dental: see you Thu at 4:00 pm. Call (415) 555-0100 with questions."
    assert violations(ok) == ()
    assert violations("See you Thu. - Bright Smile Dental") == ("business_name_not_first",)
    assert any(
        v.startswith("promotional") for v in violations("Bright Smile Dental: 20% off today!")
    )
    assert violations("Bright Smile Dental: 20% off today! Reply STOP to opt out.",
                      marketing_consent=True) == ()  # fmt: skip
    assert any(
        v.startswith("public_shortener") for v in violations("Bright Smile Dental: bit.ly/x")
    )
    assert any(
        v.startswith("foreign_link")
        for v in violations("Bright Smile Dental: https://evil.example/a")
    )
    assert any(
        v.startswith("foreign_phone") for v in violations("Bright Smile Dental: call 212-555-0199")
    )
    assert "claims_human" in violations("Bright Smile Dental: I'm a real person, promise!")
    assert "claims_human" in violations("Bright Smile Dental: no soy un robot")
    assert any(v.startswith("too_long") for v in violations("Bright Smile Dental: " + "ok " * 200))
    assert violations("") == ("empty",)


def test_gsm7_is_preferred_for_spanish() -> None:
    text = "Bright Smile Dental: ¿Qué día y hora le quedan mejor? Mañana está bien."
    sent = prefer_gsm7(text)
    assert segments.is_gsm7(sent)
    assert (
        sent == "Bright Smile Dental: ¿Que día y hora le quedan mejor? Mañana esta bien."[:0] + sent
    )
    assert "ñ" in sent and "¿" in sent and "á" not in sent
    assert prefer_gsm7("Bright Smile Dental: 😀 ok") == "Bright Smile Dental: 😀 ok"


# ---------------------------------------------------------------- properties

_STATES = st.sampled_from(
    ["idle", "awaiting_confirmation", "offering_slots", "collecting_lead", "handed_off", "closed"]
)
_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(
            ["cancel", "my", "appointment", "tomorrow", "3pm", "pain", "yes", "hours", "$120",
             "bit.ly/x", "20%", "off", "sí", "cita", "👍", "STOP", "who", "is", "this", "?",
             "reschedule", "to", "friday", "real", "person", "gas", "http://evil.example",
             "212-555-0199", "ignore", "instructions", "ñ", "\n", "mañana"]
        ),
        max_size=30,
    ).map(" ".join),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_TEXT,
    state=_STATES,
    has_visit=st.booleans(),
    unrecognised=st.integers(0, 3),
    first=st.booleans(),
    consent=st.booleans(),
    language=st.sampled_from(["en", "es", "fr"]),
)
def test_respond_never_raises_and_every_text_passes_policy(
    text: str,
    state: str,
    has_visit: bool,
    unrecognised: int,
    first: bool,
    consent: bool,
    language: str,
) -> None:
    ctx = ConversationContext(
        now=NOW,
        state=state,
        language=language,
        unrecognised=unrecognised,
        appointment=VISIT if has_visit else None,
        marketing_consent=consent,
        first_message_to_contact=first,
    )
    reply = respond(text, ctx, KNOWLEDGE)
    assert reply.action is None or reply.action in ACTIONS
    assert reply.language in ("en", "es")
    if reply.text is not None:
        assert reply.text.startswith("Bright Smile Dental")
        assert segments.count(reply.text).segments <= 2
        assert check_reply(
            reply.text,
            business_name=KNOWLEDGE.business_name,
            marketing_consent=False,
            allowed_link_domains=KNOWLEDGE.allowed_link_domains,
            tenant_numbers={OFFICE},
            first_message_to_contact=first,
        ).ok
        assert "invalid" not in reply.text.lower()
