"""Clocks: the only place that reads the time. Services and the worker take one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


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


def rfc3339(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z`` suffix, as every response renders times (api.md)."""
    last = _last_rendered  # the rows of one response mostly share one clock reading
    if moment is last[0]:
        return last[1]
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    _remember((moment, text))
    return text


def _remember(pair: tuple[datetime, str]) -> None:
    global _last_rendered
    _last_rendered = pair


_last_rendered: tuple[object, str | None] = (None, None)
