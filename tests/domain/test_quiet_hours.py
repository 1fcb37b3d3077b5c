"""Quiet hours and recipient locality: R-Q-01, R-Q-02, R-Q-03, R-Q-05; traps T-14, T-15, T-16."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from frontdesk.domain.holidays import is_holiday
from frontdesk.domain.messages import Category
from frontdesk.domain.quiet_hours import (
    FEDERAL_RULE,
    SEARCH_DAYS,
    STATE_RULES,
    Locality,
    QuietHoursDecision,
    Recipient,
    _first_instant_at_or_after,
    applies_to,
    check,
    is_allowed,
    locate,
    next_allowed,
    subject_cap,
    validate_window,
    windows_on,
)

NY = ZoneInfo("America/New_York")
CHI = ZoneInfo("America/Chicago")
DEN = ZoneInfo("America/Denver")
PHX = ZoneInfo("America/Phoenix")
LA = ZoneInfo("America/Los_Angeles")
BOISE = ZoneInfo("America/Boise")

MIAMI = "+13055550123"
TAMPA = "+18135550123"
PROVIDENCE = "+14015550123"
DALLAS = "+12145550123"
BIRMINGHAM = "+12055550123"
NEW_ORLEANS = "+15045550123"
PHOENIX = "+16025550123"
BOISE_NUMBER = "+12085550123"
MANHATTAN = "+12125550123"
TOLL_FREE = "+18005550123"

TENANT_TZ = "America/Chicago"


def oracle_allowed(t: datetime, zones: tuple[str, ...], states: frozenset[str]) -> bool:
    """Reference reading of the rule tables: every rule must hold in every zone."""
    rules = [FEDERAL_RULE, *(STATE_RULES[s] for s in states if s in STATE_RULES)]
    for name in zones:
        local = t.astimezone(ZoneInfo(name))
        day, minute = local.date(), local.hour * 60 + local.minute
        for rule in rules:
            if day < rule.effective:
                continue
            if rule.no_holidays and is_holiday(rule.state, day):
                return False
            hours = rule.hours[day.weekday()]
            if hours is None or not hours[0] <= minute < hours[1]:
                return False
    return True


def marketing(now: datetime, recipient: Recipient) -> tuple[bool, datetime | None, str]:
    decision = check(now, recipient, Category.MARKETING, tenant_timezone=TENANT_TZ)
    return decision.allowed, decision.next_allowed, decision.rule


# ------------------------------------------------------------------ R-Q-01 / R-Q-03 windows


def test_r_q_03_florida_number_at_2001_local_is_deferred_to_0800_next_morning() -> None:
    allowed, when, rule = marketing(datetime(2026, 3, 3, 20, 1, tzinfo=NY), Recipient(MIAMI))
    assert not allowed
    assert when == datetime(2026, 3, 4, 8, 0, tzinfo=NY)
    assert when is not None and when.tzinfo is UTC
    assert rule == "R-Q-03 FL 08:00–20:00"


def test_r_q_03_florida_number_at_1959_local_is_allowed() -> None:
    allowed, when, _ = marketing(datetime(2026, 3, 3, 19, 59, 59, tzinfo=NY), Recipient(MIAMI))
    assert allowed and when is None


def test_r_q_02_r_q_03_reminder_scheduled_for_2130_in_florida_moves_to_0800_next_morning() -> None:
    decision = check(
        datetime(2026, 6, 10, 21, 30, tzinfo=NY),
        Recipient(TAMPA),
        Category.APPOINTMENT_REMINDER,
        tenant_timezone=TENANT_TZ,
    )
    assert not decision.allowed
    assert decision.next_allowed == datetime(2026, 6, 11, 8, 0, tzinfo=NY)
    assert "America/New_York" in decision.explanation
    assert "08:00" in decision.explanation


def test_r_q_01_federal_window_for_a_state_without_its_own_rule() -> None:
    assert marketing(datetime(2026, 3, 3, 20, 30, tzinfo=NY), Recipient(MANHATTAN))[0]
    allowed, when, rule = marketing(datetime(2026, 3, 3, 21, 0, tzinfo=NY), Recipient(MANHATTAN))
    assert not allowed
    assert when == datetime(2026, 3, 4, 8, 0, tzinfo=NY)
    assert rule == "R-Q-01 federal 08:00–21:00"


def test_r_q_03_rhode_island_sunday_is_deferred_to_monday_0900() -> None:
    allowed, when, rule = marketing(datetime(2026, 3, 15, 10, 0, tzinfo=NY), Recipient(PROVIDENCE))
    assert not allowed
    assert when == datetime(2026, 3, 16, 9, 0, tzinfo=NY)
    assert rule == "R-Q-03 RI no Sundays"


def test_r_q_03_rhode_island_saturday_window_is_1000_to_1700() -> None:
    saturday = datetime(2026, 3, 14, 9, 30, tzinfo=NY)
    assert marketing(saturday, Recipient(PROVIDENCE))[1] == datetime(2026, 3, 14, 10, tzinfo=NY)
    late = datetime(2026, 3, 14, 17, 0, tzinfo=NY)
    assert marketing(late, Recipient(PROVIDENCE))[1] == datetime(2026, 3, 16, 9, tzinfo=NY)


def test_r_q_03_rhode_island_weekday_ends_at_1800() -> None:
    assert marketing(datetime(2026, 3, 10, 17, 59, tzinfo=NY), Recipient(PROVIDENCE))[0]
    when = marketing(datetime(2026, 3, 10, 18, 0, tzinfo=NY), Recipient(PROVIDENCE))[1]
    assert when == datetime(2026, 3, 11, 9, 0, tzinfo=NY)


def test_r_q_03_texas_sunday_1000_is_deferred_to_1200() -> None:
    allowed, when, rule = marketing(datetime(2026, 3, 15, 10, 0, tzinfo=CHI), Recipient(DALLAS))
    assert not allowed
    assert when == datetime(2026, 3, 15, 12, 0, tzinfo=CHI)
    assert rule == "R-Q-03 TX Sun 12:00–21:00"


def test_r_q_03_texas_weekday_starts_at_0900() -> None:
    when = marketing(datetime(2026, 3, 16, 8, 30, tzinfo=CHI), Recipient(DALLAS))[1]
    assert when == datetime(2026, 3, 16, 9, 0, tzinfo=CHI)


def test_r_q_03_texas_rule_applies_from_its_effective_date_sept_1_2025() -> None:
    assert marketing(datetime(2025, 8, 31, 10, 0, tzinfo=CHI), Recipient(DALLAS))[0]
    assert not marketing(datetime(2025, 9, 7, 10, 0, tzinfo=CHI), Recipient(DALLAS))[0]


def test_r_q_03_alabama_on_christmas_is_deferred_to_the_next_business_day() -> None:
    christmas = datetime(2025, 12, 25, 10, 0, tzinfo=CHI)
    allowed, when, rule = marketing(christmas, Recipient(BIRMINGHAM))
    assert not allowed
    assert when == datetime(2025, 12, 26, 8, 0, tzinfo=CHI)
    assert rule == "R-Q-03 AL no state holidays (Christmas Day)"


def test_r_q_03_alabama_christmas_on_saturday_then_sunday_ban_defers_to_monday() -> None:
    when = marketing(datetime(2027, 12, 25, 12, 0, tzinfo=CHI), Recipient(BIRMINGHAM))[1]
    assert when == datetime(2027, 12, 27, 8, 0, tzinfo=CHI)


def test_r_q_03_louisiana_mardi_gras_is_a_no_text_day() -> None:
    mardi_gras = datetime(2026, 2, 17, 10, 0, tzinfo=CHI)
    allowed, when, rule = marketing(mardi_gras, Recipient(NEW_ORLEANS))
    assert not allowed
    assert when == datetime(2026, 2, 18, 8, 0, tzinfo=CHI)
    assert "Mardi Gras" in rule


def test_r_q_03_louisiana_day_after_thanksgiving_then_saturday_allowed() -> None:
    when = marketing(datetime(2026, 11, 26, 9, 0, tzinfo=CHI), Recipient(NEW_ORLEANS))[1]
    assert when == datetime(2026, 11, 28, 8, 0, tzinfo=CHI)


def test_r_q_03_strictest_of_several_states_wins() -> None:
    """Kentucky starts at 10:00, Florida ends at 20:00: the window is 10:00–20:00."""
    loc = Locality(("America/New_York",), frozenset({"KY", "FL"}), "state")
    assert next_allowed(datetime(2026, 3, 3, 9, 0, tzinfo=NY), loc) == datetime(
        2026, 3, 3, 10, 0, tzinfo=NY
    )
    assert next_allowed(datetime(2026, 3, 3, 20, 0, tzinfo=NY), loc) == datetime(
        2026, 3, 4, 10, 0, tzinfo=NY
    )


def test_r_q_03_pennsylvania_uses_the_stricter_reading_no_sundays() -> None:
    loc = Locality(("America/New_York",), frozenset({"PA"}), "state")
    sunday = datetime(2026, 3, 15, 14, 0, tzinfo=NY)
    assert next_allowed(sunday, loc) == datetime(2026, 3, 16, 8, 0, tzinfo=NY)
    assert "stricter" in STATE_RULES["PA"].note


def test_r_q_03_state_rules_are_data_with_rule_ids_and_effective_dates() -> None:
    expected = {
        "FL", "OK", "MD", "WA", "NJ", "MA", "MS", "AL", "LA", "CT", "TX", "RI", "UT",
        "KY", "MI", "MN", "NM", "NV", "VA", "PA",
    }  # fmt: skip
    assert set(STATE_RULES) == expected
    for state, rule in STATE_RULES.items():
        assert rule.state == state
        assert rule.rule_id == "R-Q-03"
        assert isinstance(rule.effective, date)
        assert len(rule.hours) == 7
        assert rule.source
    assert STATE_RULES["CT"].hours[0] == (9 * 60, 20 * 60)
    assert STATE_RULES["KY"].hours[3] == (10 * 60, 21 * 60)
    assert STATE_RULES["NV"].hours[5] == (9 * 60, 20 * 60)


# ------------------------------------------------------------------ T-16 per-subject caps


@pytest.mark.parametrize("state", ["FL", "OK", "MD"])
def test_t_16_subject_cap_is_3_for_florida_oklahoma_maryland(state: str) -> None:
    assert subject_cap(frozenset({state})) == 3
    assert subject_cap(frozenset({state, "NY"})) == 3


def test_t_16_no_subject_cap_elsewhere() -> None:
    assert subject_cap(frozenset({"NY", "TX", "RI"})) is None
    assert subject_cap(frozenset()) is None


# ------------------------------------------------------------------ R-Q-05 locality, T-14


def test_r_q_05_arizona_has_no_dst_so_it_differs_from_denver_in_summer() -> None:
    summer = datetime(2026, 7, 15, 20, 30, tzinfo=PHX)
    assert marketing(summer, Recipient(PHOENIX))[0]
    arizona_contact = Recipient(PHOENIX, state="AZ")
    loc = locate(arizona_contact, TENANT_TZ)
    assert set(loc.zones) == {"America/Phoenix", "America/Denver"}
    allowed, when, _ = marketing(summer, arizona_contact)
    assert not allowed
    assert when == datetime(2026, 7, 16, 8, 0, tzinfo=PHX)
    assert when.astimezone(DEN).hour == 9


def test_r_q_05_arizona_and_denver_agree_in_winter() -> None:
    assert marketing(datetime(2026, 1, 15, 20, 30, tzinfo=PHX), Recipient(PHOENIX, state="AZ"))[0]


def test_r_q_05_boise_208_uses_the_intersection_of_mountain_and_pacific() -> None:
    loc = locate(Recipient(BOISE_NUMBER), TENANT_TZ)
    assert {"America/Boise", "America/Los_Angeles"} <= set(loc.zones)
    assert loc.states == frozenset({"ID"})
    assert loc.source == "number"
    early = datetime(2026, 5, 5, 8, 30, tzinfo=BOISE)
    assert next_allowed(early, loc) == datetime(2026, 5, 5, 8, 0, tzinfo=LA)
    assert is_allowed(datetime(2026, 5, 5, 20, 59, tzinfo=BOISE), loc)
    late = datetime(2026, 5, 5, 21, 0, tzinfo=BOISE)
    assert next_allowed(late, loc) == datetime(2026, 5, 6, 8, 0, tzinfo=LA)


@pytest.mark.parametrize(
    ("number", "state"),
    [
        (MIAMI, "FL"),
        ("+12065550123", "WA"),
        ("+12025550123", "DC"),
        ("+18085550123", "HI"),
        ("+14055550123", "OK"),
        ("+13405550123", "VI"),
        ("+14165550123", None),
        (TOLL_FREE, None),
    ],
)
def test_r_q_05_area_code_state_from_the_numbering_plan(number: str, state: str | None) -> None:
    expected = frozenset() if state is None else frozenset({state})
    assert locate(Recipient(number), TENANT_TZ).states == expected


def test_r_q_03_washington_number_ends_at_2000_pacific() -> None:
    seattle = Recipient("+12065550123")
    allowed, when, rule = marketing(datetime(2026, 3, 3, 20, 0, tzinfo=LA), seattle)
    assert not allowed
    assert when == datetime(2026, 3, 4, 8, 0, tzinfo=LA)
    assert rule == "R-Q-03 WA 08:00–20:00"


def test_r_q_05_split_area_code_florida_panhandle_spans_eastern_and_central() -> None:
    loc = locate(Recipient("+18505550123"), TENANT_TZ)
    assert {"America/New_York", "America/Chicago"} <= set(loc.zones)
    when = next_allowed(datetime(2026, 3, 3, 8, 30, tzinfo=NY), loc)
    assert when == datetime(2026, 3, 3, 8, 0, tzinfo=CHI)


def test_r_q_05_contacts_state_beats_the_area_codes_zone() -> None:
    ten_pm_eastern = datetime(2026, 3, 3, 22, 0, tzinfo=NY)
    assert not marketing(ten_pm_eastern, Recipient(MANHATTAN))[0]
    californian = Recipient(MANHATTAN, state="CA")
    loc = locate(californian, TENANT_TZ)
    assert loc == Locality(("America/Los_Angeles",), frozenset({"CA", "NY"}), "state")
    assert marketing(ten_pm_eastern, californian)[0]


def test_r_q_05_postal_code_gives_the_state_when_no_state_is_given() -> None:
    loc = locate(Recipient(MANHATTAN, postal_code="90210-1234"), TENANT_TZ)
    assert loc == Locality(("America/Los_Angeles",), frozenset({"CA", "NY"}), "postal_code")


def test_r_q_05_explicit_zone_used_when_no_address() -> None:
    loc = locate(Recipient(MANHATTAN, timezone="America/Los_Angeles"), TENANT_TZ)
    assert loc == Locality(("America/Los_Angeles",), frozenset({"NY"}), "timezone")


def test_r_q_05_state_takes_precedence_over_explicit_zone() -> None:
    loc = locate(Recipient(MANHATTAN, state="ny", timezone="Asia/Tokyo"), TENANT_TZ)
    assert loc.zones == ("America/New_York",)
    assert loc.source == "state"


def test_r_q_05_unknown_explicit_zone_falls_back_to_the_number() -> None:
    loc = locate(Recipient(MIAMI, timezone="Mars/Olympus_Mons"), TENANT_TZ)
    assert loc.source == "number"
    assert loc.zones == ("America/New_York",)


def test_r_q_05_tenant_zone_is_the_last_resort() -> None:
    loc = locate(Recipient("not a number"), TENANT_TZ)
    assert loc == Locality((TENANT_TZ,), frozenset(), "tenant")


def test_r_q_05_address_state_and_area_code_state_both_apply() -> None:
    """A Miami number whose owner lives in New York: Florida's 20:00 end still binds."""
    new_yorker = Recipient(MIAMI, state="NY")
    assert locate(new_yorker, TENANT_TZ).states == frozenset({"FL", "NY"})
    allowed, _, rule = marketing(datetime(2026, 3, 3, 20, 30, tzinfo=NY), new_yorker)
    assert not allowed
    assert rule == "R-Q-03 FL 08:00–20:00"


