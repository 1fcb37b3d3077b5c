"""Throughput: accepted -> handed to the carrier simulator, end to end, over real HTTP (issue 4).

Method
------
* The server is ``frontdesk serve --no-seed`` — uvicorn (uvloop, httptools) in its
  own process, configured only through ``FRONTDESK_*`` settings: a temporary SQLite
  file (the embedded default), the built-in simulator with carrier limits and
  faults off (``FRONTDESK_SIMULATOR_PROFILE=clean``), ``FRONTDESK_WORKER_IDLE_SECONDS
  =0.05`` and ``FRONTDESK_EMBEDDED_WORKER`` on or off per phase. The client is a
  second process (no shared GIL) speaking raw keep-alive HTTP/1.1 over asyncio on
  ``--concurrency`` connections (default 2 for bulk, 32 for single); requests are
  encoded before the clock starts. Every response must be 2xx and every message
  in it ``queued``, or the run fails: refused messages never count as throughput.
* Set-up, over HTTP and not timed, once per invocation into a template database:
  a tenant (admin token), the messaging policy accepted (R-B-03), the simulator
  number linked, ``frequency_cap`` raised to the API's maximum of 20 through
  ``PATCH /v1/tenant/settings`` (R-Q-04; so ``--messages`` may be at most 20 x
  ``--recipients``) and ``--recipients`` consents through ``POST
  /v1/consents/import`` (CSV, 2,000 rows a call). Each phase below starts on a
  copy of that template (a fresh database with no messages). The recipients' area
  code is the first of 305, 212, 312, 303, 415, 808 where appointment reminders
  are inside quiet hours' allowed window now and in an hour (R-Q-01/03), so every
  message is ``queued``; between about 05:00 and 13:00 UTC none is and the bench
  refuses to run (``--area-code`` overrides).
* Three timed phases per mode (``bulk``: ``POST /v1/messages/batch`` with 1,000
  messages a call; ``single``: ``POST /v1/messages`` per message):

  - **accept**: the server runs no worker; messages / (last response − first
    request), measured by the client.
  - **hand-off**: that server stops and one with the embedded worker starts on the
    same file; rate = n / (max − min ``handed_off_at``), read from the database
    once every message has one (``handed_off_at`` is the hand-off batch's clock, so
    the span leaves out one batch, ≈ 100 messages). Also the wall time from
    "server answers /healthz" to "the last hand-off is visible" (polled every
    0.2 s; the worker starts a few ms before the socket opens).
  - **end-to-end**: a fresh copy, the worker running while the client submits;
    n / (max ``handed_off_at`` − the first request), both UTC epoch seconds.

* CPU per message: the server's utime + stime (``/proc/<pid>/stat``) over the
  phase, and the client's ``process_time``, divided by n; the load average is
  printed with each mode. ``--repeats R`` runs every phase R times (fresh copies)
  and prints medians.
* Machine speed: the header line times a fixed pure-Python loop (20 million
  additions, best of 3) before the run, so figures from different machines or
  sessions can be put side by side: the same code ran 1.8x slower on one of this
  project's machines than on another.
* ``--db postgresql://...``: the scale-out engine. A template database and one
  copy per phase (``CREATE DATABASE … TEMPLATE``) are created on that server and
  dropped afterwards; the API runs no worker and ``--workers N`` ``frontdesk
  worker`` processes hand off (their CPU is reported as "workers"). The hand-off
  phase's wall time and CPU there include starting those processes (≈ 1–2 s of
  imports each); its span rate does not.
* ``--external-worker`` (SQLite): the API runs no worker and ``--workers N``
  ``frontdesk worker`` processes deliver from the same file, as on PostgreSQL — for
  comparison only; the embedded default is the worker thread in the API process.
* ``--profile PATH``: the first round's server runs under ``bench/_serve.py``
  (cProfile in thread CPU time in every thread: event loop, committer, worker) and writes
  ``PATH`` with ``.<mode>-<phase>`` before the suffix. Profiled figures are slower.

Usage::

    .venv/bin/python bench/throughput.py --mode bulk --messages 20000
    .venv/bin/python bench/throughput.py --mode single --messages 5000
    .venv/bin/python bench/throughput.py --messages 100000 --repeats 3
    .venv/bin/python bench/throughput.py --db postgresql://postgres@127.0.0.1/postgres --workers 2
    .venv/bin/python bench/throughput.py --mode bulk --messages 20000 --profile /tmp/server.prof
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import _load

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ADMIN = "bench-admin-token"
NUMBER = "+14155550100"
AREA_CODES = ("305", "212", "312", "303", "415", "808")
MAX_FREQUENCY_CAP = 20  # services/settings.py: frequency_cap le=20
IMPORT_ROWS = 2000
TICK = os.sysconf("SC_CLK_TCK")


def recipients(count: int, area: str) -> list[str]:
    return [f"+1{area}{2000000 + i:07d}" for i in range(count)]


def pick_area_code() -> str:
    """The first area code where reminders may go now and in an hour (R-Q-01/03)."""
    from frontdesk.domain import quiet_hours
    from frontdesk.domain.gate import Category

    now = datetime.now(UTC)
    for area in AREA_CODES:
        who = quiet_hours.Recipient(e164=recipients(1, area)[0])
        if all(
            quiet_hours.check(
                now + timedelta(hours=h),
                who,
                Category.APPOINTMENT_REMINDER,
                tenant_timezone="America/New_York",
            ).allowed
            for h in (0, 1)
        ):
            return area
    raise SystemExit(
        f"{now:%H:%M} UTC: appointment reminders are in quiet hours in every area code tried "
        f"({', '.join(AREA_CODES)}); they would be scheduled, not queued. Run between 13:00 "
        "and 05:00 UTC or pass --area-code."
    )


# Databases ------------------------------------------------------------------------------------
class SqliteStore:
    """Temporary SQLite files: a template set up once, a copy per phase."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    def _path(self, url: str) -> Path:
        return Path(url.removeprefix("sqlite:///"))

    def template(self) -> str:
        return f"sqlite:///{self.tmp / 'template.db'}"

    def seal(self, url: str) -> None:
        with sqlite3.connect(self._path(url)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def fresh(self, tag: str) -> str:
        path = self.tmp / f"{tag}.db"
        shutil.copyfile(self._path(self.template()), path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self._path(url)}{suffix}").unlink(missing_ok=True)

    def _query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self._path(url)}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def progress(self, url: str) -> tuple[int, int]:
        total, handed = self._query(url, "SELECT count(*), count(handed_off_at) FROM messages")[0]
        return int(handed), int(total)

    def span(self, url: str) -> tuple[float, float]:
        lo, hi = self._query(url, "SELECT min(handed_off_at), max(handed_off_at) FROM messages")[0]
        # UTCDateTime stores naive UTC text on SQLite (storage/types.py).
        return tuple(  # type: ignore[return-value]
            datetime.fromisoformat(v).replace(tzinfo=UTC).timestamp() for v in (lo, hi)
        )

    def statuses(self, url: str) -> dict[str, int]:
        rows = self._query(url, "SELECT status, count(*) FROM messages GROUP BY status")
        return {str(s): int(n) for s, n in rows}


