"""PostgreSQL fixtures for the storage tests (a fresh database per test run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from frontdesk.storage.db import connect
from frontdesk.storage.migrate import upgrade
from frontdesk.storage.models import Base
from tests.storage.pg import Server, drop_stale, find_server, fresh_database


@pytest.fixture(scope="session")
def pg_server() -> Server:
    found = find_server()
    if isinstance(found, str):
        pytest.skip(found)
    drop_stale(found)
    return found


@pytest.fixture(scope="session")
def pg_url(pg_server: Server) -> Iterator[str]:
    """A database migrated to head, shared by this process's PostgreSQL tests."""
    with fresh_database(pg_server) as url:
        upgrade(url)
        yield url


@pytest.fixture
def pg_clean(pg_url: str) -> str:
    """``pg_url`` with every table emptied (the append-only triggers do not fire on TRUNCATE)."""
    db = connect(pg_url)
    try:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with db.write_engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        db.dispose()
    return pg_url
