"""State legal-holiday calendars, computed per year (R-Q-03, T-15).

Several states forbid telephone solicitation on legal holidays (Alabama,
Louisiana, Mississippi, Rhode Island, Utah; Pennsylvania under the stricter
reading). Holidays move each year: Easter-based (Mardi Gras, Good Friday),
"nth weekday" (Thanksgiving and the day after), and fixed dates whose observed
day shifts when they fall on a weekend. Because the rule is a prohibition, both
the calendar date and the observed date count as holidays.

Pure: no I/O, no clock; results are cached per (state, year).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

DateRule = Callable[[int], date | None]


def easter(year: int) -> date:
    """Western (Gregorian) Easter Sunday, anonymous Gregorian algorithm."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based) ``weekday`` (Mon=0) of the month."""
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def last_weekday(year: int, month: int, weekday: int) -> date:
    """The last ``weekday`` (Mon=0) of the month."""
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def fixed(month: int, day: int, since: int | None = None) -> DateRule:
    def rule(year: int) -> date | None:
        return None if since is not None and year < since else date(year, month, day)

    return rule


def nth(month: int, weekday: int, n: int) -> DateRule:
    return lambda year: nth_weekday(year, month, weekday, n)


def last(month: int, weekday: int) -> DateRule:
    return lambda year: last_weekday(year, month, weekday)


def from_easter(days: int) -> DateRule:
    return lambda year: easter(year) + timedelta(days=days)


def after_thanksgiving(year: int) -> date:
    return nth_weekday(year, 11, THU, 4) + timedelta(days=1)


def even_year_election_day(year: int) -> date | None:
    """Tuesday after the first Monday in November, in even years."""
    if year % 2:
        return None
    return nth_weekday(year, 11, MON, 1) + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class HolidayDef:
    name: str
    rule: DateRule
    shifts: bool = True


@dataclass(frozen=True, slots=True)
class StateCalendar:
    """One state's legal holidays and how a weekend holiday is observed."""

    state: str
    holidays: tuple[HolidayDef, ...]
    sunday_to_monday: bool
    saturday_to_friday: bool
    source: str


NEW_YEAR = HolidayDef("New Year's Day", fixed(1, 1))
MLK = HolidayDef("Martin Luther King Jr. Day", nth(1, MON, 3))
WASHINGTON = HolidayDef("Washington's Birthday", nth(2, MON, 3))
MARDI_GRAS = HolidayDef("Mardi Gras", from_easter(-47), shifts=False)
GOOD_FRIDAY = HolidayDef("Good Friday", from_easter(-2), shifts=False)
CONFEDERATE_MEMORIAL_AL = HolidayDef("Confederate Memorial Day", nth(4, MON, 4))
CONFEDERATE_MEMORIAL_MS = HolidayDef("Confederate Memorial Day", last(4, MON))
MEMORIAL = HolidayDef("Memorial Day", last(5, MON))
JEFFERSON_DAVIS_AL = HolidayDef("Jefferson Davis' Birthday", nth(6, MON, 1))
FLAG_DAY = HolidayDef("Flag Day", fixed(6, 14))
JUNETEENTH = HolidayDef("Juneteenth", fixed(6, 19, since=2021))
INDEPENDENCE = HolidayDef("Independence Day", fixed(7, 4))
PIONEER = HolidayDef("Pioneer Day", fixed(7, 24))
VICTORY = HolidayDef("Victory Day", nth(8, MON, 2))
LABOR = HolidayDef("Labor Day", nth(9, MON, 1))
COLUMBUS = HolidayDef("Columbus Day", nth(10, MON, 2))
ELECTION_RI = HolidayDef("Election Day", even_year_election_day, shifts=False)
VETERANS = HolidayDef("Veterans Day", fixed(11, 11))
THANKSGIVING = HolidayDef("Thanksgiving Day", nth(11, THU, 4))
DAY_AFTER_THANKSGIVING = HolidayDef("Day after Thanksgiving", after_thanksgiving)
CHRISTMAS = HolidayDef("Christmas Day", fixed(12, 25))

