"""Clocks: the only place that reads the time. Services and the worker take one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from frontdesk.lastcall import remember_last


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A settable clock for tests and the demo tour."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


@remember_last  # the rows of one response mostly share one clock reading
def rfc3339(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z`` suffix, as every response renders times (api.md)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