def test_r_q_05_florida_contact_window_holds_in_both_florida_zones() -> None:
    floridian = Recipient(MANHATTAN, state="FL")
    assert set(locate(floridian, TENANT_TZ).zones) == {"America/New_York", "America/Chicago"}
    when = marketing(datetime(2026, 3, 3, 8, 30, tzinfo=NY), floridian)[1]
    assert when == datetime(2026, 3, 3, 8, 0, tzinfo=CHI)


def test_r_q_05_toll_free_number_with_many_zones_still_gets_a_window() -> None:
    loc = locate(Recipient(TOLL_FREE), TENANT_TZ)
    assert len(loc.zones) > 20
    now = datetime(2026, 3, 3, 12, 0, tzinfo=NY)
    decision = check(now, Recipient(TOLL_FREE), Category.MARKETING, tenant_timezone=TENANT_TZ)
    assert not decision.allowed
    assert decision.next_allowed is not None
    assert decision.next_allowed - now < timedelta(days=1)
    assert oracle_allowed(decision.next_allowed, loc.zones, loc.states)
    assert "candidate zones" in decision.explanation


def test_r_q_05_no_common_window_raises_and_check_refuses_without_a_time() -> None:
    """Rhode Island's 9-hour weekday window cannot hold in both New York and Shanghai."""
    loc = Locality(("America/New_York", "Asia/Shanghai"), frozenset({"RI"}), "state")
    with pytest.raises(ValueError, match="no common quiet-hours window"):
        next_allowed(datetime(2026, 3, 3, 12, 0, tzinfo=UTC), loc)


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed(datetime(2026, 3, 3, 12, 0), Locality(("UTC",), frozenset(), "tenant"))


