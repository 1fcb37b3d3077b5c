"""State holiday calendars computed per year (R-Q-03, T-15: holidays move each year)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain.holidays import (
    CALENDARS,
    HOLIDAY_STATES,
    easter,
    holiday_name,
    holidays,
    is_holiday,
    last_weekday,
    nth_weekday,
)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2028, date(2028, 4, 16)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_sunday_known_dates(year: int, expected: date) -> None:
    assert easter(year) == expected


@pytest.mark.parametrize(
    ("year", "mardi_gras", "good_friday"),
    [
        (2025, date(2025, 3, 4), date(2025, 4, 18)),
        (2026, date(2026, 2, 17), date(2026, 4, 3)),
        (2027, date(2027, 2, 9), date(2027, 3, 26)),
        (2028, date(2028, 2, 29), date(2028, 4, 14)),
    ],
)
def test_r_q_03_louisiana_moving_holidays_from_easter(
    year: int, mardi_gras: date, good_friday: date
) -> None:
    assert holiday_name("LA", mardi_gras) == "Mardi Gras"
    assert holiday_name("LA", good_friday) == "Good Friday"
    assert holiday_name("LA", mardi_gras - timedelta(days=1)) != "Mardi Gras"
    assert not is_holiday("LA", mardi_gras + timedelta(days=1))


@pytest.mark.parametrize(
    ("year", "thanksgiving"),
    [
        (2025, date(2025, 11, 27)),
        (2026, date(2026, 11, 26)),
        (2027, date(2027, 11, 25)),
        (2028, date(2028, 11, 23)),
    ],
)
def test_r_q_03_thanksgiving_and_louisiana_day_after(year: int, thanksgiving: date) -> None:
    for state in HOLIDAY_STATES:
        assert holiday_name(state, thanksgiving) == "Thanksgiving Day"
    day_after = thanksgiving + timedelta(days=1)
    assert holiday_name("LA", day_after) == "Day after Thanksgiving"
    assert not is_holiday("AL", day_after)


@pytest.mark.parametrize("year", [2025, 2026, 2027, 2028])
def test_r_q_03_utah_pioneer_day_july_24(year: int) -> None:
    assert holiday_name("UT", date(year, 7, 24)) == "Pioneer Day"
    assert not is_holiday("AL", date(year, 7, 24))


def test_r_q_03_utah_saturday_holiday_observed_friday() -> None:
    assert holiday_name("UT", date(2027, 7, 23)) == "Pioneer Day (observed)"
    assert holiday_name("UT", date(2027, 12, 24)) == "Christmas Day (observed)"


def test_r_q_03_new_years_day_on_saturday_observed_in_previous_year_in_utah() -> None:
    assert holiday_name("UT", date(2027, 12, 31)) == "New Year's Day (observed)"
    assert holiday_name("UT", date(2028, 1, 1)) == "New Year's Day"
    assert not is_holiday("AL", date(2027, 12, 31))


@pytest.mark.parametrize("state", ["AL", "MS", "LA", "RI", "UT", "PA"])
def test_r_q_03_sunday_holiday_moves_to_monday(state: str) -> None:
    """AL/MS (and the others here) observe a Sunday holiday on the Monday."""
    assert holiday_name(state, date(2027, 7, 4)) == "Independence Day"
    assert holiday_name(state, date(2027, 7, 5)) == "Independence Day (observed)"


def test_r_q_03_alabama_does_not_move_saturday_holidays() -> None:
    assert is_holiday("AL", date(2027, 12, 25))
    assert not is_holiday("AL", date(2027, 12, 24))
    assert not is_holiday("AL", date(2027, 12, 27))


@pytest.mark.parametrize(
    ("state", "day", "name"),
    [
        ("AL", date(2026, 4, 27), "Confederate Memorial Day"),
        ("AL", date(2026, 6, 1), "Jefferson Davis' Birthday"),
        ("AL", date(2026, 2, 17), "Mardi Gras"),
        ("MS", date(2025, 4, 28), "Confederate Memorial Day"),
        ("MS", date(2026, 5, 25), "Memorial Day / Jefferson Davis' Birthday"),
        ("RI", date(2026, 8, 10), "Victory Day"),
        ("RI", date(2028, 8, 14), "Victory Day"),
        ("RI", date(2026, 11, 3), "Election Day"),
        ("RI", date(2028, 11, 7), "Election Day"),
        ("PA", date(2026, 6, 14), "Flag Day"),
        ("UT", date(2026, 1, 19), "Martin Luther King Jr. Day"),
        ("UT", date(2026, 10, 12), "Columbus Day"),
        ("LA", date(2025, 12, 25), "Christmas Day"),
        ("LA", date(2026, 9, 7), "Labor Day"),
        ("MS", date(2027, 5, 31), "Memorial Day / Jefferson Davis' Birthday"),
    ],
)
def test_r_q_03_named_state_holidays(state: str, day: date, name: str) -> None:
    assert holiday_name(state, day) == name


def test_r_q_03_rhode_island_election_day_only_in_even_years() -> None:
    assert "Election Day" not in holidays("RI", 2025).values()
    assert "Election Day" not in holidays("RI", 2027).values()


def test_juneteenth_only_from_its_enactment_year() -> None:
    assert not is_holiday("UT", date(2021, 6, 18))
    assert holiday_name("UT", date(2022, 6, 20)) == "Juneteenth National Freedom Day (observed)"
    assert not is_holiday("LA", date(2020, 6, 19))
    assert is_holiday("LA", date(2026, 6, 19))


def test_state_without_a_calendar_has_no_holidays() -> None:
    assert holidays("NY", 2026) == {}
    assert not is_holiday("FL", date(2026, 12, 25))


def test_calendar_dates_all_fall_in_the_requested_year() -> None:
    for state in CALENDARS:
        for year in range(2025, 2029):
            assert all(d.year == year for d in holidays(state, year))
            assert len(holidays(state, year)) >= 10


@settings(database=None)
@given(
    year=st.integers(1900, 2200),
    month=st.integers(1, 12),
    weekday=st.integers(0, 6),
    n=st.integers(1, 4),
)
def test_nth_and_last_weekday_helpers(year: int, month: int, weekday: int, n: int) -> None:
    day = nth_weekday(year, month, weekday, n)
    assert (day.year, day.month, day.weekday()) == (year, month, weekday)
    assert (day.day - 1) // 7 == n - 1
    end = last_weekday(year, month, weekday)
    assert (end.month, end.weekday()) == (month, weekday)
    assert (end + timedelta(days=7)).month != month


@settings(database=None)
@given(year=st.integers(1583, 4099))
def test_easter_is_a_sunday_between_march_22_and_april_25(year: int) -> None:
    day = easter(year)
    assert day.weekday() == 6
    assert date(year, 3, 22) <= day <= date(year, 4, 25)
