"""The gate decides every outbound message; each test names the rule it checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain import gate, quiet_hours
from frontdesk.domain.consent import ConsentEvent, EventKind, Method, Scope, fold
from frontdesk.domain.messages import Category, Status

NOW = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # Tue 11:00 New York, 08:00 Los Angeles
TENANT = gate.TenantFacts(
    name="Bright Smile Dental", timezone="America/New_York", numbers=frozenset({"+14155550100"})
)
INFO = fold(
    [ConsentEvent(EventKind.GRANTED, Scope.INFORMATIONAL, Method.WEB_FORM, NOW - timedelta(days=3))]
)
WRITTEN = fold(
    [
        ConsentEvent(
            EventKind.GRANTED, Scope.INFORMATIONAL, Method.WEB_FORM, NOW - timedelta(days=3)
        ),
        ConsentEvent(
            EventKind.GRANTED,
            Scope.MARKETING,
            Method.WEB_FORM,
            NOW - timedelta(days=3),
            written=True,
        ),
    ]
)
REMINDER = (
    "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm. "
    "Reply STOP to opt out."
)
PROMO = "Bright Smile Dental: whitening is 20% off this week! Reply STOP to opt out."
FL = "+13055550142"


def decide(
    body: str = REMINDER,
    category: Category = Category.APPOINTMENT_REMINDER,
    to: str = FL,
    now: datetime = NOW,
    **contact: object,
) -> gate.Decision:
    facts = gate.Facts(
        tenant=TENANT, contact=gate.ContactFacts(consent=contact.pop("consent", INFO), **contact)
    )  # type: ignore[arg-type]
    return gate.evaluate(gate.MessageRequest(to=to, body=body, category=category), facts, now)


def test_R_C_01_consented_reminder_is_queued_with_no_reasons() -> None:
    d = decide()
    assert d.allowed and d.status is Status.QUEUED and d.reasons == ()


def test_R_C_01_no_consent_blocks() -> None:
    assert decide(consent=fold([])).codes == ("no_consent",)


def test_R_C_02_dual_purpose_reminder_is_marketing_and_needs_written_consent() -> None:
    body = (
        "Bright Smile Dental: your cleaning is Tuesday. Book a whitening for 20% off! "
        "Reply STOP to opt out."
    )
    d = decide(body)
    assert d.effective_category is Category.MARKETING
    assert "marketing_requires_written_consent" in d.codes
    assert decide(body, consent=WRITTEN).allowed


def test_R_FCC_02_opted_out_blocks_everything_but_the_one_confirmation() -> None:
    assert decide(opted_out=True).codes == ("opted_out",)
    conf = decide(
        "Bright Smile Dental: you're unsubscribed and won't get more texts from us. "
        "Reply START to resubscribe.",
        Category.OPT_OUT_CONFIRMATION,
        opted_out=True,
    )
    assert conf.allowed


def test_R_FCC_06_marketing_only_revocation_keeps_reminders() -> None:
    assert decide(opted_out=True, opted_out_scope="marketing").allowed
    assert decide(
        PROMO, Category.MARKETING, consent=WRITTEN, opted_out=True, opted_out_scope="marketing"
    ).codes == ("opted_out",)


def test_R_FCC_03_second_confirmation_and_late_confirmation_are_dropped() -> None:
    body = (
        "Bright Smile Dental: you're unsubscribed and won't get more texts from us. "
        "Reply START to resubscribe."
    )
    assert decide(
        body, Category.OPT_OUT_CONFIRMATION, opted_out=True, confirmations_for_revocation=1
    ).codes == ("confirmation_already_sent",)
    late = gate.evaluate(
        gate.MessageRequest(
            to=FL,
            body=body,
            category=Category.OPT_OUT_CONFIRMATION,
            revocation_at=NOW - timedelta(minutes=6),
        ),
        gate.Facts(tenant=TENANT, contact=gate.ContactFacts(opted_out=True)),
        NOW,
    )
    assert late.codes == ("confirmation_too_late",)


def test_R_E_03_a_number_the_carrier_reported_unknown_or_landline_is_not_texted() -> None:
    assert decide(not_sms_capable="landline").codes == ("number_not_sms_capable",)
    assert decide(not_sms_capable="invalid").reasons[0].rule == "R-E-03"


def test_R_K_02_under_review_holds_proactive_sends_but_not_replies_in_the_thread() -> None:
    assert decide(under_review=True).codes == ("under_review",)
    assert decide(
        "Bright Smile Dental: we open at 8. Reply STOP to opt out.",
        Category.CONVERSATION,
        under_review=True,
    ).allowed


def test_R_R_06_suspended_tenant_blocks_but_help_replies_pass() -> None:
    suspended = gate.Facts(
        tenant=gate.TenantFacts(name="Bright Smile Dental", suspended=True),
        contact=gate.ContactFacts(consent=INFO),
    )
    d = gate.evaluate(
        gate.MessageRequest(to=FL, body=REMINDER, category=Category.APPOINTMENT_REMINDER),
        suspended,
        NOW,
    )
    assert d.codes == ("tenant_suspended",)


def test_R_CT_03_public_shortener_blocks() -> None:
    d = decide("Bright Smile Dental: book at bit.ly/abc. Reply STOP to opt out.")
    assert "public_url_shortener" in d.codes


def test_R_CT_01_first_message_must_name_the_business() -> None:
    d = decide("Your cleaning is Tue at 3:00 pm. Reply STOP to opt out.")
    assert "missing_business_name" in d.codes


def test_R_K_08_marketing_needs_opt_out_language() -> None:
    d = decide("Bright Smile Dental: whitening 20% off!", Category.MARKETING, consent=WRITTEN)
    assert "missing_opt_out_language" in d.codes


NO_STOP = "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm."


def test_R_K_08_recurring_messages_repeat_the_opt_out_instructions_monthly() -> None:
    """CTIA practice: opt-out instructions at least monthly in a recurring program."""
    fresh = decide(NO_STOP, first_message=False, last_opt_out_notice_at=NOW - timedelta(days=29))
    assert fresh.allowed and "missing_opt_out_language" not in fresh.codes
    stale = decide(NO_STOP, first_message=False, last_opt_out_notice_at=NOW - timedelta(days=31))
    assert not stale.allowed
    [reason] = [r for r in stale.reasons if r.code == "missing_opt_out_language"]
    assert reason.rule == "R-K-08" and "30 days" in reason.message
    never = decide(NO_STOP, first_message=False, last_opt_out_notice_at=None)
    assert "missing_opt_out_language" in never.codes
    repeated = decide(REMINDER, first_message=False, last_opt_out_notice_at=None)
    assert repeated.allowed and repeated.reasons == ()


def test_R_K_08_the_month_is_counted_to_when_the_message_leaves() -> None:
    last = NOW - timedelta(days=20)
    later = gate.MessageRequest(
        to=FL,
        body=NO_STOP,
        category=Category.APPOINTMENT_REMINDER,
        send_at=NOW + timedelta(days=15),
    )
    contact = gate.ContactFacts(consent=INFO, first_message=False, last_opt_out_notice_at=last)
    d = gate.evaluate(later, gate.Facts(tenant=TENANT, contact=contact), NOW)
    assert "missing_opt_out_language" in d.codes


def test_R_K_08_replies_to_the_contact_are_not_a_recurring_program() -> None:
    stale: dict[str, object] = {"first_message": False, "last_opt_out_notice_at": None}
    body = "Bright Smile Dental: we open at 8 am tomorrow."
    assert "missing_opt_out_language" not in decide(body, Category.CONVERSATION, **stale).codes
    for category in gate.RECURRING_PROGRAMS:
        assert gate.opt_out_notice_due(category, gate.ContactFacts(first_message=False), NOW)
    first = gate.ContactFacts(first_message=True)
    assert not gate.opt_out_notice_due(Category.APPOINTMENT_REMINDER, first, NOW)


def test_R_S_01_body_over_1600_characters_blocks_and_over_2_segments_warns() -> None:
    assert "body_too_long" in decide("Bright Smile Dental: " + "a" * 1600).codes
    d = decide(REMINDER + " " + "Please bring your insurance card. " * 8)
    assert d.allowed and d.segments == 3
    assert [w.code.value for w in d.warnings] == ["body_too_long"]


def test_R_Q_04_fourth_automated_message_in_24_hours_is_blocked() -> None:
    recent = tuple(
        gate.RecentSend(
            NOW - timedelta(hours=h), Category.APPOINTMENT_REMINDER, "appointment_reminder"
        )
        for h in (1, 5, 20)
    )
    assert decide(recent=recent).codes == ("frequency_cap",)
    assert decide(recent=recent[:2]).allowed
    assert decide(
        "Bright Smile Dental: we open at 8. Reply STOP to opt out.",
        Category.CONVERSATION,
        recent=recent,
    ).allowed


def test_R_Q_03_fourth_marketing_text_in_24h_to_an_oklahoma_number_is_blocked() -> None:
    tenant = gate.TenantFacts(
        name="Bright Smile Dental", timezone="America/Chicago", frequency_cap=10
    )
    recent = tuple(
        gate.RecentSend(NOW - timedelta(hours=h), Category.MARKETING, "marketing")
        for h in (1, 2, 3)
    )
    facts = gate.Facts(tenant=tenant, contact=gate.ContactFacts(consent=WRITTEN, recent=recent))
    d = gate.evaluate(
        gate.MessageRequest(to="+14055550142", body=PROMO, category=Category.MARKETING), facts, NOW
    )
    assert d.codes == ("frequency_cap",) and d.reasons[0].rule == "R-Q-03"


def test_R_Q_03_florida_reminder_at_2130_moves_to_0800_next_morning() -> None:
    at = datetime(2026, 3, 10, 21, 30, tzinfo=ZoneInfo("America/New_York"))
    d = decide(now=at.astimezone(UTC))
    assert d.status is Status.SCHEDULED and d.codes == ("quiet_hours",)
    assert d.send_at.astimezone(ZoneInfo("America/New_York")) == datetime(
        2026, 3, 11, 8, 0, tzinfo=ZoneInfo("America/New_York")
    )


def test_late_cutoff_reminder_after_the_appointment_starts_is_dropped() -> None:
    facts = gate.Facts(tenant=TENANT, contact=gate.ContactFacts(consent=INFO))
    req = gate.MessageRequest(
        to=FL,
        body=REMINDER,
        category=Category.APPOINTMENT_REMINDER,
        appointment_starts_at=NOW - timedelta(minutes=1),
    )
    assert gate.evaluate(req, facts, NOW).codes == ("appointment_started",)


def test_R_C_01_invalid_number_is_explained() -> None:
    d = decide(to="555")
    assert d.codes[0] == "invalid_number" and d.reasons[0].fix


contacts = st.builds(
    gate.ContactFacts,
    opted_out=st.booleans(),
    opted_out_scope=st.sampled_from(["all", "marketing"]),
    under_review=st.booleans(),
    consent=st.sampled_from([fold([]), INFO, WRITTEN]),
    state=st.sampled_from([None, "FL", "TX", "RI", "CA", "OK", "AZ"]),
)
categories = st.sampled_from(
    [
        c
        for c in Category
        if c
        not in {Category.OPT_OUT_CONFIRMATION, Category.OPT_IN_CONFIRMATION, Category.HELP_REPLY}
    ]
)
bodies = st.sampled_from([REMINDER, PROMO, "Bright Smile Dental: hi. Reply STOP to opt out."])
numbers = st.sampled_from(
    [
        FL,
        "+12085550142",
        "+16025550142",
        "+14055550142",
        "+15125550142",
        "+18005550142",
        "+14155550123",
    ]
)
moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(contacts, categories, bodies, numbers, moments)
def test_property_R_FCC_02_a_suppressed_number_is_never_allowed(
    contact: gate.ContactFacts, category: Category, body: str, to: str, now: datetime
) -> None:
    contact = gate.ContactFacts(
        **{
            **{f: getattr(contact, f) for f in contact.__slots__},
            "opted_out": True,
            "opted_out_scope": "all",
        }
    )
    d = gate.evaluate(
        gate.MessageRequest(to=to, body=body, category=category),
        gate.Facts(tenant=TENANT, contact=contact),
        now,
    )
    assert not d.allowed and "opted_out" in d.codes


@settings(max_examples=300, deadline=None)
@given(contacts, bodies, numbers, moments)
def test_property_R_C_02_no_marketing_is_allowed_without_written_consent(
    contact: gate.ContactFacts, body: str, to: str, now: datetime
) -> None:
    d = gate.evaluate(
        gate.MessageRequest(to=to, body=body, category=Category.MARKETING),
        gate.Facts(tenant=TENANT, contact=contact),
        now,
    )
    if d.allowed:
        assert contact.consent.marketing.granted and contact.consent.marketing.written


@settings(max_examples=300, deadline=None)
@given(contacts, categories, bodies, numbers, moments)
def test_property_R_Q_05_a_deferral_lands_inside_the_window_of_every_candidate_zone(
    contact: gate.ContactFacts, category: Category, body: str, to: str, now: datetime
) -> None:
    d = gate.evaluate(
        gate.MessageRequest(to=to, body=body, category=category),
        gate.Facts(tenant=TENANT, contact=contact),
        now,
    )
    if d.status is Status.SCHEDULED:
        assert d.send_at > now
        loc = quiet_hours.locate(
            quiet_hours.Recipient(e164=to, state=contact.state), TENANT.timezone
        )
        assert quiet_hours.is_allowed(d.send_at, loc)
        for zone in loc.zones:
            local = d.send_at.astimezone(ZoneInfo(zone))
            assert 8 <= local.hour < 21, (zone, local)
