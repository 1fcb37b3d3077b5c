"""Quiet hours: when a message may reach a recipient, in every zone they could be in.

Implements R-Q-01 (federal 08:00–21:00), R-Q-02 (which categories the window
binds, direct-reply exemption, a tenant's own narrower window for scheduled
informational texts), R-Q-03 (state windows, Sunday and holiday bans,
per-subject caps; strictest wins), R-Q-05 (recipient locality: address state,
area-code state and every candidate zone, intersection of windows), and the
traps T-14 (split zones, Arizona, DST days), T-15 and T-16.

Pure: imports only the standard library, ``zoneinfo``, ``phonenumbers`` and
``frontdesk.domain``; the current time is always a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import NumberParseException, geocoder
from phonenumbers.tzdata import TIMEZONE_DATA

from frontdesk.domain.holidays import holiday_name
from frontdesk.domain.messages import Category
from frontdesk.domain.phone import candidate_zones
from frontdesk.domain.us_geo import (
    AREA_CODE_STATE_FALLBACK,
    SPLIT_AREA_CODE_ZONES,
    STATE_ZONES,
    normalize_state,
    state_for_zip,
    state_from_place,
)

SEARCH_DAYS = 14
"""next_allowed() looks this far ahead before giving up with ValueError."""

LONG_STANDING = date(2000, 1, 1)
"""Effective date used for rules in force long before the sources' horizon."""

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Hours = tuple[int, int] | None
"""A local window [start, end) in minutes after midnight; None = closed all day."""


def _hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _every_day(start: str, end: str) -> tuple[Hours, ...]:
    return ((_hm(start), _hm(end)),) * 7


def _mon_sat(start: str, end: str, sunday: Hours) -> tuple[Hours, ...]:
    return ((_hm(start), _hm(end)),) * 6 + (sunday,)


@dataclass(frozen=True, slots=True)
class StateRule:
    """One jurisdiction's quiet-hours rule, as data (R-Q-01 / R-Q-03)."""

    state: str
    rule_id: str
    hours: tuple[Hours, ...]
    effective: date
    source: str
    no_holidays: bool = False
    subject_cap_24h: int | None = None
    note: str = ""

    def window(self, day: date) -> Hours:
        """The local window on ``day`` by weekday, ignoring holidays and effective date."""
        return self.hours[day.weekday()]

    def in_force(self, day: date) -> bool:
        return day >= self.effective

    def label(self, day: date) -> str:
        hours = self.hours[day.weekday()]
        varies = len(set(self.hours)) > 1
        prefix = f"{self.rule_id} {self.state}"
        if hours is None:
            return f"{prefix} no {_DAY_NAMES[day.weekday()]}days"
        span = f"{_fmt(hours[0])}–{_fmt(hours[1])}"
        return f"{prefix} {_DAY_NAMES[day.weekday()]} {span}" if varies else f"{prefix} {span}"


FEDERAL_RULE = StateRule(
    state="federal",
    rule_id="R-Q-01",
    hours=_every_day("08:00", "21:00"),
    effective=date(1992, 12, 20),
    source="47 CFR 64.1200(c)(1)",
)