# ------------------------------------------------------------------ T-14 DST days


def test_t_14_spring_forward_2026_03_08_new_york_opens_at_0800_edt() -> None:
    loc = locate(Recipient(MANHATTAN), TENANT_TZ)
    before_gap = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert before_gap.astimezone(NY).hour == 1
    assert next_allowed(before_gap, loc) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    evening = datetime(2026, 3, 7, 21, 30, tzinfo=NY)
    assert next_allowed(evening, loc) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert next_allowed(datetime(2026, 3, 8, 20, 59, tzinfo=NY), loc).astimezone(NY).hour == 20
    assert next_allowed(datetime(2026, 3, 9, 1, 0, tzinfo=UTC), loc) == datetime(
        2026, 3, 9, 12, 0, tzinfo=UTC
    )


def test_t_14_fall_back_2026_11_01_new_york_opens_at_0800_est() -> None:
    loc = locate(Recipient(MANHATTAN), TENANT_TZ)
    first_0130 = datetime(2026, 11, 1, 1, 30, tzinfo=NY)
    second_0130 = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY)
    assert first_0130.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_allowed(first_0130, loc) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert next_allowed(second_0130, loc) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert is_allowed(datetime(2026, 11, 2, 1, 59, tzinfo=UTC), loc)
    assert not is_allowed(datetime(2026, 11, 2, 2, 0, tzinfo=UTC), loc)


