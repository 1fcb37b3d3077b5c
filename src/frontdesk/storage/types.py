"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from frontdesk.lastcall import remember_last


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine.

    SQLite returns ``DateTime(timezone=True)`` values naive and in the original
    offset's wall time (design.md, facts learned the hard way), so values are
    normalised to UTC on the way in and re-tagged as UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_moment
        return super().result_processor(dialect, coltype)

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        moment = _aware_utc(value)
        if moment is not None and dialect.name == "sqlite":
            return moment.replace(tzinfo=None)
        return moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime from the database, got {type(value).__name__}")
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


# SQLite: one function each way instead of SQLAlchemy's text conversion wrapped around
# the methods above — a timestamp is converted ~25 times per message delivered (issue
# 4). The text is exactly SQLAlchemy's SQLite DATETIME format, "YYYY-MM-DD
# HH:MM:SS.ffffff" in UTC, so stored values and range comparisons are unchanged
# (tests/storage/test_types.py compares the two on random moments).


def _aware_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"expected datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: give a timezone-aware value")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


@remember_last  # the rows of one batch share its clock reading
def _sqlite_text(value: Any) -> str | None:
    moment = _aware_utc(value)
    return None if moment is None else moment.replace(tzinfo=None).isoformat(" ", "microseconds")


_MOMENTS: dict[str, datetime] = {}


def _sqlite_moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        found = _MOMENTS.get(value)
        if found is not None:
            return found  # rows read together often share a moment; datetimes are immutable
        moment = datetime.fromisoformat(value)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if isinstance(value, str):
        if len(_MOMENTS) >= 4096:
            _MOMENTS.clear()
        _MOMENTS[value] = moment
    return moment
