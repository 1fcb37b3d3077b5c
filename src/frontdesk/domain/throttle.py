"""Throughput shaping math: sliding windows and the Pacific-day cap (R-R-04).

Carriers enforce rates per sending number, per campaign (AT&T messages per
minute) and per brand per day (T-Mobile, reset at midnight Pacific); over a cap
the carrier answers 30022/30023 and counts it against the sender. The platform
queues instead of sending over the cap. These functions only answer "when may
the next message go", given the hand-off times the caller read from the
database; they hold no state, so several workers agree as long as they read
inside the transaction that records the hand-off.

Pure: standard library and ``zoneinfo`` only.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` hand-offs in any span of ``span`` (a sliding window)."""

    limit: int
    span: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.span <= timedelta(0):
            raise ValueError("a window needs limit >= 1 and a positive span")

    @classmethod
    def per_second(cls, rate: float) -> Window:
        """A messages-per-second rate; below 1 MPS it becomes one message per 1/rate s."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate < 1:
            return cls(1, timedelta(seconds=1 / rate))
        return cls(math.floor(rate), timedelta(seconds=1))

    @classmethod
    def per_minute(cls, rate: int) -> Window:
        return cls(rate, timedelta(minutes=1))

    def next_allowed(self, recent: list[datetime], now: datetime) -> datetime:
        """``now`` if one more fits, else when the oldest counted hand-off leaves the window.

        ``recent`` holds hand-off times, ascending; entries older than the window
        are ignored.
        """
        start = bisect.bisect_right(recent, now - self.span)
        inside = len(recent) - start
        if inside < self.limit:
            return now
        return recent[len(recent) - self.limit] + self.span


def pacific_day_start(now: datetime) -> datetime:
    local = now.astimezone(PACIFIC)
    return datetime.combine(local.date(), time(0, 0), PACIFIC).astimezone(now.tzinfo)


def next_pacific_midnight(now: datetime) -> datetime:
    local = now.astimezone(PACIFIC)
    return datetime.combine(local.date() + timedelta(days=1), time(0, 0), PACIFIC).astimezone(
        now.tzinfo
    )


@dataclass(frozen=True, slots=True)
class DailyCap:
    """At most ``limit`` hand-offs per Pacific calendar day (T-Mobile brand cap)."""

    limit: int

    def next_allowed(self, sent_today: int, now: datetime) -> datetime:
        return now if sent_today < self.limit else next_pacific_midnight(now)


@dataclass(frozen=True, slots=True)
class Limits:
    """A tenant's caps; ``None`` means no cap of that kind.

    Read from ``tenant.settings["throughput"]``::

        {"number_mps": 1, "campaign_mpm": 75, "brand_daily": 2000}

    A tenant has one campaign today, so the campaign cap applies to all its
    traffic; adding numbers does not raise it (snowshoeing, R-CT-02).
    """

    per_number: Window | None = None
    per_campaign: Window | None = None
    per_brand_day: DailyCap | None = None

    @property
    def any(self) -> bool:
        return bool(self.per_number or self.per_campaign or self.per_brand_day)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> Limits:
        raw = (settings or {}).get("throughput") or {}
        number = raw.get("number_mps")
        campaign = raw.get("campaign_mpm")
        daily = raw.get("brand_daily")
        return cls(
            per_number=Window.per_second(float(number)) if number else None,
            per_campaign=Window.per_minute(int(campaign)) if campaign else None,
            per_brand_day=DailyCap(int(daily)) if daily else None,
        )