def test_t_14_local_wall_time_in_the_spring_gap_maps_to_the_transition_instant() -> None:
    assert _first_instant_at_or_after(date(2026, 3, 8), 2 * 60 + 30, NY) == datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )
    assert _first_instant_at_or_after(date(2026, 11, 1), 60 + 30, NY) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_windows_on_reports_each_zone_window_for_explanations() -> None:
    loc = Locality(("America/Boise", "America/Los_Angeles"), frozenset({"ID"}), "number")
    boise, pacific = windows_on(date(2026, 5, 5), loc)
    assert (boise.zone, boise.start) == ("America/Boise", datetime(2026, 5, 5, 14, tzinfo=UTC))
    assert pacific.end == datetime(2026, 5, 6, 4, 0, tzinfo=UTC)
    closed = Locality(("America/New_York",), frozenset({"RI"}), "number")
    assert windows_on(date(2026, 3, 15), closed) == ()


# ------------------------------------------------------------------ R-Q-02 categories, replies


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        (Category.MARKETING, True),
        (Category.APPOINTMENT_REMINDER, True),
        (Category.APPOINTMENT_CONFIRMATION, True),
        (Category.SERVICE_NOTIFICATION, True),
        (Category.TRANSACTIONAL, True),
        (Category.MISSED_CALL_FOLLOWUP, False),
        (Category.CONVERSATION, False),
        (Category.OPT_OUT_CONFIRMATION, False),
        (Category.OPT_IN_CONFIRMATION, False),
        (Category.HELP_REPLY, False),
    ],
)
def test_r_q_02_categories_table(category: Category, expected: bool) -> None:
    assert applies_to(category) is expected


