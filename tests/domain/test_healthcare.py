"""R-C-07: a HIPAA covered entity's healthcare texts without consent — only if every
condition of 47 CFR 64.1200(a)(9)(iv) holds; otherwise normal consent applies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain import gate, healthcare
from frontdesk.domain.consent import ConsentEvent, ConsentState, EventKind, Method, Scope, fold
from frontdesk.domain.messages import Category, Status
from frontdesk.domain.reasons import ReasonCode

NOW = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # Tue 11:00 New York
DAY = timedelta(days=1)
BUSINESS = "Bright Smile Dental"
GOOD = (
    "Bright Smile Dental: your cleaning is Tue at 3 pm. Questions? Call (415) 555-0199. "
    "Reply STOP to opt out."
)
LONGER = " Please bring your insurance card, your ID and arrive 10 min early."
COVERED = gate.TenantFacts(name=BUSINESS, timezone="America/New_York", hipaa_exempt_mode=True)
PATIENT = "+12125550142"  # New York: the federal window only


def decide(
    body: str = GOOD,
    category: Category = Category.APPOINTMENT_REMINDER,
    tenant: gate.TenantFacts = COVERED,
    exempt: bool = True,
    now: datetime = NOW,
    **contact: object,
) -> gate.Decision:
    facts = gate.Facts(
        tenant=tenant,
        contact=gate.ContactFacts(consent=ConsentState(), **contact),  # type: ignore[arg-type]
    )
    request = gate.MessageRequest(
        to=PATIENT, body=body, category=category, healthcare_exempt=exempt
    )
    return gate.evaluate(request, facts, now)


def test_R_C_07_a_covered_entitys_reminder_goes_without_consent_and_says_so() -> None:
    d = decide()
    assert d.allowed and d.status is Status.QUEUED and d.reasons == ()
    assert d.healthcare_exempt
    [warning] = [w for w in d.warnings if w.code is ReasonCode.HEALTHCARE_EXEMPT]
    assert warning.rule == "R-C-07"


def test_R_C_07_never_by_itself_and_never_for_a_tenant_not_declared_covered() -> None:
    assert decide(exempt=False).codes == ("no_consent",)
    plain = gate.TenantFacts(name=BUSINESS, timezone="America/New_York")
    d = decide(tenant=plain)
    assert d.codes == ("no_consent",) and not d.healthcare_exempt
    assert "covered entity" in d.reasons[0].message


def test_R_FCC_02_an_opt_out_stops_an_exempt_text_too() -> None:
    d = decide(opted_out=True)
    assert not d.allowed and "opted_out" in d.codes and not d.healthcare_exempt


def test_R_C_07_a_revocation_on_record_is_never_overridden() -> None:
    """Staff lifted the suppression, but the patient never opted back in."""
    revoked = fold(
        [
            ConsentEvent(EventKind.GRANTED, Scope.INFORMATIONAL, Method.WEB_FORM, NOW - 9 * DAY),
            ConsentEvent(EventKind.REVOKED, Scope.INFORMATIONAL, Method.INBOUND_SMS, NOW - DAY),
        ]
    )
    facts = gate.Facts(tenant=COVERED, contact=gate.ContactFacts(consent=revoked))
    request = gate.MessageRequest(
        to=PATIENT, body=GOOD, category=Category.APPOINTMENT_REMINDER, healthcare_exempt=True
    )
    d = gate.evaluate(request, facts, NOW)
    assert not d.allowed and d.codes == ("no_consent",) and not d.healthcare_exempt
    assert "revoked" in d.reasons[0].message


def test_R_C_07_each_unmet_condition_is_named() -> None:
    cases = {
        "marketing": (GOOD, Category.MARKETING, "not a healthcare message"),
        "transactional": (GOOD, Category.TRANSACTIONAL, "not a healthcare message"),
        "long": (GOOD + LONGER, None, "160"),
        "emoji": (GOOD.replace("cleaning", "cleaning 🦷"), None, "GSM-7"),
        "no name": (GOOD.replace("Bright Smile Dental: ", ""), None, "name the provider"),
        "no contact": (GOOD.replace(" Questions? Call (415) 555-0199.", ""), None, "contact"),
        "no opt-out": (GOOD.replace(" Reply STOP to opt out.", ""), None, "opt-out"),
        "billing": (GOOD.replace("cleaning", "balance of $40"), None, "financial"),
        "copay": (GOOD.replace("cleaning", "copay visit"), None, "financial"),
    }
    for name, (body, category, words) in cases.items():
        d = decide(body, category or Category.APPOINTMENT_REMINDER)
        assert not d.allowed and "no_consent" in d.codes, name
        assert not d.healthcare_exempt, name
        [reason] = [r for r in d.reasons if r.code is ReasonCode.NO_CONSENT]
        assert reason.rule == "R-C-07" and words in reason.message, (name, reason.message)


def test_R_C_07_one_a_day_three_a_week_per_patient() -> None:
    assert decide(exempt_sends=(NOW - 23 * timedelta(hours=1),)).codes == ("no_consent",)
    assert decide(exempt_sends=(NOW + 23 * timedelta(hours=1),)).codes == ("no_consent",)
    assert decide(exempt_sends=(NOW - 25 * timedelta(hours=1),)).allowed
    week = (NOW - 6 * DAY, NOW - 4 * DAY, NOW - 2 * DAY)
    d = decide(exempt_sends=week)
    assert not d.allowed and "3 exempt messages in 7 days" in d.reasons[0].message
    assert decide(exempt_sends=(NOW - 8 * DAY, NOW - 5 * DAY, NOW - 2 * DAY)).allowed


def test_R_Q_01_quiet_hours_still_bind_an_exempt_text() -> None:
    night = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # 23:00 in New York
    d = decide(now=night)
    assert d.allowed and d.status is Status.SCHEDULED and d.healthcare_exempt
    assert d.send_at == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # 08:00 EDT


def _windows_hold(times: list[datetime]) -> bool:
    """Oracle: every rolling 24 h window holds at most 1, every 7-day window at most 3."""
    for start in times:
        if sum(1 for t in times if start <= t < start + DAY) > healthcare.PER_DAY:
            return False
        if sum(1 for t in times if start <= t < start + 7 * DAY) > healthcare.PER_WEEK:
            return False
    return True


hours = st.integers(-20 * 24, 20 * 24)


@settings(max_examples=400, deadline=None, database=None)
@given(st.lists(hours, max_size=6, unique=True), hours)
def test_R_C_07_the_limits_hold_in_every_rolling_window(offsets: list[int], new: int) -> None:
    sends = [NOW + timedelta(hours=h) for h in offsets]
    if not _windows_hold(sends):
        return  # only histories the limits could have produced
    at = NOW + timedelta(hours=new)
    verdict = healthcare.within_limits(sends, at)
    if at in sends:
        assert verdict is not None
        return
    assert (verdict is None) == _windows_hold([*sends, at]), (sends, at, verdict)