class PostgresStore:
    """Scratch databases on the ``--db`` server: ``fdtp_<pid>_<tag>``, dropped at the end."""

    def __init__(self, base: str) -> None:
        from sqlalchemy.engine import make_url

        self.base = make_url(base.replace("postgres://", "postgresql://", 1))
        self.created: list[str] = []

    def _url(self, name: str) -> str:
        return self.base.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False
        )

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self._url(self.base.database or "postgres"), autocommit=True) as c:
            c.execute(sql)  # type: ignore[arg-type]

    def _name(self, tag: str) -> str:
        return f"fdtp_{os.getpid()}_{tag}".lower()

    def template(self) -> str:
        name = self._name("template")
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self._url(name)

    def seal(self, url: str) -> None:
        pass

    def fresh(self, tag: str) -> str:
        name = self._name(tag)
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._name("template")}"')
        self.created.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop(self._url(name))

    def _query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]

    def progress(self, url: str) -> tuple[int, int]:
        total, handed = self._query(url, "SELECT count(*), count(handed_off_at) FROM messages")[0]
        return int(handed), int(total)

    def span(self, url: str) -> tuple[float, float]:
        lo, hi = self._query(
            url,
            "SELECT extract(epoch FROM min(handed_off_at)), extract(epoch FROM max(handed_off_at))"
            " FROM messages",
        )[0]
        return float(lo), float(hi)

    def statuses(self, url: str) -> dict[str, int]:
        rows = self._query(url, "SELECT status, count(*) FROM messages GROUP BY status")
        return {str(s): int(n) for s, n in rows}


