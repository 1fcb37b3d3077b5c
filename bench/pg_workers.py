"""Scale-out throughput: 1, 2, 4 ``frontdesk worker`` processes draining one backlog.

Method
------
1. Create ``frontdesk_bench_<pid>`` on the PostgreSQL server (``--db``), migrate it
   and enqueue ``--messages`` reminders through the services (tenants, numbers,
   consents, ``messages.submit``), spread over ``--tenants`` tenants with one
   sending number each, one consented patient per message. The backlog is then
   held (``send_at`` moved ten days ahead) and the database becomes the template
   for every run, so each run starts from the same rows.
2. For each worker count: copy the template, start N real ``frontdesk worker``
   processes (the CLI, simulator carrier, clock fixed at a Tuesday 15:00 UTC so
   quiet hours never depend on when the bench runs), wait until every one is
   ``LISTEN``ing, then release the backlog (``send_at`` = now) and ``NOTIFY``.
   The clock runs from the release until every message has been handed to the
   carrier (``handed_off_at`` set); msgs/s = messages / that time. Each hand-off
   includes the claim, the gate re-check with fresh facts and the status reports.
3. ``--kill`` adds a run with 4 workers in which one is ``kill -9``'d at about a
   third of the backlog; it reports how many of its rows were in flight and that
   every message was still handed off (nothing lost).

    .venv/bin/python bench/pg_workers.py --db postgresql://postgres@127.0.0.1:5432/postgres \
        --messages 3000 --workers 1 2 4 --kill
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from frontdesk.storage.claims import LOCK_RECIPIENT

ROOT = Path(__file__).resolve().parents[1]
LOGS: dict[int, IO[bytes]] = {}
CARRIER_MS = 0.0
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
HOLD = timedelta(days=10)


def _url(admin: str, database: str) -> str:
    return admin.rsplit("/", 1)[0] + "/" + database


def seed(url: str, messages: int, tenants: int) -> None:
    from frontdesk.domain.consent import Method, Scope
    from frontdesk.domain.messages import Category
    from frontdesk.services import consents
    from frontdesk.services import messages as message_service
    from frontdesk.services import tenants as tenant_service
    from frontdesk.storage.db import connect
    from frontdesk.storage.migrate import upgrade
    from frontdesk.storage.uow import UnitOfWork

    upgrade(url)
    db = connect(url)
    captured = NOW - timedelta(days=1)
    made = 0
    for k in range(tenants):
        name = f"Clinic {k:02d}"
        with UnitOfWork(db) as uow:
            created = tenant_service.create_tenant(
                uow,
                name=name,
                timezone="America/New_York",
                support_email="hello@clinic.example",
                support_phone="+14155550199",
                now=NOW,
            )
            tenant_id = created.tenant.id
            tenant_service.add_sending_number(
                uow, tenant_id, f"+1415556{k:04d}", "simulator", NOW, "bench"
            )
            uow.commit()
        share = messages // tenants + (1 if k < messages % tenants else 0)
        with UnitOfWork(db) as uow:
            scope = uow.tenant(tenant_id)
            for i in range(share):
                phone = f"+1305{200 + k:03d}{i:04d}"
                consents.record_grant(
                    scope,
                    phone,
                    consent_scope=Scope.INFORMATIONAL,
                    method=Method.WEB_FORM,
                    captured_at=captured,
                    evidence={
                        "form": "https://clinic.example/join",
                        "ip": "203.0.113.9",
                        "user_agent": "bench",
                    },
                    now=NOW,
                    source="bench",
                    actor="bench",
                )
                sub = message_service.submit(
                    scope,
                    message_service.SendCommand(
                        to=phone,
                        body=f"{name}: your cleaning is Tue at 3:00 pm. Reply STOP to opt out.",
                        category=Category.APPOINTMENT_REMINDER,
                    ),
                    NOW,
                    "bench",
                )
                if sub.message.status != "queued":
                    raise SystemExit(f"seed message not queued: {sub.message.status}")
                made += 1
            uow.commit()
    db.dispose()
    with psycopg.connect(_url_plain(url), autocommit=True) as conn:
        conn.execute("UPDATE messages SET send_at = %s WHERE status = 'queued'", (NOW + HOLD,))
    print(f"seeded {made} messages over {tenants} tenants", flush=True)


def _url_plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _spawn(url: str, batch: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": url,
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "FRONTDESK_WORKER_BATCH": str(batch),
        "FRONTDESK_WORKER_IDLE_SECONDS": "1",
        "BENCH_CARRIER_MS": str(CARRIER_MS),
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--as-worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    LOGS[proc.pid] = log
    return proc


def _listening(conn: psycopg.Connection, pids: list[int]) -> int:
    names = [f"frontdesk-listen-{p}" for p in pids]
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = ANY(%s)", (names,)
    ).fetchone()
    return int(row[0]) if row else 0


def _handed(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM messages WHERE handed_off_at IS NOT NULL").fetchone()
    return int(row[0]) if row else 0


def run(admin: str, template: str, workers: int, total: int, batch: int, kill: bool) -> float:
    name = f"{template}_w{workers}{'k' if kill else ''}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    url = _url(admin, name)
    procs = [_spawn(url, batch) for _ in range(workers)]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 120
            while _listening(conn, [p.pid for p in procs]) < workers:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise SystemExit("workers did not start: " + _stderr(procs))
                time.sleep(0.05)
            start = time.perf_counter()
            conn.execute("UPDATE messages SET send_at = %s WHERE status = 'queued'", (NOW,))
            conn.execute("SELECT pg_notify('frontdesk_due', '')")
            killed = False
            in_flight = 0
            while True:
                done = _handed(conn)
                if kill and not killed and done >= total // 3:
                    victim = procs[0]
                    in_flight = _locked_by(conn, victim.pid)
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    killed = True
                if done >= total:
                    break
                if all(p.poll() is not None for p in procs):
                    raise SystemExit("all workers exited: " + _stderr(procs))
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            left = conn.execute(
                "SELECT count(*) FROM messages WHERE handed_off_at IS NULL"
            ).fetchone()
            blocked = conn.execute(
                "SELECT count(*) FROM messages WHERE status = 'blocked'"
            ).fetchone()
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = [p.wait(60) for p in procs]
        problems = _stderr(procs)
        if problems:
            print(problems, flush=True)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    rate = total / elapsed
    label = f"{workers} worker{'s' if workers > 1 else ''}"
    print(
        f"{label:10} {total} msgs in {elapsed:6.2f} s = {rate:7.1f} msgs/s"
        f"  (not handed off: {left[0] if left else '?'}, blocked: {blocked[0] if blocked else '?'},"
        f" exit codes {codes})",
        flush=True,
    )
    if kill:
        print(
            f"           kill -9 of 1 of {workers} at {total // 3} done: it held about "
            f"{in_flight} rows in flight; lost: {left[0] if left else '?'}",
            flush=True,
        )
    return rate


def _locked_by(conn: psycopg.Connection, pid: int) -> int:
    """Due rows the victim's open transaction holds: rows whose recipient it has locked."""
    row = conn.execute(
        "SELECT count(*) FROM messages m WHERE m.status IN ('queued','scheduled') "
        "AND m.send_at <= %s AND (hashtext(m.tenant_id || ':' || m.to_phone)::bigint "
        "& 4294967295) IN ("
        "  SELECT l.objid::bigint FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        "  WHERE a.application_name = %s AND l.locktype = 'advisory' AND l.classid = %s)",
        (NOW, f"frontdesk-app-{pid}", LOCK_RECIPIENT),
    ).fetchone()
    return int(row[0]) if row else 0