def test_r_q_02_every_category_is_in_the_table() -> None:
    for category in Category:
        applies_to(category)


def test_r_q_02_missed_call_followup_follows_the_tenant_setting() -> None:
    assert applies_to(Category.MISSED_CALL_FOLLOWUP, missed_call_in_quiet_hours=True)
    late = datetime(2026, 3, 3, 23, 0, tzinfo=NY)
    default = check(
        late, Recipient(MIAMI), Category.MISSED_CALL_FOLLOWUP, tenant_timezone=TENANT_TZ
    )
    assert default.allowed
    assert default.rule.startswith("R-Q-02")
    strict = check(
        late,
        Recipient(MIAMI),
        Category.MISSED_CALL_FOLLOWUP,
        tenant_timezone=TENANT_TZ,
        missed_call_in_quiet_hours=True,
    )
    assert not strict.allowed


@pytest.mark.parametrize(
    "category", [Category.OPT_OUT_CONFIRMATION, Category.HELP_REPLY, Category.CONVERSATION]
)
def test_r_q_02_compliance_and_conversation_replies_go_at_any_hour(category: Category) -> None:
    night = datetime(2026, 3, 15, 3, 0, tzinfo=NY)
    assert check(night, Recipient(PROVIDENCE), category, tenant_timezone=TENANT_TZ).allowed