Store = SqliteStore | PostgresStore


# Processes ------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log: IO[bytes]
    name: str

    def cpu(self) -> float:
        return cpu_seconds(self.popen.pid)

    def tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def stop(self, sig: int = signal.SIGINT) -> None:
        """Graceful stop (uvicorn drains and runs the lifespan's shutdown), then kill."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} {self.popen.pid} did not stop; killed", file=sys.stderr)
                self.popen.kill()
                self.popen.wait()
        self.log.close()


def _env(url: str, worker: bool) -> dict[str, str]:
    return {
        **os.environ,
        "FRONTDESK_DATABASE_URL": url,
        "FRONTDESK_ADMIN_TOKEN": ADMIN,
        "FRONTDESK_PROVIDER": "simulator",
        "FRONTDESK_SIMULATOR_PROFILE": "clean",
        "FRONTDESK_WORKER_IDLE_SECONDS": "0.05",
        "FRONTDESK_EMBEDDED_WORKER": "true" if worker else "false",
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _spawn(cmd: list[str], env: dict[str, str], cwd: Path, name: str) -> Proc:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Proc.stop)
    popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    return Proc(popen, log, name)


@contextmanager
def server(url: str, cwd: Path, *, worker: bool, profile: str | None = None) -> Iterator[Server]:
    port = _free_port()
    where = ["--host", HOST, "--port", str(port)]
    if profile:
        cmd = [sys.executable, str(ROOT / "bench" / "_serve.py"), profile, *where]
    else:
        cmd = [sys.executable, "-m", "frontdesk.cli.main", "serve", "--no-seed", *where]
    proc = _spawn(cmd, _env(url, worker), cwd, "server")
    try:
        srv = Server(proc, port)
        srv.wait_ready()
        yield srv
    finally:
        proc.stop()


@contextmanager
def workers(url: str, cwd: Path, count: int) -> Iterator[list[Proc]]:
    cmd = [sys.executable, "-m", "frontdesk.cli.main", "worker"]
    procs: list[Proc] = []
    try:
        for _ in range(count):
            procs.append(_spawn(cmd, _env(url, False), cwd, "worker"))
        yield procs
    finally:
        for p in procs:
            p.stop(signal.SIGTERM)


@dataclass
class Server:
    proc: Proc
    port: int
    ready_at: float = 0.0

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.popen.poll() is not None:
                raise SystemExit(
                    f"the server exited ({self.proc.popen.returncode}):\n{self.proc.tail()}"
                )
            try:
                status, _ = self.call("GET", "/healthz")
                if status == 200:
                    self.ready_at = time.time()
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer /healthz:\n{self.proc.tail()}")
            time.sleep(0.02)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        csv: bytes | None = None,
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=600)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data: bytes | None = None
        if csv is not None:
            data, headers["Content-Type"] = csv, "text/csv"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return resp.status, (json.loads(raw) if raw else None)

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, out = self.call(method, path, body, **kw)
        if not 200 <= status < 300:
            raise SystemExit(f"set-up: {method} {path} -> {status}: {json.dumps(out)[:500]}")
        return out


# Set-up ---------------------------------------------------------------------------------------
def set_up(srv: Server, phones: list[str]) -> str:
    """The tenant, policy, number, frequency cap and consents; the tenant's API key."""
    tenant = srv.ok(
        "POST",
        "/v1/tenants",
        {
            "name": "Bright Smile Dental",
            "timezone": "America/New_York",
            "support_email": "hello@brightsmile.example",
            "support_phone": "+14155550199",
        },
        token=ADMIN,
    )
    key: str = tenant["api_key"]
    version = srv.ok("GET", "/v1/policy", token=key)["version"]
    srv.ok("POST", "/v1/policy/accept", {"version": version, "accepted_by": "Owner"}, token=key)
    srv.ok("POST", "/v1/numbers", {"number": NUMBER, "provider": "simulator"}, token=key)
    srv.ok("PATCH", "/v1/tenant/settings", {"frequency_cap": MAX_FREQUENCY_CAP}, token=key)
    captured = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    for start in range(0, len(phones), IMPORT_ROWS):
        chunk = phones[start : start + IMPORT_ROWS]
        rows = "".join(
            f"{p},informational,web_form,{captured},https://brightsmile.example/join,203.0.113.9\n"
            for p in chunk
        )
        out = srv.ok(
            "POST",
            "/v1/consents/import",
            token=key,
            csv=f"phone,scope,method,captured_at,form,ip\n{rows}".encode(),
        )
        if out["accepted"] != len(chunk):
            raise SystemExit(f"set-up: consent import refused rows: {out['rejected'][:3]}")
    return key