STATE_RULES: Mapping[str, StateRule] = MappingProxyType(
    {
        rule.state: rule
        for rule in (
            StateRule(
                "FL",
                "R-Q-03",
                _every_day("08:00", "20:00"),
                date(2021, 7, 1),
                "Fla. Stat. 501.059(4), 501.616(6) (FTSA, SB 1120)",
                subject_cap_24h=3,
            ),
            StateRule(
                "OK",
                "R-Q-03",
                _every_day("08:00", "20:00"),
                date(2022, 11, 1),
                "15 O.S. 775C (OTSA)",
                subject_cap_24h=3,
            ),
            StateRule(
                "MD",
                "R-Q-03",
                _every_day("08:00", "20:00"),
                date(2023, 1, 1),
                "Md. Stop the Spam Calls Act 2023",
                subject_cap_24h=3,
                note="sources conflict on Jan 1, 2023 vs Jan 1, 2024; the earlier date is used",
            ),
            StateRule(
                "WA",
                "R-Q-03",
                _every_day("08:00", "20:00"),
                LONG_STANDING,
                "RCW 19.158.110; RCW 19.190 (CEMA)",
            ),
            StateRule(
                "NJ",
                "R-Q-03",
                _every_day("08:00", "20:00"),
                LONG_STANDING,
                "referrizer.com (single source)",
            ),
            StateRule(
                "MA",
                "R-Q-03",
                _every_day("08:00", "20:00"),
                LONG_STANDING,
                "dropcowboy.com state guide",
            ),
            StateRule(
                "MS",
                "R-Q-03",
                _mon_sat("08:00", "20:00", None),
                LONG_STANDING,
                "Miss. Code 77-3-725; holidays per Miss. Code 3-3-7",
                no_holidays=True,
            ),
            StateRule(
                "AL",
                "R-Q-03",
                _mon_sat("08:00", "20:00", None),
                LONG_STANDING,
                "Ala. Code 8-19A; state holidays per Ala. Code 1-3-8",
                no_holidays=True,
            ),
            StateRule(
                "LA",
                "R-Q-03",
                _mon_sat("08:00", "20:00", None),
                LONG_STANDING,
                "La. R.S. 45:844.17; holidays per La. R.S. 1:55",
                no_holidays=True,
            ),
            StateRule(
                "RI",
                "R-Q-03",
                ((_hm("09:00"), _hm("18:00")),) * 5 + ((_hm("10:00"), _hm("17:00")), None),
                LONG_STANDING,
                "R.I. Gen. Laws 5-61-3.4",
                no_holidays=True,
            ),
            StateRule(
                "UT",
                "R-Q-03",
                _mon_sat("08:00", "21:00", None),
                LONG_STANDING,
                "Utah Code 13-25a; legal holidays per Utah Code 63G-1-301",
                no_holidays=True,
            ),
            StateRule(
                "TX",
                "R-Q-03",
                _mon_sat("09:00", "21:00", (_hm("12:00"), _hm("21:00"))),
                date(2025, 9, 1),
                "Tex. Bus. & Com. Code 301.051 as extended to texts by SB 140",
            ),
            StateRule(
                "CT",
                "R-Q-03",
                _every_day("09:00", "20:00"),
                date(2023, 10, 1),
                "Conn. Gen. Stat. 42-288a (2023 mini-TCPA)",
                note="one guide says 09:00–21:00; the stricter 20:00 end is used",
            ),
            StateRule(
                "KY",
                "R-Q-03",
                _every_day("10:00", "21:00"),
                LONG_STANDING,
                "KRS 367.46955",
            ),
            StateRule(
                "MI",
                "R-Q-03",
                _every_day("09:00", "21:00"),
                LONG_STANDING,
                "MCL 445.111b",
            ),
            StateRule(
                "MN",
                "R-Q-03",
                _every_day("09:00", "21:00"),
                LONG_STANDING,
                "Minn. Stat. 325E.27",
            ),
            StateRule(
                "NM",
                "R-Q-03",
                _every_day("09:00", "21:00"),
                LONG_STANDING,
                "N.M. Stat. 57-12-22",
            ),
            StateRule(
                "NV",
                "R-Q-03",
                _every_day("09:00", "20:00"),
                LONG_STANDING,
                "NRS 228.590",
            ),
            StateRule(
                "VA",
                "R-Q-03",
                _every_day("08:00", "21:00"),
                date(2026, 1, 1),
                "Va. Code 59.1-510 ff. (VTPPA; texts by SB 1339)",
            ),
            StateRule(
                "PA",
                "R-Q-03",
                _mon_sat("08:00", "21:00", None),
                LONG_STANDING,
                "73 P.S. 2245 (Telemarketer Registration Act); holidays per 44 P.S. 11",
                no_holidays=True,
                note="sources conflict (some allow Sunday 13:30–21:00); the stricter reading "
                "is used: Mon–Sat 08:00–21:00, no Sundays, no legal holidays",
            ),
        )
    }
)

# --------------------------------------------------------------------------- locality