def test_r_q_02_direct_reply_within_15_minutes_is_exempt() -> None:
    now = datetime(2026, 3, 3, 22, 30, tzinfo=NY)

    def decide(inbound_minutes_ago: float, window: int = 15) -> bool:
        return check(
            now,
            Recipient(MIAMI),
            Category.SERVICE_NOTIFICATION,
            tenant_timezone=TENANT_TZ,
            last_inbound_at=now - timedelta(minutes=inbound_minutes_ago),
            reply_exemption_minutes=window,
        ).allowed

    assert decide(10)
    assert decide(15)
    assert not decide(16)
    assert not decide(-1)
    assert not decide(10, window=0)


def test_r_q_01_marketing_is_never_exempt_as_a_direct_reply() -> None:
    now = datetime(2026, 3, 3, 22, 30, tzinfo=NY)
    decision = check(
        now,
        Recipient(MIAMI),
        Category.MARKETING,
        tenant_timezone=TENANT_TZ,
        last_inbound_at=now - timedelta(minutes=1),
    )
    assert not decision.allowed


# ------------------------------------------------------------------ properties (R-Q-02, T-14)

ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Boise",
    "America/Anchorage",
    "America/Adak",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "America/St_Johns",
    "America/Halifax",
    "America/Indiana/Knox",
    "America/Kentucky/Louisville",
    "America/Menominee",
    "America/Regina",
    "Pacific/Guam",
    "Pacific/Pago_Pago",
]
STATES = [*sorted(STATE_RULES), "NY", "CA", "ID", "AZ"]

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
localities = st.builds(
    Locality,
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=4, unique=True).map(tuple),
    states=st.frozensets(st.sampled_from(STATES), max_size=3),
    source=st.just("state"),
)