def _stderr(procs: list[subprocess.Popen[bytes]]) -> str:
    out = []
    for p in procs:
        log = LOGS.get(p.pid)
        if log is not None:
            log.seek(0)
            text = log.read().decode(errors="replace").strip()
            if text:
                out.append(f"[worker {p.pid}] {text[-1500:]}")
    return "\n".join(out)


class SlowCarrier:
    """The simulator behind a carrier API round trip of ``delay`` seconds per send.

    Real carriers answer an HTTP send in tens to hundreds of milliseconds; with
    that wait a worker is I/O-bound, which is the case scale-out is for.
    """

    def __init__(self, inner: Any, delay: float) -> None:
        self._inner = inner
        self._delay = delay

    def send(self, message: Any) -> Any:
        time.sleep(self._delay)
        return self._inner.send(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def as_worker() -> None:
    import frontdesk.bootstrap
    from frontdesk.cli.main import app
    from frontdesk.clock import FixedClock

    frontdesk.bootstrap.SystemClock = lambda: FixedClock(NOW)  # type: ignore[assignment,misc]
    delay = float(os.environ.get("BENCH_CARRIER_MS", "0")) / 1000
    if delay:
        make = frontdesk.bootstrap.make_provider
        frontdesk.bootstrap.make_provider = lambda *a, **k: SlowCarrier(make(*a, **k), delay)  # type: ignore[assignment,return-value]
    app(["worker"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--tenants", type=int, default=16)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--kill", action="store_true", help="add a 4-worker run with a kill -9")
    parser.add_argument(
        "--carrier-ms", type=float, default=0.0, help="carrier API latency per send (ms)"
    )
    parser.add_argument("--as-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_worker:
        as_worker()
        return
    global CARRIER_MS
    CARRIER_MS = args.carrier_ms
    admin = args.db.replace("postgresql+psycopg://", "postgresql://")
    template = f"frontdesk_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
    try:
        seed(_url(admin, template), args.messages, args.tenants)
        print(
            f"cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}, tenants/numbers: "
            f"{args.tenants}, batch: {args.batch}, carrier latency: {args.carrier_ms} ms",
            flush=True,
        )
        rates = {n: run(admin, template, n, args.messages, args.batch, False) for n in args.workers}
        if 1 in rates:
            for n, r in rates.items():
                if n != 1:
                    print(f"{n} vs 1: {r / rates[1]:.2f}x", flush=True)
        if args.kill:
            run(admin, template, 4, args.messages, args.batch, True)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template))
            )


if __name__ == "__main__":
    main()
