"""Engines for the embedded default (SQLite, WAL, ``BEGIN IMMEDIATE``) and PostgreSQL.

The database URL is the only switch between the two (design.md, "one code path"):
``sqlite:///…`` for the embedded default, ``postgresql://…`` or
``postgresql+psycopg://…`` for scale-out. This room may import SQLAlchemy and the
psycopg driver; nothing above storage does.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def json_text(value: Any) -> str:
    """JSON columns (reasons, event details, audit payloads — several per message) are
    encoded with orjson, about five times faster than ``json.dumps`` for these small
    values (issue 4). What orjson refuses (an integer beyond 64 bits) falls back to
    the standard library, so nothing storable before is refused now. Reading stays
    with the standard library: orjson would turn such an integer into a float."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and pick the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def libpq_conninfo(url: str) -> str:
    """The SQLAlchemy URL as a libpq URI, for the raw psycopg connection that LISTENs."""
    parsed = make_url(normalise_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def application_name(role: str | None = None) -> str:
    """``frontdesk-<role>-<pid>``: operators find a process's sessions in pg_stat_activity."""
    return f"frontdesk-{role or 'app'}-{os.getpid()}"


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # The pool fits the process's concurrency: the API's 40 request threads, the group
    # committers, the worker and the dispatcher's release thread. SQLAlchemy's default
    # (5 + 10) made requests wait 30 s for a connection and fail under a burst of
    # status callbacks; an SQLite connection costs a file handle and its page cache.
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        json_serializer=json_text,
        pool_size=16,
        max_overflow=32,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Reads of a busy database stay in memory: a 32 MiB page cache per connection and
        # the file mapped (shared by every connection through the OS page cache).
        cur.execute("PRAGMA cache_size=-32768")
        cur.execute("PRAGMA mmap_size=1073741824")
        cur.close()

    lock = _FairWriteLock() if immediate else None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if lock is not None:
            conn.info["fair_lock"] = lock.acquire()
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    def _on_end(conn: Any) -> None:
        if lock is not None and conn.info.pop("fair_lock", False):
            lock.release()

    event.listen(engine, "commit", _on_end)
    event.listen(engine, "rollback", _on_end)
    return engine


class _FairWriteLock:
    """First come, first served access to SQLite's single writer among this process's threads.

    SQLite's busy handler polls with sleeps of up to 100 ms and is not fair: a worker that
    begins its next ``BEGIN IMMEDIATE`` microseconds after committing can keep an API
    request (a STOP webhook, say) waiting until its 30 s busy timeout expires. Queueing
    the threads of one process in arrival order removes that starvation; other
    processes still meet SQLite's own lock. A waiter gives up queueing after
    ``timeout`` seconds and falls back to SQLite's busy handling, so a leaked hold can
    delay but never deadlock.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._held = False
        self._timeout = timeout

    def acquire(self) -> bool:
        me = object()
        with self._cond:
            self._queue.append(me)
            ok = self._cond.wait_for(
                lambda: not self._held and self._queue[0] is me, timeout=self._timeout
            )
            self._queue.remove(me)
            if ok:
                self._held = True
            self._cond.notify_all()
            return ok

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


IDLE_IN_TRANSACTION_MS = 300_000


def _postgres_engine(url: str, role: str | None) -> Engine:
    """READ COMMITTED, pre-pinged pool; caps are guarded by locks, not isolation (claims.py).

    A session idle inside a transaction for five minutes is ended by the server: a
    worker hung mid-batch (a carrier call that never returns) then gives its claimed
    rows back to the other workers instead of holding them forever (guarantee 2).
    """
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_recycle=1800,
        json_serializer=json_text,
        connect_args={
            "application_name": application_name(role),
            "connect_timeout": 10,
            "options": f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}",
        },
    )


@dataclass
class Database:
    """A write engine and a read engine on the same database."""

    url: str
    write_engine: Engine
    read_engine: Engine

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    def __post_init__(self) -> None:
        # One factory per engine: building a sessionmaker sets up its event dispatch,
        # which cost more than a whole short request (issue 4).
        self._factories = {
            True: sessionmaker(bind=self.write_engine, expire_on_commit=False, autoflush=True),
            False: sessionmaker(bind=self.read_engine, expire_on_commit=False, autoflush=True),
        }

    def sessionmaker(self, *, write: bool = True) -> sessionmaker[Session]:
        return self._factories[write]

    def dispose(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()


def connect(url: str, *, role: str | None = None) -> Database:
    """Open the database named by ``url``; ``role`` labels PostgreSQL sessions (api, worker)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return Database(
            url, _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False)
        )
    if not url.startswith("postgresql+psycopg://"):
        raise ValueError(
            "FRONTDESK_DATABASE_URL must start with sqlite:/// or postgresql:// "
            f"(got {url.split('://', 1)[0]}://)"
        )
    engine = _postgres_engine(url, role)
    return Database(url, engine, engine)
