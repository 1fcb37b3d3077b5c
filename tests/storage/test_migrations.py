"""The migrations equal the models on both engines (design.md, Procrastinate style).

A database built by ``alembic upgrade head`` must have exactly the schema the
SQLAlchemy models describe, on the embedded SQLite default and on PostgreSQL,
or scale-out would run on a schema no test has seen.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from frontdesk.storage.db import connect
from frontdesk.storage.migrate import current, downgrade, head, upgrade
from frontdesk.storage.models import Base
from frontdesk.storage.types import UTCDateTime
from tests.storage.pg import Server, fresh_database

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'drift.db'}"
        return
    server: Server = request.getfixturevalue("pg_server")
    with fresh_database(server, "drift") as url:
        yield url


def drift(url: str, metadata: sa.MetaData) -> list[Any]:
    db = connect(url)
    try:
        with db.write_engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(ctx, metadata))
    finally:
        db.dispose()


def test_migrated_schema_equals_the_models(empty_db: str) -> None:
    upgrade(empty_db)
    assert drift(empty_db, Base.metadata) == []


def test_drift_check_sees_a_timestamp_that_lost_its_time_zone(empty_db: str) -> None:
    """UTCDateTime is compared by its impl: a naive column would be drift on PostgreSQL."""
    upgrade(empty_db)
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["messages"].append_column(sa.Column("lease_until", sa.DateTime()))
    found = drift(empty_db, changed)
    assert [d[0] for d in found] == ["add_column"]
    if "postgresql" in empty_db:
        changed.tables["messages"].c.send_at.type = sa.DateTime(timezone=False)
        kinds = {d[0][0] if isinstance(d, list) else d[0] for d in drift(empty_db, changed)}
        assert kinds == {"add_column", "modify_type"}


def test_downgrade_to_base_and_back_leaves_no_drift(empty_db: str) -> None:
    upgrade(empty_db)
    downgrade(empty_db, "base")
    upgrade(empty_db)
    assert drift(empty_db, Base.metadata) == []


@pytest.mark.postgres
def test_api_and_workers_migrating_at_once_migrate_once(pg_server: Server) -> None:
    """docker compose starts the API and N workers together; each runs the upgrade."""
    with fresh_database(pg_server, "race") as url:
        code = "import sys; from frontdesk.storage.migrate import upgrade; upgrade(sys.argv[1])"
        procs = [subprocess.Popen([sys.executable, "-c", code, url]) for _ in range(3)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
        db = connect(url)
        try:
            with db.write_engine.connect() as conn:
                assert current(conn) == head(url)
        finally:
            db.dispose()
        assert drift(url, Base.metadata) == []


def test_0003_backfills_the_opt_out_notice_of_the_last_month(empty_db: str) -> None:
    """R-K-08: live messages of the last 31 days that said how to opt out are flagged,
    with the gate's own test; older, blocked and silent ones are not."""
    upgrade(empty_db, "0002")
    now = datetime.now(UTC)
    stop = "Bright Smile Dental: see you Tue. Reply STOP to opt out."
    silent = "Bright Smile Dental: see you Tue."
    rows = {
        "msg_recent_stop": (stop, "delivered", now - timedelta(days=3)),
        "msg_recent_silent": (silent, "delivered", now - timedelta(days=3)),
        "msg_old_stop": (stop, "delivered", now - timedelta(days=60)),
        "msg_blocked_stop": (stop, "blocked", now - timedelta(days=3)),
        "msg_joined": ("Bright Smile Dental: see you Tue. STOP2END", "queued", now),
        # more than one page of the backfill (1,000 rows), the last one flagged
        **{f"msg_page_{n:04d}": (silent, "sent", now) for n in range(1200)},
        "msg_zz_last_stop": (stop, "sent", now),
    }
    tenants = sa.table(
        "tenants",
        *(sa.column(c) for c in ("id", "name", "timezone", "status")),
        sa.column("suspension_automatic", sa.Boolean),
        sa.column("settings", sa.JSON),
        sa.column("created_at", UTCDateTime()),
    )
    messages = sa.table(
        "messages",
        *(sa.column(c) for c in ("id", "tenant_id", "to_phone", "body", "category", "status")),
        *(sa.column(c, sa.JSON) for c in ("media_urls", "reasons", "warnings")),
        *(sa.column(c) for c in ("segments", "encoding", "attempts")),
        *(sa.column(c, UTCDateTime()) for c in ("send_at", "created_at", "updated_at")),
    )
    db = connect(empty_db)
    try:
        with db.write_engine.begin() as conn:
            conn.execute(
                sa.insert(tenants).values(
                    id="ten_1",
                    name="Bright Smile Dental",
                    timezone="America/New_York",
                    status="active",
                    suspension_automatic=False,
                    settings={},
                    created_at=now,
                )
            )
            conn.execute(
                sa.insert(messages),
                [
                    {
                        "id": mid,
                        "tenant_id": "ten_1",
                        "to_phone": "+13055550142",
                        "body": body,
                        "category": "appointment_reminder",
                        "status": status,
                        "media_urls": [],
                        "reasons": [],
                        "warnings": [],
                        "segments": 1,
                        "encoding": "GSM-7",
                        "attempts": 0,
                        "send_at": at,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for mid, (body, status, at) in rows.items()
                ],
            )
    finally:
        db.dispose()

    upgrade(empty_db)

    db = connect(empty_db)
    try:
        with db.write_engine.connect() as conn:
            flagged = dict(conn.execute(sa.text("SELECT id, opt_out_notice FROM messages")).all())
    finally:
        db.dispose()
    assert {mid for mid, notice in flagged.items() if notice} == {
        "msg_recent_stop",
        "msg_zz_last_stop",
    }
