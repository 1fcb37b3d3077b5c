"""R-R-04: throughput caps as pure window math (per number, per campaign, per brand per day)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.domain.throttle import DailyCap, Limits, Window, pacific_day_start

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_R_R_04_sliding_window_lets_limit_through_then_waits_for_the_oldest_to_leave() -> None:
    w = Window(3, timedelta(minutes=1))
    recent = [NOW - timedelta(seconds=50), NOW - timedelta(seconds=20), NOW - timedelta(seconds=5)]
    assert w.next_allowed(recent[:2], NOW) == NOW
    assert w.next_allowed(recent, NOW) == recent[0] + timedelta(minutes=1)


def test_R_R_04_hand_offs_older_than_the_window_do_not_count() -> None:
    w = Window(1, S)
    assert w.next_allowed([NOW - 2 * S], NOW) == NOW
    assert w.next_allowed([NOW - S], NOW) == NOW  # exactly one span ago has left the window


def test_R_R_04_future_reservations_push_the_next_slot_further() -> None:
    w = Window(1, S)
    assert w.next_allowed([NOW, NOW + S], NOW) == NOW + 2 * S


def test_R_R_04_rates_below_one_per_second_become_one_message_per_interval() -> None:
    assert Window.per_second(0.1) == Window(1, timedelta(seconds=10))
    assert Window.per_second(20) == Window(20, S)
    assert Window.per_minute(75) == Window(75, timedelta(minutes=1))
    with pytest.raises(ValueError):
        Window.per_second(0)


def test_R_R_04_t_mobile_daily_cap_resets_at_midnight_pacific() -> None:
    cap = DailyCap(2000)
    assert cap.next_allowed(1999, NOW) == NOW
    assert cap.next_allowed(2000, NOW) == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    assert pacific_day_start(NOW) == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


def test_R_R_04_limits_come_from_tenant_settings_and_default_to_none() -> None:
    assert not Limits.from_settings({}).any
    limits = Limits.from_settings(
        {"throughput": {"number_mps": 1, "campaign_mpm": 75, "brand_daily": 2000}}
    )
    assert limits.per_number == Window(1, S)
    assert limits.per_campaign == Window(75, timedelta(minutes=1))
    assert limits.per_brand_day == DailyCap(2000)
