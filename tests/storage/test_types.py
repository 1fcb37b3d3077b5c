"""UTCDateTime on SQLite (design.md: SQLite hands timestamps back naive, in the original
offset's wall time): the fast text conversion stores exactly what SQLAlchemy's SQLite
DATETIME stored, so old rows, new rows and range comparisons agree (issue 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, select, text
from sqlalchemy.dialects import sqlite

from frontdesk.storage.types import UTCDateTime

DIALECT = sqlite.dialect()
SQLALCHEMY_BIND = DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
SQLALCHEMY_RESULT = DateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
BIND = UTCDateTime().bind_processor(DIALECT)
RESULT = UTCDateTime().result_processor(DIALECT, None)
assert SQLALCHEMY_BIND and SQLALCHEMY_RESULT and BIND and RESULT

offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)),
     ZoneInfo("America/Los_Angeles"), ZoneInfo("Pacific/Chatham")]
)
moments = st.builds(
    lambda naive, tz: naive.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    offsets,
)


@given(moments)
def test_a_moment_is_stored_as_sqlalchemys_sqlite_text_in_utc(moment: datetime) -> None:
    expected = SQLALCHEMY_BIND(moment.astimezone(UTC).replace(tzinfo=None))
    assert BIND(moment) == expected


@given(moments)
def test_stored_text_reads_back_as_the_same_aware_utc_moment(moment: datetime) -> None:
    """Compared in UTC: a wall time in a DST gap or fold (1983-10-30 03:00 in
    Pacific/Chatham) never equals an instant of another zone (PEP 495), though it
    names one instant, the one ``astimezone`` gives and the column stores."""
    instant = moment.astimezone(UTC)
    got = RESULT(SQLALCHEMY_BIND(instant.replace(tzinfo=None)))
    assert got == instant and got.tzinfo is UTC


@pytest.mark.parametrize(
    "stored",
    ["2026-11-29 00:11:00", "2026-11-29T00:11:00", "2026-11-29 00:11:00.000000",
     "2026-11-28 19:11:00-05:00"],
)
def test_text_written_by_other_tools_reads_as_utc(stored: str) -> None:
    assert RESULT(stored) == datetime(2026, 11, 29, 0, 11, tzinfo=UTC)


def test_naive_or_foreign_values_are_refused_not_stored() -> None:
    with pytest.raises(ValueError, match="naive"):
        BIND(datetime(2026, 11, 29, 0, 11))
    with pytest.raises(TypeError, match="expected datetime"):
        BIND("2026-11-29 00:11:00")
    assert BIND(None) is None and RESULT(None) is None


def test_range_queries_on_a_real_sqlite_file_compare_moments_not_wall_times(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'types.db'}")
    table = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
    )
    table.metadata.create_all(engine)
    base = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    eastern = ZoneInfo("America/New_York")
    with engine.begin() as conn:
        conn.execute(table.insert(), [
            {"id": 1, "at": base - timedelta(microseconds=1)},
            {"id": 2, "at": base.astimezone(eastern)},  # 07:00 in New York: the same moment
            {"id": 3, "at": base + timedelta(hours=1)},
        ])
        ids = conn.execute(
            select(table.c.id).where(table.c.at >= base.astimezone(eastern)).order_by(table.c.at)
        ).scalars().all()
        raw = conn.execute(text("SELECT at FROM t WHERE id = 2")).scalar_one()
        back = conn.execute(select(table.c.at).where(table.c.id == 2)).scalar_one()
    assert ids == [2, 3]
    assert raw == "2026-11-29 12:00:00.000000"
    assert back == base and back.tzinfo is UTC
