"""A throw-away PostgreSQL database per test run, on the machine's server.

The server is found at ``FRONTDESK_TEST_PG_ADMIN_URL`` or 127.0.0.1:5432 (trust
auth, user ``postgres`` or ``root``, maintenance database ``postgres`` or
``test``). Each pytest process creates ``frontdesk_test_<pid>_<random>``, runs
the migrations into it and drops it at the end; tests skip with a message only
when no server answers.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/postgres",
    "postgresql://root@127.0.0.1:5432/test",
)


@dataclass(frozen=True)
class Server:
    admin_url: str

    def url_for(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + database


def find_server() -> Server | str:
    """The first reachable admin URL, or a message naming what was tried."""
    explicit = os.environ.get("FRONTDESK_TEST_PG_ADMIN_URL")
    problems = []
    for url in (explicit,) if explicit else CANDIDATES:
        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return Server(url)
        except psycopg.Error as exc:
            problems.append(f"{url}: {str(exc).strip().splitlines()[0]}")
    return "no PostgreSQL server reachable; tried " + "; ".join(problems)


STALE = re.compile(r"^frontdesk_(test|drift|race)_(\d+)_[0-9a-f]{8}$")


def drop_stale(server: Server) -> list[str]:
    """Drop test databases left by runs that were killed (their process is gone)."""
    dropped = []
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
        for name in names:
            match = STALE.match(name)
            if match is None or _alive(int(match.group(2))):
                continue
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            dropped.append(name)
    return dropped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def fresh_database(server: Server, label: str = "test") -> Iterator[str]:
    """Create ``frontdesk_<label>_<pid>_<random>``; yield its URL; drop it afterwards."""
    name = f"frontdesk_{label}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.url_for(name)
    finally:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
