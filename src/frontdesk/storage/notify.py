"""Wake delivery workers on PostgreSQL with ``LISTEN/NOTIFY`` (design.md, scale-out).

The API commits an accepted message, then calls :func:`notify_due`; every worker
process keeps one dedicated autocommit connection that ``LISTEN``\\s on
:data:`CHANNEL` and wakes its loop. Polling stays the fallback: a lost
notification (listener reconnecting, server restart) only delays a message by one
poll interval, never loses it, because the database row is the truth
(guarantee 2). On SQLite both sides are no-ops; the embedded worker shares the
API's process and its in-memory event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import text

from frontdesk.storage.db import Database, application_name, libpq_conninfo

CHANNEL = "frontdesk_due"
RECONNECT_MAX_SECONDS = 10.0

log = logging.getLogger("frontdesk.notify")


def notify_due(db: Database) -> bool:
    """Tell every listening worker that messages may be due; True when a NOTIFY was sent.

    Called after the accepting transaction committed, so a worker woken by it sees
    the rows. Failure is logged and swallowed: the workers' polling picks the
    message up anyway.
    """
    if db.dialect != "postgresql":
        return False
    try:
        with db.write_engine.connect() as conn:
            conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
            conn.commit()
    except Exception as exc:
        log.warning("notify %s failed (%s); workers will poll", CHANNEL, type(exc).__name__)
        return False
    return True


class DueListener:
    """A daemon thread that ``LISTEN``\\s on :data:`CHANNEL` and calls ``on_notify``.

    It calls ``on_notify`` once after every (re)connection too, because
    notifications sent while it was disconnected are gone.
    """

    def __init__(
        self, url: str, on_notify: Callable[[], None], *, poll_seconds: float = 1.0
    ) -> None:
        self._conninfo = libpq_conninfo(url)
        self._on_notify = on_notify
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()
        self.received = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="frontdesk-listen", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._conninfo, autocommit=True, application_name=application_name("listen")
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    backoff = 0.5
                    self._on_notify()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=self._poll_seconds, stop_after=1):
                            self.received += 1
                            self._on_notify()
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning(
                    "listener on %s lost (%s); polling, retry in %.1fs",
                    CHANNEL,
                    type(exc).__name__,
                    backoff,
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
        self.listening.clear()


def listening_workers(db: Database) -> int | None:
    """Worker processes connected and ``LISTEN``ing now (None on SQLite): a health figure."""
    if db.dialect != "postgresql":
        return None
    with db.read_engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name LIKE :app"
                ),
                {"app": "frontdesk-listen-%"},
            ).scalar_one()
        )