CALENDARS: Mapping[str, StateCalendar] = MappingProxyType(
    {
        "AL": StateCalendar(
            "AL",
            (
                NEW_YEAR,
                HolidayDef("Robert E. Lee / Martin Luther King Jr. Birthday", nth(1, MON, 3)),
                HolidayDef("George Washington / Thomas Jefferson Birthday", nth(2, MON, 3)),
                # Legal holiday in Baldwin and Mobile counties; county unknown -> stricter.
                MARDI_GRAS,
                CONFEDERATE_MEMORIAL_AL,
                MEMORIAL,
                JEFFERSON_DAVIS_AL,
                INDEPENDENCE,
                LABOR,
                HolidayDef("Columbus Day / American Indian Heritage Day", nth(10, MON, 2)),
                VETERANS,
                THANKSGIVING,
                CHRISTMAS,
            ),
            sunday_to_monday=True,
            saturday_to_friday=False,
            source="Ala. Code 1-3-8 (Sunday holiday observed Monday); vicifast.com, dnc.com",
        ),
        "LA": StateCalendar(
            "LA",
            (
                NEW_YEAR,
                MLK,
                WASHINGTON,
                MARDI_GRAS,
                GOOD_FRIDAY,
                MEMORIAL,
                JUNETEENTH,
                INDEPENDENCE,
                LABOR,
                VETERANS,
                THANKSGIVING,
                DAY_AFTER_THANKSGIVING,
                CHRISTMAS,
            ),
            sunday_to_monday=True,
            saturday_to_friday=False,
            source="La. R.S. 1:55 legal holidays incl. Mardi Gras and day after Thanksgiving "
            "(rules.md R-Q-03); Washington's Birthday and Juneteenth kept (stricter reading)",
        ),
        "MS": StateCalendar(
            "MS",
            (
                NEW_YEAR,
                HolidayDef("Martin Luther King Jr. / Robert E. Lee Birthday", nth(1, MON, 3)),
                WASHINGTON,
                CONFEDERATE_MEMORIAL_MS,
                HolidayDef("Memorial Day / Jefferson Davis' Birthday", last(5, MON)),
                INDEPENDENCE,
                LABOR,
                VETERANS,
                THANKSGIVING,
                CHRISTMAS,
            ),
            sunday_to_monday=True,
            saturday_to_friday=False,
            source="Miss. Code 3-3-7 (Sunday holiday observed Monday)",
        ),
        "RI": StateCalendar(
            "RI",
            (
                NEW_YEAR,
                MLK,
                MEMORIAL,
                INDEPENDENCE,
                VICTORY,
                LABOR,
                COLUMBUS,
                ELECTION_RI,
                VETERANS,
                THANKSGIVING,
                CHRISTMAS,
            ),
            sunday_to_monday=True,
            saturday_to_friday=False,
            source="R.I. Gen. Laws 25-1-1 (incl. Victory Day, Election Day in even years)",
        ),
        "UT": StateCalendar(
            "UT",
            (
                NEW_YEAR,
                MLK,
                WASHINGTON,
                MEMORIAL,
                HolidayDef("Juneteenth National Freedom Day", fixed(6, 19, since=2022)),
                INDEPENDENCE,
                PIONEER,
                LABOR,
                COLUMBUS,
                VETERANS,
                THANKSGIVING,
                CHRISTMAS,
            ),
            sunday_to_monday=True,
            saturday_to_friday=True,
            source="Utah Code 63G-1-301 (Sunday -> Monday, Saturday -> Friday)",
        ),
        "PA": StateCalendar(
            "PA",
            (
                NEW_YEAR,
                MLK,
                WASHINGTON,
                GOOD_FRIDAY,
                MEMORIAL,
                FLAG_DAY,
                JUNETEENTH,
                INDEPENDENCE,
                LABOR,
                COLUMBUS,
                VETERANS,
                THANKSGIVING,
                CHRISTMAS,
            ),
            sunday_to_monday=True,
            saturday_to_friday=False,
            source="44 P.S. 11 legal holidays; sources on the PA holiday ban conflict, the "
            "stricter reading is used (R-Q-03 Pennsylvania)",
        ),
    }
)

HOLIDAY_STATES: frozenset[str] = frozenset(CALENDARS)


def _observed(day: date, cal: StateCalendar) -> date | None:
    wd = day.weekday()
    if wd == SUN and cal.sunday_to_monday:
        return day + timedelta(days=1)
    if wd == SAT and cal.saturday_to_friday:
        return day - timedelta(days=1)
    return None


@lru_cache(maxsize=1024)
def holidays(state: str, year: int) -> Mapping[date, str]:
    """Every date in ``year`` that is a legal holiday in ``state`` (actual or observed).

    Empty for a state without a calendar here. Observed dates carry the suffix
    " (observed)"; a New Year's Day on a Saturday may be observed in the
    previous year, so neighbouring years are computed too.
    """
    cal = CALENDARS.get(state)
    if cal is None:
        return MappingProxyType({})
    found: dict[date, str] = {}
    for y in (year - 1, year, year + 1):
        for hol in cal.holidays:
            day = hol.rule(y)
            if day is None:
                continue
            if day.year == year:
                found.setdefault(day, hol.name)
            shifted = _observed(day, cal) if hol.shifts else None
            if shifted is not None and shifted.year == year:
                found.setdefault(shifted, f"{hol.name} (observed)")
    return MappingProxyType(dict(sorted(found.items())))


def holiday_name(state: str, day: date) -> str | None:
    """The holiday's name if ``day`` is a legal holiday in ``state``, else None."""
    return holidays(state, day.year).get(day)


def is_holiday(state: str, day: date) -> bool:
    return day in holidays(state, day.year)