def _ceil_minute(t: datetime) -> datetime:
    floor = t.replace(second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(minutes=1)


@settings(max_examples=300, deadline=None, database=None)
@given(now=instants, loc=localities)
def test_r_q_05_next_allowed_is_the_earliest_instant_inside_every_zones_window(
    now: datetime, loc: Locality
) -> None:
    """All window edges of these zones fall on :00/:30 UTC, so a 15-minute grid is exact;
    the first and last 180 minutes are also checked minute by minute."""
    try:
        when = next_allowed(now, loc)
    except ValueError:
        event("no common window")
        grid = _ceil_minute(now)
        end = now + timedelta(days=SEARCH_DAYS)
        while grid < end:
            assert not oracle_allowed(grid, loc.zones, loc.states)
            grid += timedelta(minutes=15)
        return
    assert when >= now
    assert when.tzinfo is UTC
    assert oracle_allowed(when, loc.zones, loc.states)
    if when == now:
        event("allowed now")
        return
    event("deferred")
    assert not oracle_allowed(now, loc.zones, loc.states)
    probes: set[datetime] = set()
    minute = _ceil_minute(now)
    for i in range(180):
        probes.add(minute + timedelta(minutes=i))
        probes.add(when - timedelta(minutes=i + 1))
    grid = minute
    while grid < when:
        probes.add(grid)
        grid += timedelta(minutes=15)
    for probe in probes:
        if now <= probe < when:
            assert not oracle_allowed(probe, loc.zones, loc.states), probe


NUMBERS = [MIAMI, PROVIDENCE, DALLAS, BIRMINGHAM, NEW_ORLEANS, PHOENIX, BOISE_NUMBER,
           MANHATTAN, TOLL_FREE, "+18015550123", "+12155550123", "+12705550123",
           "+18505550123", "+14055550123", "+14105550123", "+19075550123"]  # fmt: skip

recipients = st.builds(
    Recipient,
    e164=st.sampled_from(NUMBERS),
    state=st.none() | st.sampled_from(STATES),
    postal_code=st.none() | st.sampled_from(["33101", "02903", "75201", "70112", "84101"]),
    timezone=st.none() | st.sampled_from(ZONES),
)


@settings(max_examples=300, deadline=None, database=None)
@given(now=instants, recipient=recipients)
def test_r_q_02_check_never_allows_marketing_outside_the_window(
    now: datetime, recipient: Recipient
) -> None:
    decision = check(now, recipient, Category.MARKETING, tenant_timezone=TENANT_TZ)
    loc = decision.locality
    assert loc == locate(recipient, TENANT_TZ)
    event("allowed" if decision.allowed else "deferred")
    if decision.allowed:
        assert decision.next_allowed is None
        assert oracle_allowed(now, loc.zones, loc.states)
    else:
        assert not oracle_allowed(now, loc.zones, loc.states)
        assert decision.next_allowed is not None
        assert decision.next_allowed > now
        assert oracle_allowed(decision.next_allowed, loc.zones, loc.states)
        assert decision.rule.startswith(("R-Q-01", "R-Q-03"))


# ------------------------------------------------------------------ R-Q-02 tenant window


def reminder(
    now: datetime, recipient: Recipient, window: tuple[int, int] | None
) -> QuietHoursDecision:
    return check(
        now,
        recipient,
        Category.APPOINTMENT_REMINDER,
        tenant_timezone=TENANT_TZ,
        informational_window=window,
    )


NINE_TO_SIX = (9 * 60, 18 * 60)


def test_r_q_02_a_tenant_window_defers_a_reminder_the_law_would_allow() -> None:
    at = datetime(2026, 6, 10, 8, 30, tzinfo=NY)
    assert reminder(at, Recipient(MANHATTAN), None).allowed
    decision = reminder(at, Recipient(MANHATTAN), NINE_TO_SIX)
    assert not decision.allowed
    assert decision.next_allowed == datetime(2026, 6, 10, 9, 0, tzinfo=NY)
    assert decision.rule == "R-Q-02 tenant window 09:00–18:00"
    assert "window:" not in decision.explanation
    late = reminder(datetime(2026, 6, 10, 18, 0, tzinfo=NY), Recipient(MANHATTAN), NINE_TO_SIX)
    assert late.next_allowed == datetime(2026, 6, 11, 9, 0, tzinfo=NY)


def test_r_q_02_the_window_narrows_the_state_rules_and_never_widens_them() -> None:
    """Florida ends at 20:00 (R-Q-03); a 09:00-21:00 window keeps 20:00 and adds 09:00."""
    fl_evening = datetime(2026, 6, 10, 20, 30, tzinfo=NY)
    decision = reminder(fl_evening, Recipient(MIAMI), (9 * 60, 21 * 60))
    assert decision.next_allowed == datetime(2026, 6, 11, 9, 0, tzinfo=NY)
    assert reminder(datetime(2026, 6, 11, 19, 59, tzinfo=NY), Recipient(MIAMI), (540, 1260)).allowed


@pytest.mark.parametrize(
    "category",
    [Category.MARKETING, Category.CONVERSATION, Category.HELP_REPLY, Category.MISSED_CALL_FOLLOWUP],
)
def test_r_q_02_the_window_binds_only_informational_texts(category: Category) -> None:
    at = datetime(2026, 6, 10, 8, 30, tzinfo=NY)
    plain = check(at, Recipient(MANHATTAN), category, tenant_timezone=TENANT_TZ)
    windowed = check(
        at,
        Recipient(MANHATTAN),
        category,
        tenant_timezone=TENANT_TZ,
        informational_window=(540, 600),
    )
    assert windowed == plain


@pytest.mark.parametrize(
    "window", [(7 * 60, 18 * 60), (9 * 60, 22 * 60), (10 * 60, 9 * 60), (600, 600)]
)
def test_r_q_01_a_window_outside_the_federal_one_is_refused(window: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="08:00–21:00"):
        validate_window(*window)
    with pytest.raises(ValueError):
        reminder(datetime(2026, 6, 10, 12, 0, tzinfo=NY), Recipient(MANHATTAN), window)


windows = st.tuples(st.integers(8 * 60, 20 * 60), st.integers(1, 13 * 60)).map(
    lambda w: (w[0], min(w[0] + w[1], 21 * 60))
)


def in_window(t: datetime, zones: tuple[str, ...], window: tuple[int, int]) -> bool:
    for name in zones:
        local = t.astimezone(ZoneInfo(name))
        if not window[0] <= local.hour * 60 + local.minute < window[1]:
            return False
    return True


@settings(max_examples=300, deadline=None, database=None)
@given(now=instants, recipient=recipients, window=windows)
def test_r_q_02_a_reminder_never_goes_outside_the_tenant_window_or_the_law(
    now: datetime, recipient: Recipient, window: tuple[int, int]
) -> None:
    decision = reminder(now, recipient, window)
    loc = decision.locality
    assert loc == locate(recipient, TENANT_TZ)
    when = now if decision.allowed else decision.next_allowed
    if when is None:
        event("no window")
        return
    event("allowed" if decision.allowed else "deferred")
    assert oracle_allowed(when, loc.zones, loc.states)
    assert in_window(when, loc.zones, window)