@dataclass(frozen=True, slots=True)
class Recipient:
    e164: str
    state: str | None = None
    postal_code: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Locality:
    zones: tuple[str, ...]
    states: frozenset[str]
    source: str


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@lru_cache(maxsize=1)
def _area_code_zone_index() -> Mapping[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for prefix, zones in TIMEZONE_DATA.items():
        if prefix.startswith("1") and len(prefix) >= 4:
            index.setdefault(prefix[1:4], set()).update(zones)
    return MappingProxyType({npa: frozenset(zs) for npa, zs in index.items()})


@lru_cache(maxsize=2048)
def area_code_zones(npa: str) -> tuple[str, ...]:
    """Every zone a NANP area code spans: phonenumbers' data at any depth plus known splits."""
    zones = set(_area_code_zone_index().get(npa, frozenset()))
    zones.update(SPLIT_AREA_CODE_ZONES.get(npa, ()))
    return tuple(sorted(zones))


def _valid_zones(names: set[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(z for z in set(names) if z != "Etc/Unknown" and _zone(z) is not None))


@lru_cache(maxsize=2048)
def _area_code_state(npa: str) -> str | None:
    """The US state of a NANP area code, from phonenumbers' offline geocoder."""
    try:
        probe = phonenumbers.parse(f"+1{npa}5550100", None)
    except NumberParseException:
        return AREA_CODE_STATE_FALLBACK.get(npa)
    place = geocoder.description_for_valid_number(probe, "en")
    return state_from_place(place) or AREA_CODE_STATE_FALLBACK.get(npa)


@lru_cache(maxsize=65536)
def _number_facts(e164: str) -> tuple[tuple[str, ...], str | None]:
    """(candidate zones, area-code state) of a number, per R-Q-05.

    For a NANP number the zones are every zone its area code spans (a superset of
    the number's own candidates); otherwise phonenumbers' candidates for the number.
    """
    if e164.startswith("+1") and len(e164) == 12 and e164[1:].isdigit():
        npa = e164[2:5]
        zones = area_code_zones(npa) or candidate_zones(e164)
        return _valid_zones(zones), _area_code_state(npa)
    return _valid_zones(candidate_zones(e164)), None


@lru_cache(maxsize=65536)
def locate(recipient: Recipient, tenant_timezone: str) -> Locality:
    """Where the recipient may be (R-Q-05).

    Zones: the contact's state (or ZIP-derived state), else the contact's explicit
    zone, else every candidate zone of the number, else the tenant's zone.
    States: the address state(s) and the area-code state; all of them apply.
    """
    address_states: list[str] = []
    declared = normalize_state(recipient.state)
    if declared is not None:
        address_states.append(declared)
    zip_state = state_for_zip(recipient.postal_code) if recipient.postal_code else None
    if zip_state is not None and zip_state not in address_states:
        address_states.append(zip_state)
    number_zones, number_state = _number_facts(recipient.e164)
    states = frozenset(address_states) | (
        frozenset({number_state}) if number_state is not None else frozenset()
    )
    if address_states:
        zones = _valid_zones(tuple(z for s in address_states for z in STATE_ZONES[s]))
        return Locality(zones, states, "state" if declared is not None else "postal_code")
    if recipient.timezone and _zone(recipient.timezone) is not None:
        return Locality((recipient.timezone,), states, "timezone")
    if number_zones:
        return Locality(number_zones, states, "number")
    if _zone(tenant_timezone) is None:
        raise ValueError(f"unknown tenant time zone {tenant_timezone!r}")
    return Locality((tenant_timezone,), states, "tenant")


# --------------------------------------------------------------------------- windows

_DayLimits = tuple[int, int, str, str, str, str]
"""(start, end, start label, end label, span text, combined label); start >= end = closed."""


INFORMATIONAL: frozenset[Category] = frozenset(
    {
        Category.APPOINTMENT_CONFIRMATION,
        Category.APPOINTMENT_REMINDER,
        Category.SERVICE_NOTIFICATION,
        Category.TRANSACTIONAL,
    }
)
"""The scheduled ``INFO_TXN`` categories a tenant's informational window binds (R-Q-02)."""

_WINDOW = "window:"
"""Prefix of the pseudo-jurisdiction that carries a tenant's informational window
through the rule machinery (``_rules_for``), so the window intersects the federal
and state rules exactly like another state would: strictest wins."""


def validate_window(start: int, end: int) -> None:
    """A tenant's informational window may only narrow the federal one (R-Q-01): quiet
    hours are the floor, so a window reaching outside 08:00–21:00 is refused."""
    low, high = FEDERAL_RULE.hours[0] or (0, 0)
    if not low <= start < end <= high:
        raise ValueError(
            f"{_fmt(start)}–{_fmt(end)} must lie within {_fmt(low)}–{_fmt(high)} with start "
            "before end (R-Q-01): the window can only narrow the legal one"
        )


def _window_token(window: tuple[int, int]) -> str:
    return f"{_WINDOW}{window[0]}-{window[1]}"


@lru_cache(maxsize=256)
def _window_rule(token: str) -> StateRule:
    start, end = (int(x) for x in token.removeprefix(_WINDOW).split("-"))
    return StateRule(
        state="tenant window",
        rule_id="R-Q-02",
        hours=((start, end),) * 7,
        effective=LONG_STANDING,
        source="the tenant's window for scheduled informational texts",
    )


@lru_cache(maxsize=4096)
def _rules_for(states: frozenset[str]) -> tuple[StateRule, ...]:
    windows = tuple(_window_rule(s) for s in sorted(states) if s.startswith(_WINDOW))
    return (
        FEDERAL_RULE,
        *(STATE_RULES[s] for s in sorted(states) if s in STATE_RULES),
        *windows,
    )


def _binding_label(rules: list[StateRule], day: date) -> str:
    strict = [r for r in rules if r is not FEDERAL_RULE] or rules
    return "; ".join(r.label(day) for r in strict)


@lru_cache(maxsize=1 << 16)
def _day_limits(states: frozenset[str], day: date) -> _DayLimits:
    """The combined local window on ``day`` of every rule in force for ``states``."""
    start, end = 0, 24 * 60
    spans: list[tuple[StateRule, int, int]] = []
    for rule in _rules_for(states):
        if not rule.in_force(day):
            continue
        if rule.no_holidays:
            name = holiday_name(rule.state, day)
            if name is not None:
                label = f"{rule.rule_id} {rule.state} no state holidays ({name})"
                return 0, 0, label, label, "closed", label
        hours = rule.window(day)
        if hours is None:
            label = rule.label(day)
            return 0, 0, label, label, "closed", label
        spans.append((rule, hours[0], hours[1]))
        start, end = max(start, hours[0]), min(end, hours[1])
    start_label = _binding_label([r for r, s, _ in spans if s == start], day)
    end_label = _binding_label([r for r, _, e in spans if e == end], day)
    span = f"{_fmt(start)}–{_fmt(end)}" if start < end else "closed"
    combined = end_label if start_label == end_label else f"{start_label}; {end_label}"
    return start, end, start_label, end_label, span, combined


def _local_minute(local: datetime) -> int:
    return local.hour * 60 + local.minute


def _allowed_in(t: datetime, zone: tzinfo, states: frozenset[str]) -> bool:
    local = t.astimezone(zone)
    start, end, _, _, _, _ = _day_limits(states, local.date())
    minute = local.hour * 60 + local.minute
    return start <= minute < end


@lru_cache(maxsize=1 << 16)
def _first_instant_at_or_after(day: date, minute: int, zone: tzinfo) -> datetime:
    """Earliest UTC instant whose local wall time on ``day`` is >= ``minute``.

    Fall-back overlap: the first occurrence. Spring-forward gap: the transition instant.
    """
    if minute >= 24 * 60:
        day, minute = day + timedelta(days=1), minute - 24 * 60
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    early = wall.astimezone(UTC)
    late = wall.replace(fold=1).astimezone(UTC)
    if late >= early:
        return early
    lo, hi = late, early
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= wall.replace(tzinfo=None):
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def _zone_next(t: datetime, zone: tzinfo, states: frozenset[str], deadline: datetime) -> datetime:
    """Earliest instant >= t allowed in one zone, or ``deadline`` if none before it."""
    day = t.astimezone(zone).date()
    last_day = deadline.astimezone(zone).date()
    while day <= last_day:
        start, end, _, _, _, _ = _day_limits(states, day)
        if start < end:
            opening = _first_instant_at_or_after(day, start, zone)
            if opening > deadline:
                return deadline
            candidate = max(t, opening)
            local = candidate.astimezone(zone)
            if local.date() == day and start <= _local_minute(local) < end:
                return candidate
        day += timedelta(days=1)
    return deadline


@lru_cache(maxsize=4096)
def _compiled(zones: tuple[str, ...]) -> tuple[ZoneInfo, ...]:
    compiled = tuple(z for z in (_zone(name) for name in zones) if z is not None)
    if not compiled:
        raise ValueError(f"no known time zone among {zones!r}")
    return compiled


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def next_allowed(now: datetime, locality: Locality) -> datetime:
    """Earliest instant >= ``now`` inside the allowed window of every zone (UTC).

    Every applicable rule (federal R-Q-01 and each state's R-Q-03 rule, including
    Sunday and holiday bans) must hold in every candidate zone (R-Q-05
    intersection). Raises ValueError if no such instant exists within SEARCH_DAYS.
    """
    _require_aware(now, "now")
    zones = _compiled(locality.zones)
    states = locality.states
    t = now.astimezone(UTC)
    deadline = t + timedelta(days=SEARCH_DAYS)
    while True:
        moved = False
        for zone in zones:
            nxt = _zone_next(t, zone, states, deadline)
            if nxt >= deadline and not _allowed_in(deadline, zone, states):
                raise ValueError(
                    f"no common quiet-hours window within {SEARCH_DAYS} days for {locality}"
                )
            if nxt > t:
                t, moved = nxt, True
        if not moved:
            return t


def is_allowed(now: datetime, locality: Locality) -> bool:
    """True when ``now`` is inside the allowed window in every zone of the locality."""
    _require_aware(now, "now")
    states = locality.states
    return all(_allowed_in(now, zone, states) for zone in _compiled(locality.zones))


@lru_cache(maxsize=1024)
def subject_cap(states: frozenset[str]) -> int | None:
    """Per-subject rolling-24 h cap of solicitations (R-Q-03, T-16): FL/OK/MD allow 3."""
    caps = [
        STATE_RULES[s].subject_cap_24h
        for s in states
        if s in STATE_RULES and STATE_RULES[s].subject_cap_24h is not None
    ]
    return min(c for c in caps if c is not None) if caps else None


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Window:
    zone: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class QuietHoursDecision:
    allowed: bool
    next_allowed: datetime | None
    rule: str
    explanation: str
    locality: Locality


_APPLIES: Mapping[Category, bool | None] = MappingProxyType(
    {
        Category.MARKETING: True,
        Category.APPOINTMENT_REMINDER: True,
        Category.APPOINTMENT_CONFIRMATION: True,
        Category.SERVICE_NOTIFICATION: True,
        Category.TRANSACTIONAL: True,
        Category.MISSED_CALL_FOLLOWUP: None,
        Category.CONVERSATION: False,
        Category.OPT_OUT_CONFIRMATION: False,
        Category.OPT_IN_CONFIRMATION: False,
        Category.HELP_REPLY: False,
    }
)


def applies_to(category: Category, *, missed_call_in_quiet_hours: bool = False) -> bool:
    """Whether quiet hours bind this category (R-Q-01, R-Q-02).

    Marketing always (R-Q-01, applied regardless of consent per R-Q-02). Scheduled
    INFO_TXN (reminders, confirmations, service and transactional notices) by
    platform policy (R-Q-02). A missed-call follow-up answers the caller's own
    contact and is exempt unless the tenant opts in. Conversation and compliance
    replies (HELP, STOP and opt-in confirmations) are exempt.
    """
    rule = _APPLIES[category]
    return missed_call_in_quiet_hours if rule is None else rule


def windows_on(day: date, locality: Locality) -> tuple[Window, ...]:
    """Each zone's allowed window on local ``day`` (for explanations); closed days omitted."""
    out: list[Window] = []
    for zone in _compiled(locality.zones):
        start, end, _, _, _, _ = _day_limits(locality.states, day)
        if start < end:
            out.append(
                Window(
                    zone.key,
                    _first_instant_at_or_after(day, start, zone),
                    _first_instant_at_or_after(day, end, zone),
                )
            )
    return tuple(out)


def _describe_local(t: datetime, zone: ZoneInfo) -> str:
    local = t.astimezone(zone)
    return (
        f"{local.hour:02d}:{local.minute:02d} on {_DAY_NAMES[local.weekday()]} "
        f"{local.date().isoformat()} {zone.key}"
    )


@lru_cache(maxsize=4096)
def _where(locality: Locality) -> str:
    states = ", ".join(sorted(s for s in locality.states if not s.startswith(_WINDOW)))
    states = states or "none known"
    if len(locality.zones) == 1:
        return f"zone {locality.zones[0]} (from {locality.source}; states: {states})"
    return (
        f"all {len(locality.zones)} candidate zones (from {locality.source}: "
        f"{', '.join(locality.zones[:4])}{', …' if len(locality.zones) > 4 else ''}; "
        f"states: {states})"
    )


def _blocking(now: datetime, locality: Locality) -> tuple[ZoneInfo, str]:
    """The zone and rule label that forbid ``now`` (the latest-opening one if several)."""
    blocked: list[tuple[ZoneInfo, str]] = []
    for zone in _compiled(locality.zones):
        local = now.astimezone(zone)
        start, end, start_label, end_label, _, _ = _day_limits(locality.states, local.date())
        minute = _local_minute(local)
        if not start <= minute < end:
            blocked.append((zone, start_label if start < end and minute < start else end_label))
    if not blocked:
        zone = _compiled(locality.zones)[0]
        return zone, FEDERAL_RULE.label(now.astimezone(zone).date())
    if len(blocked) == 1:
        return blocked[0]
    deadline = now + timedelta(days=SEARCH_DAYS)
    return max(blocked, key=lambda b: _zone_next(now, b[0], locality.states, deadline))


_EXEMPT_TEXT: Mapping[Category, tuple[str, str]] = MappingProxyType(
    {
        category: (
            f"R-Q-02 exempt: {category.value}",
            f"Quiet hours do not apply to {category.value.replace('_', ' ')} messages (R-Q-02).",
        )
        for category in Category
    }
)


@lru_cache(maxsize=4096)
def _narrowed(locality: Locality, token: str) -> Locality:
    return Locality(locality.zones, locality.states | {token}, locality.source)


@lru_cache(maxsize=65536)
def _prepared(
    recipient: Recipient, tenant_timezone: str
) -> tuple[Locality, tuple[ZoneInfo, ...], str]:
    locality = locate(recipient, tenant_timezone)
    return locality, _compiled(locality.zones), _where(locality)


def check(
    now: datetime,
    recipient: Recipient,
    category: Category,
    *,
    tenant_timezone: str,
    last_inbound_at: datetime | None = None,
    reply_exemption_minutes: int = 15,
    missed_call_in_quiet_hours: bool = False,
    informational_window: tuple[int, int] | None = None,
) -> QuietHoursDecision:
    """Decide whether a message of ``category`` may go to ``recipient`` at ``now``.

    R-Q-01/02/03/05: outside the window the decision is a deferral to the earliest
    allowed instant (never a silent drop). A direct reply within
    ``reply_exemption_minutes`` of the recipient's last inbound message is exempt
    (R-Q-02), except marketing, which quiet hours always bind. If no window exists
    within SEARCH_DAYS the decision is not allowed and ``next_allowed`` is None.

    ``informational_window`` (local minutes ``(start, end)``, see
    :func:`validate_window`) is the tenant's own window for the :data:`INFORMATIONAL`
    categories (R-Q-02: configurable, by default the strictest state window): it is
    intersected with the federal and state rules in every candidate zone, so it can
    only narrow them.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    locality, zones, where = _prepared(recipient, tenant_timezone)
    bound = locality  # the rules that bind: the locality's, and the tenant's window
    if informational_window is not None and category in INFORMATIONAL:
        validate_window(*informational_window)
        bound = _narrowed(locality, _window_token(informational_window))
    applies = _APPLIES[category]
    if not (missed_call_in_quiet_hours if applies is None else applies):
        return QuietHoursDecision(True, None, *_EXEMPT_TEXT[category], locality)
    if (
        last_inbound_at is not None
        and reply_exemption_minutes > 0
        and category is not Category.MARKETING
    ):
        _require_aware(last_inbound_at, "last_inbound_at")
        since = now - last_inbound_at
        if timedelta(0) <= since <= timedelta(minutes=reply_exemption_minutes):
            return QuietHoursDecision(
                True,
                None,
                "R-Q-02 exempt: direct reply",
                f"Direct reply within {reply_exemption_minutes} minutes of the recipient's "
                "own message; quiet hours do not apply (R-Q-02).",
                locality,
            )
    states = bound.states
    first = now.astimezone(zones[0])
    start, end, _, _, span, rule = _day_limits(states, first.date())
    minute = first.hour * 60 + first.minute
    if start <= minute < end and (
        len(zones) == 1 or all(_allowed_in(now, z, states) for z in zones[1:])
    ):
        return QuietHoursDecision(
            True,
            None,
            rule,
            f"Allowed: {first.hour:02d}:{first.minute:02d} {_DAY_NAMES[first.weekday()]} in "
            f"{zones[0].key} is inside {span} ({rule}) in {where}.",
            locality,
        )
    zone, label = _blocking(now, bound)
    try:
        when = next_allowed(now, bound)
    except ValueError:
        return QuietHoursDecision(
            False,
            None,
            label,
            f"Not allowed: it is {_describe_local(now, zone)}, where {label} applies, and no "
            f"window is open in {_where(locality)} within {SEARCH_DAYS} days (R-Q-05).",
            locality,
        )
    return QuietHoursDecision(
        False,
        when,
        label,
        f"Deferred: it is {_describe_local(now, zone)}, where {label} applies; the message "
        f"may go at {_describe_local(when, zone)} ({when:%Y-%m-%d %H:%M} UTC), the first "
        f"time allowed in {_where(locality)}.",
        locality,
    )