# Client ---------------------------------------------------------------------------------------
def _client_main(conn: Any, kwargs: dict[str, Any]) -> None:
    try:
        conn.send({"ok": _load.run(**kwargs)})
    except BaseException:
        conn.send({"error": traceback.format_exc()})
    finally:
        conn.close()


def load(port: int, mode: str, n: int, phones: list[str], key: str, conc: int) -> dict[str, Any]:
    """Run the client in a forked process and check that every message was queued."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    kwargs = {
        "host": HOST,
        "port": port,
        "mode": mode,
        "n": n,
        "phones": phones,
        "api_key": key,
        "concurrency": conc,
    }
    proc = ctx.Process(target=_client_main, args=(child, kwargs), daemon=True)
    proc.start()
    child.close()
    try:
        result: dict[str, Any] = parent.recv()
    except EOFError:
        result = {"error": f"the client process died (exit {proc.exitcode})"}
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    if "error" in result:
        raise SystemExit(f"client failed:\n{result['error']}")
    out: dict[str, Any] = result["ok"]
    if out["queued"] != n or out["refused"]:
        raise SystemExit(
            f"{n - out['queued']} of {n} messages were not queued: {out['refused']}; "
            f"e.g. {out['samples']}"
        )
    return out


# Phases ---------------------------------------------------------------------------------------
@dataclass
class Ctx:
    args: argparse.Namespace
    store: Store
    tmp: Path
    phones: list[str]
    key: str
    figures: dict[str, list[float]] = field(default_factory=dict)

    def note(self, name: str, value: float) -> None:
        self.figures.setdefault(name, []).append(value)

    @property
    def pg(self) -> bool:
        """Workers run as separate ``frontdesk worker`` processes (PostgreSQL, or SQLite
        with ``--external-worker``)."""
        return isinstance(self.store, PostgresStore) or self.args.external_worker


def wait_handed_off(ctx: Ctx, url: str, n: int, procs: list[Proc]) -> float:
    """Poll until all n messages have ``handed_off_at``; the time.time() it was seen."""
    last, since = -1, time.monotonic()
    while True:
        handed, total = ctx.store.progress(url)
        if total >= n and handed >= total:
            return time.time()
        if handed != last:
            last, since = handed, time.monotonic()
        dead = [p for p in procs if p.popen.poll() is not None]
        if dead or time.monotonic() - since > ctx.args.stall:
            why = f"{dead[0].name} exited" if dead else "no progress for 120 s"
            why += "".join(f"\n--- {p.name} {p.popen.pid} stderr:\n{p.tail()}" for p in procs)
            raise SystemExit(
                f"hand-off stalled at {handed}/{total} ({why}); statuses {ctx.store.statuses(url)}"
            )
        time.sleep(0.2)


def _profile(ctx: Ctx, mode: str, phase: str, round_no: int) -> str | None:
    if not ctx.args.profile or round_no:
        return None
    path = Path(ctx.args.profile)
    return str(path.with_name(f"{path.stem}.{mode}-{phase}{path.suffix or '.prof'}"))


def phase_accept_handoff(ctx: Ctx, mode: str, round_no: int) -> None:
    n, args = ctx.args.messages, ctx.args
    url = ctx.store.fresh(f"{mode}{round_no}a")
    try:
        with server(
            url, ctx.tmp, worker=False, profile=_profile(ctx, mode, "accept", round_no)
        ) as s:
            cpu0 = s.proc.cpu()
            out = load(s.port, mode, n, ctx.phones, ctx.key, args.concurrency)
            cpu = s.proc.cpu() - cpu0
        ctx.note("accept", n / (out["t_last"] - out["t_first"]))
        ctx.note("accept_server_ms", 1000 * cpu / n)
        ctx.note("accept_client_ms", 1000 * out["cpu"] / n)
        ctx.note("accept_p50_ms", out["p50_ms"])
        ctx.note("accept_p99_ms", out["p99_ms"])
        profile = _profile(ctx, mode, "handoff", round_no)
        with ExitStack() as stack:
            if ctx.pg:
                start = time.time()
                procs = stack.enter_context(workers(url, ctx.tmp, args.workers))
            else:
                s = stack.enter_context(server(url, ctx.tmp, worker=True, profile=profile))
                start, procs = s.ready_at, [s.proc]
            cpu0s = [p.cpu() for p in procs]
            done = wait_handed_off(ctx, url, n, procs)
            cpu = sum(p.cpu() for p in procs) - sum(cpu0s)
        lo, hi = ctx.store.span(url)
        ctx.note("handoff", n / (hi - lo))
        ctx.note("handoff_wall", done - start)
        ctx.note("handoff_cpu_ms", 1000 * cpu / n)
    finally:
        ctx.store.drop(url)


def phase_end_to_end(ctx: Ctx, mode: str, round_no: int) -> None:
    n, args = ctx.args.messages, ctx.args
    url = ctx.store.fresh(f"{mode}{round_no}b")
    profile = _profile(ctx, mode, "e2e", round_no)
    try:
        with ExitStack() as stack:
            s = stack.enter_context(server(url, ctx.tmp, worker=not ctx.pg, profile=profile))
            procs = [s.proc]
            if ctx.pg:
                procs += stack.enter_context(workers(url, ctx.tmp, args.workers))
                time.sleep(1.0)  # let the workers import, connect and LISTEN
            cpu0s = [p.cpu() for p in procs]
            out = load(s.port, mode, n, ctx.phones, ctx.key, args.concurrency)
            done = wait_handed_off(ctx, url, n, procs)
            cpus = [p.cpu() - c for p, c in zip(procs, cpu0s, strict=True)]
        _, hi = ctx.store.span(url)
        ctx.note("e2e", n / (hi - out["t_first"]))
        ctx.note("e2e_seen", n / (done - out["t_first"]))
        ctx.note("e2e_server_ms", 1000 * cpus[0] / n)
        ctx.note("e2e_workers_ms", 1000 * sum(cpus[1:]) / n)
        ctx.note("e2e_client_ms", 1000 * out["cpu"] / n)
    finally:
        ctx.store.drop(url)


def report(ctx: Ctx, mode: str, loads: tuple[float, float]) -> None:
    m = {k: statistics.median(v) for k, v in ctx.figures.items()}
    r = len(ctx.figures["accept"])
    who = f"{ctx.args.workers} worker process(es)" if ctx.pg else "server, embedded worker"
    print(
        f"{mode:6s}  accept     {m['accept']:7.0f} msg/s   server CPU "
        f"{m['accept_server_ms']:.3f} ms/msg, client CPU {m['accept_client_ms']:.3f} ms/msg, "
        f"request latency p50 {m['accept_p50_ms']:.1f} ms, p99 {m['accept_p99_ms']:.1f} ms"
    )
    print(
        f"        hand-off   {m['handoff']:7.0f} msg/s   (handed_off_at span; "
        f"{m['handoff_wall']:.1f} s from ready to all handed off = "
        f"{ctx.args.messages / m['handoff_wall']:.0f} msg/s) CPU {m['handoff_cpu_ms']:.3f} "
        f"ms/msg ({who})"
    )
    workers_cpu = f", workers {m['e2e_workers_ms']:.3f}" if ctx.pg else ""
    print(
        f"        end-to-end {m['e2e']:7.0f} msg/s   (first request -> last handed_off_at; "
        f"{m['e2e_seen']:.0f} msg/s to the poll that saw it) CPU ms/msg: server "
        f"{m['e2e_server_ms']:.3f}{workers_cpu}, client {m['e2e_client_ms']:.3f}"
    )
    print(f"        median of {r}; load average {loads[0]:.2f} before, {loads[1]:.2f} after")
    sys.stdout.flush()


def machine_loop_seconds(repeats: int = 3) -> float:
    """Best wall time of a fixed pure-Python loop: this machine's speed right now."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(20_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--mode", choices=("bulk", "single", "both"), default="both")
    parser.add_argument("--concurrency", type=int, default=None, help="client connections")
    parser.add_argument("--db", default=None, help="postgresql://... (default: temp SQLite)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL)")
    parser.add_argument(
        "--external-worker",
        action="store_true",
        help="SQLite: deliver with --workers separate `frontdesk worker` processes, not the "
        "worker thread inside the API process (for comparison; not the embedded default)",
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--area-code", default=None, help="recipients' area code (default: auto)")
    parser.add_argument("--stall", type=float, default=120, help="give up after this idle time")
    parser.add_argument("--profile", default=None, help="cProfile the server into PATH.*.prof")
    args = parser.parse_args()
    args.recipients = min(args.recipients, args.messages)
    if math.ceil(args.messages / args.recipients) > MAX_FREQUENCY_CAP:
        parser.error(f"--messages may be at most {MAX_FREQUENCY_CAP} x --recipients (R-Q-04)")
    if args.db is None and args.workers != 1 and not args.external_worker:
        parser.error("--workers applies to PostgreSQL or to SQLite with --external-worker")
    area = args.area_code or pick_area_code()
    phones = recipients(args.recipients, area)
    modes = ("bulk", "single") if args.mode == "both" else (args.mode,)
    print(
        f"messages={args.messages} recipients={args.recipients} (+1 {area}) "
        f"db={'sqlite (temp)' if args.db is None else args.db.split('@')[-1]} "
        f"workers={'embedded' if args.db is None else args.workers} cpus={os.cpu_count()} "
        f"python={sys.version.split()[0]} {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"loop={machine_loop_seconds():.2f}s"
    )
    with tempfile.TemporaryDirectory(prefix="fd-throughput-") as tmp_name:
        tmp = Path(tmp_name)
        store: Store = SqliteStore(tmp) if args.db is None else PostgresStore(args.db)
        try:
            template = store.template()
            t0, cpu0 = time.perf_counter(), 0.0
            with server(template, tmp, worker=False) as srv:
                cpu0 = srv.proc.cpu()
                key = set_up(srv, phones)
                setup_cpu = srv.proc.cpu() - cpu0
            store.seal(template)
            print(
                f"set-up (not timed): {time.perf_counter() - t0:.1f} s, server CPU "
                f"{setup_cpu:.1f} s for {len(phones)} consents"
            )
            for mode in modes:
                conc = args.concurrency or (2 if mode == "bulk" else 32)
                ctx = Ctx(
                    argparse.Namespace(**{**vars(args), "concurrency": conc}),
                    store,
                    tmp,
                    phones,
                    key,
                )
                before = os.getloadavg()[0]
                for i in range(args.repeats):
                    phase_accept_handoff(ctx, mode, i)
                    phase_end_to_end(ctx, mode, i)
                report(ctx, mode, (before, os.getloadavg()[0]))
        finally:
            if isinstance(store, PostgresStore):
                store.drop_all()
    if args.profile:
        print(f"server profiles written next to {args.profile} (first round of each phase)")


if __name__ == "__main__":
    main()
