"""Real carriers, end to end, at carrier speed (issue 12).

Method
------
* The service is the real ``frontdesk serve --no-seed`` (and, on PostgreSQL, real
  ``frontdesk worker`` processes), started the way ``bench/throughput.py`` starts it
  and measured with its machinery (its :class:`~throughput.Server`, stores, load
  client ``_load.py``, ``/proc/<pid>/stat`` CPU and machine loop): every response
  must be 2xx and every message in it ``queued``, or the phase fails — refusals never
  count. The service's code is copied into the run's temporary directory first and
  every Frontdesk process imports that copy (``PYTHONPATH``), so edits made to
  ``src/`` while the benchmark runs do not mix into one run; the header prints the
  copy's hash and the commit it sits on.
* The carrier is a separate process on 127.0.0.1, never the in-process simulator:

  - **REST** (``FRONTDESK_PROVIDER=twilio``): ``tests/support/twilio_standin.py``,
    answering every create after ``--latency`` (0.15 s) and, by default, posting
    Twilio's signed ``sent`` and ``delivered`` status callbacks to
    ``FRONTDESK_PUBLIC_BASE_URL`` 0.05 s and 0.1 s after its answer, as Twilio does
    for a send that names a StatusCallback (``--no-callbacks`` turns them off).
  - **SMPP** (``FRONTDESK_PROVIDER=smpp``): ``smsc_sim.py`` from the peer directory,
    answering every ``submit_sm`` at once, on ports other than the Jasmin peer's.

* Set-up, over HTTP and not timed, once per carrier into a template database: a
  tenant, the messaging policy accepted, 10DLC registration *as enforced on every
  carrier deployment* — ``POST /v1/brands``, ``POST /v1/campaigns`` (submitted; a
  draft would be submitted with ``.../submit``), the admin's ``POST
  /v1/campaigns/{id}/review`` ``approved``, ``POST /v1/numbers {number, provider,
  campaign_id}`` — checked with ``GET /v1/tenants/{id}/enforcement``
  (``require_registration`` must be true), and consents (CSV import) for ``N``
  recipients (one message each, so a duplicate or a loss shows as a destination
  received twice or never) plus the STOP senders. Every phase runs on a fresh copy
  of its template: no messages.
* A phase: the carrier and the service start; the clock starts at the client's first
  request; ``N`` messages go in (``single``: ``POST /v1/messages``, 32 keep-alive
  connections; ``bulk``: ``POST /v1/messages/batch``, 1,000 a call, 2 connections);
  the phase ends when the carrier has received the ``N``-th message. **msg/s = N /
  (arrival of the last of the N at the carrier − the first request)**, both on the
  same clock (REST: the stand-in's ``received_at``, epoch seconds; SMPP: smsc_sim's
  ``time.monotonic``, the first request converted to it). Also printed: the accept
  rate and request latency the client saw while the carrier was being fed, and the
  CPU per message of the server, the workers, the carrier and the client over the
  window (utime + stime).
* STOP during the load (REST phases): a second client process sends ``POST
  /v1/inbound`` ``STOP`` from consented patients (not among the N recipients)
  ``--stops-per-second`` times a second, one keep-alive connection, from before the
  first request until the ``N``-th message arrives. Each answer must be 200 with
  ``suppressed`` among its actions: the opt-out is committed when it returns, so its
  latency is what the brief's "committed in" means. p50/p99/max and the count are
  of the STOPs sent inside the load window. Their confirmation texts go to the
  carrier too and are left out of the N.
* After the window: the phase waits until no message is ``queued`` and the counts
  stopped moving (bounded), then reads the carrier's record: how many of the N
  destinations it received more than once (duplicates) and never (lost), and the
  database's message statuses.
* Jasmin 0.11.1 (``jasmin`` phase): ``jasmin-bench.sh`` from the peer directory,
  run on demand with ``PHASES=http N_SMALL=N N_LARGE=N CONCS=32 REPS=1`` — its
  HTTP ``/send`` at 32 connections into its own smsc_sim, end to end from the first
  request to the N-th ``submit_sm``; its JSON lines are read from
  ``$PEER_DIR/results/runs.jsonl`` (the runs with n = N at 32 connections; the
  median is taken). The ratio Frontdesk SMPP / Jasmin is printed when both ran.
  The peer uses ports 1401 2775 8988 8989 8990 14000 2780 2781 and the machine's
  Redis and RabbitMQ; phases never overlap.
* ``--repeats R`` runs each phase R times (a fresh copy each time) and the summary
  gives medians; one JSON line per run goes to ``--out``.

Usage::

    .venv/bin/python bench/carrier.py --phases sqlite-single sqlite-bulk --messages 5000
    .venv/bin/python bench/carrier.py --phases smpp-single smpp-bulk jasmin \\
        --peer-dir /tmp/peer --out /tmp/carrier.jsonl
    .venv/bin/python bench/carrier.py --repeats 3 --out /tmp/carrier.jsonl   (everything)
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import throughput as tp

ROOT = tp.ROOT
HOST = tp.HOST
ADMIN = tp.ADMIN
NUMBER = tp.NUMBER
ACCOUNT_SID = "AC" + "5eb1" * 8  # AC followed by 32 hex digits
AUTH_TOKEN = "carrier-bench-auth-token"
SMPP_SYSTEM_ID = "frontdesk"
SMPP_PASSWORD = "benchpw"
STANDIN = ROOT / "tests" / "support" / "twilio_standin.py"
JASMIN_PORTS = (1401, 2775, 8988, 8989, 8990, 14000, 2780, 2781)
PHASES = (
    "sqlite-single",
    "sqlite-bulk",
    "pg-single",
    "pg-bulk",
    "smpp-single",
    "smpp-bulk",
    "jasmin",
)
# msg/s end to end (issue 12)
TARGETS = {"sqlite-single": 500, "sqlite-bulk": 500, "pg-single": 1500, "pg-bulk": 1500}
SINGLE_ACCEPT_TARGET = 1000  # POST /v1/messages/s during the SQLite load, 32 connections
STOP_P99_TARGET_MS = 50.0
JASMIN_RATIO_TARGET = 5.0
STOP_SENDERS = 1000  # consented patients who may text STOP (bounds the STOP client)

BRAND: dict[str, Any] = {  # tests/api/test_registry.py
    "legal_name": "Bright Smile Dental LLC",
    "ein": "12-3456789",
    "entity_type": "PRIVATE_PROFIT",
    "vertical": "HEALTHCARE",
    "website": "https://brightsmile.example",
    "email": "hello@brightsmile.example",
    "phone": "(415) 555-0199",
}
CAMPAIGN: dict[str, Any] = {
    "use_case": "MIXED",
    "sub_use_cases": ["CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"],
    "description": (
        "Bright Smile Dental texts its patients appointment confirmations, reminders and "
        "follow-ups to missed calls."
    ),
    "message_flow": (
        "Patients opt in on the booking form at https://brightsmile.example/book by ticking an "
        "unticked SMS consent box, or by texting JOIN to our number."
    ),
    "sample_messages": [
        "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm. "
        "Reply STOP to opt out.",
        "Bright Smile Dental: sorry we missed your call! How can we help? Reply STOP to opt out.",
    ],
    "help_message": (
        "Bright Smile Dental: call (415) 555-0199 or email hello@brightsmile.example. "
        "Reply STOP to opt out."
    ),
    "optout_message": "Bright Smile Dental: you are unsubscribed and will not receive more texts.",
    "embedded_links": False,
    "embedded_phone": False,
    "age_gated": False,
    "direct_lending": False,
}


class PhaseFailed(Exception):
    """A phase could not produce a figure (refusals, a stall, a process that died)."""


# The code under test -------------------------------------------------------------------------
def snapshot_source(dest: Path) -> str:
    """Copy src/frontdesk into ``dest`` (the Frontdesk processes import it); its hash."""
    src = ROOT / "src" / "frontdesk"
    shutil.copytree(src, dest / "frontdesk", ignore=shutil.ignore_patterns("__pycache__"))
    digest = hashlib.sha256()
    for path in sorted((dest / "frontdesk").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(dest)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def git_head() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--", "src")
    return git("rev-parse", "--short", "HEAD") + ("+uncommitted src" if dirty else "")


# Carriers ------------------------------------------------------------------------------------
def _get_json(port: int, path: str, timeout: float = 30) -> Any:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            raise PhaseFailed(f"GET {path} -> {resp.status}: {raw[:300]!r}")
        return json.loads(raw)
    finally:
        conn.close()


@dataclass
class Carrier:
    """A carrier stand-in process: its CPU, what it has received."""

    proc: tp.Proc
    port: int
    kind: str  # "twilio" or "smpp"
    ctl_port: int = 0

    def stats(self) -> dict[str, Any]:
        if self.kind == "twilio":
            out: dict[str, Any] = _get_json(self.port, "/_standin/stats")
            return out
        with socket.create_connection((HOST, self.ctl_port), timeout=10) as s:
            s.sendall(b"STATS\n")
            return dict(json.loads(s.makefile().readline()))

    def received(self) -> int:
        st = self.stats()
        return int(st["received"] if self.kind == "twilio" else st["count"])

    def records(self) -> list[dict[str, Any]]:
        """The stand-in's record of every create (REST only)."""
        out: list[dict[str, Any]] = _get_json(self.port, "/_standin/messages", timeout=120)
        return out


def _spawn_carrier(cmd: list[str], name: str, tmp: Path) -> tuple[subprocess.Popen[bytes], Any]:
    log = tempfile.TemporaryFile(dir=tmp)  # noqa: SIM115 (closed by Proc.stop)
    popen = subprocess.Popen(
        cmd, cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
    )
    return popen, log


@contextmanager
def twilio_standin(args: argparse.Namespace, tmp: Path) -> Iterator[Carrier]:
    cmd = [
        sys.executable,
        str(STANDIN),
        "--port",
        "0",
        "--latency",
        repr(args.latency),
        "--auth-token",
        AUTH_TOKEN,
        "--account-sid",
        ACCOUNT_SID,
    ]
    if args.callbacks:
        cmd.append("--callbacks")
    popen, log = _spawn_carrier(cmd, "twilio-standin", tmp)
    proc = tp.Proc(popen, log, "twilio-standin")
    try:
        assert popen.stdout is not None
        line = tp_read_line(popen.stdout, 30)
        try:
            port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            raise PhaseFailed(
                f"the Twilio stand-in did not start ({line!r}):\n{proc.tail()}"
            ) from None
        yield Carrier(proc, port, "twilio")
    finally:
        proc.stop(signal.SIGTERM)
        if popen.stdout is not None:
            popen.stdout.close()


@contextmanager
def smsc(args: argparse.Namespace, tmp: Path) -> Iterator[Carrier]:
    port, ctl = free_port(), free_port()
    cmd = [
        sys.executable,
        str(args.peer / "smsc_sim.py"),
        "--port",
        str(port),
        "--ctl-port",
        str(ctl),
        "--max-seconds",
        "3600",
    ]
    popen, log = _spawn_carrier(cmd, "smsc_sim", tmp)
    proc = tp.Proc(popen, log, "smsc_sim")
    try:
        assert popen.stdout is not None
        line = tp_read_line(popen.stdout, 30)
        if "listening" not in line:
            raise PhaseFailed(f"smsc_sim did not start ({line!r}):\n{proc.tail()}")
        yield Carrier(proc, port, "smpp", ctl)
    finally:
        proc.stop(signal.SIGTERM)
        if popen.stdout is not None:
            popen.stdout.close()


def tp_read_line(stream: Any, timeout: float) -> str:
    import select

    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline().decode(errors="replace").strip() if ready else ""


def free_port() -> int:
    """A free loopback port, never one the Jasmin peer needs."""
    while True:
        port = tp._free_port()
        if port not in JASMIN_PORTS:
            return port


# The service ---------------------------------------------------------------------------------
def service_env(
    args: argparse.Namespace,
    url: str,
    carrier: Carrier | None,
    kind: str,
    port: int,
    *,
    worker: bool,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(
        {
            "PYTHONPATH": str(args.code),
            "FRONTDESK_DATABASE_URL": url,
            "FRONTDESK_ADMIN_TOKEN": ADMIN,
            "FRONTDESK_EMBEDDED_WORKER": "true" if worker else "false",
            "FRONTDESK_LOG_LEVEL": "WARNING",
            "FRONTDESK_PROVIDER": kind,
        }
    )
    if args.max_in_flight is not None:
        env["FRONTDESK_WORKER_MAX_IN_FLIGHT"] = str(args.max_in_flight)
    if kind == "twilio":
        env.update(
            {
                "FRONTDESK_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "FRONTDESK_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                # set-up sends nothing: a closed port stands in for the carrier there
                "FRONTDESK_TWILIO_API_BASE": f"http://{HOST}:{carrier.port if carrier else 9}",
                "FRONTDESK_PUBLIC_BASE_URL": f"http://{HOST}:{port}",
            }
        )
    else:
        env.update(
            {
                "FRONTDESK_SMPP_HOST": HOST,
                "FRONTDESK_SMPP_PORT": str(carrier.port if carrier else 9),
                "FRONTDESK_SMPP_SYSTEM_ID": SMPP_SYSTEM_ID,
                "FRONTDESK_SMPP_PASSWORD": SMPP_PASSWORD,
            }
        )
        if args.smpp_window is not None:
            env["FRONTDESK_SMPP_WINDOW"] = str(args.smpp_window)
    return env


@contextmanager
def serve(
    args: argparse.Namespace, url: str, carrier: Carrier | None, kind: str, *, worker: bool
) -> Iterator[tp.Server]:
    port = free_port()
    cmd = [sys.executable, "-m", "frontdesk.cli.main", "serve", "--no-seed"]
    cmd += ["--host", HOST, "--port", str(port)]
    env = service_env(args, url, carrier, kind, port, worker=worker)
    proc = tp._spawn(cmd, env, args.tmp, "server")
    try:
        srv = tp.Server(proc, port)
        srv.wait_ready()
        yield srv
    finally:
        proc.stop()


@contextmanager
def workers(
    args: argparse.Namespace, url: str, carrier: Carrier, srv: tp.Server
) -> Iterator[list[tp.Proc]]:
    """``frontdesk worker`` processes, each waited for until it says it runs."""
    cmd = [sys.executable, "-m", "frontdesk.cli.main", "worker"]
    env = service_env(args, url, carrier, carrier.kind, srv.port, worker=False)
    procs: list[tp.Proc] = []
    try:
        for i in range(args.workers):
            log = tempfile.TemporaryFile(dir=args.tmp)  # noqa: SIM115 (closed by Proc.stop)
            popen = subprocess.Popen(cmd, cwd=args.tmp, env=env, stdout=log, stderr=log)
            procs.append(tp.Proc(popen, log, f"worker{i}"))
        deadline = time.monotonic() + 60
        for p in procs:
            while f"worker {p.popen.pid} on" not in p.tail():
                if p.popen.poll() is not None or time.monotonic() > deadline:
                    raise PhaseFailed(f"{p.name} did not start:\n{p.tail()}")
                time.sleep(0.05)
        yield procs
    finally:
        for p in procs:
            p.stop(signal.SIGTERM)


# Set-up --------------------------------------------------------------------------------------
def set_up(srv: tp.Server, kind: str, phones: list[str]) -> str:
    """Tenant, policy, brand, approved campaign, the number linked, consents; the API key."""
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
    brand = srv.ok("POST", "/v1/brands", BRAND, token=key)
    campaign = srv.ok("POST", "/v1/campaigns", {**CAMPAIGN, "brand_id": brand["id"]}, token=key)
    if campaign["status"] == "draft":
        campaign = srv.ok("POST", f"/v1/campaigns/{campaign['id']}/submit", token=key)
    if campaign["status"] != "submitted":
        raise SystemExit(f"set-up: the campaign is {campaign['status']}: {campaign}")
    reviewed = srv.ok(
        "POST",
        f"/v1/campaigns/{campaign['id']}/review",
        {"decision": "approved", "note": "carrier benchmark"},
        token=ADMIN,
    )
    if reviewed["status"] != "approved":
        raise SystemExit(f"set-up: the review left the campaign {reviewed['status']}")
    linked = srv.ok(
        "POST",
        "/v1/numbers",
        {"number": NUMBER, "provider": kind, "campaign_id": campaign["id"]},
        token=key,
    )
    if linked["campaign_id"] != campaign["id"] or linked["provider"] != kind:
        raise SystemExit(f"set-up: the number was not linked: {linked}")
    enforcement = srv.ok("GET", f"/v1/tenants/{tenant['id']}/enforcement", token=ADMIN)
    if not enforcement["require_registration"]:
        raise SystemExit(f"set-up: registration is not enforced: {enforcement}")
    captured = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    for start in range(0, len(phones), tp.IMPORT_ROWS):
        chunk = phones[start : start + tp.IMPORT_ROWS]
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


# The STOP client -----------------------------------------------------------------------------
def _stop_main(conn: Any, port: int, key: str, phones: list[str], rate: float, done: Any) -> None:
    """POST /v1/inbound STOP ``rate`` times a second until ``done``; (sent_at, ms, ok) each."""
    results: list[tuple[float, float, bool, str]] = []
    try:
        http_conn = http.client.HTTPConnection(HOST, port, timeout=60)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        next_at = time.perf_counter()
        for i, phone in enumerate(phones):
            if done.is_set():
                break
            body = json.dumps(
                {"from": phone, "to": NUMBER, "body": "STOP", "id": f"bench-stop-{i}"}
            ).encode()
            sent_at = time.time()
            t0 = time.perf_counter()
            http_conn.request("POST", "/v1/inbound", body=body, headers=headers)
            resp = http_conn.getresponse()
            raw = resp.read()
            ms = 1000 * (time.perf_counter() - t0)
            ok, why = False, f"http {resp.status}: {raw[:200]!r}"
            if resp.status == 200:
                actions = json.loads(raw).get("actions", [])
                ok, why = "suppressed" in actions, ",".join(actions)
            results.append((sent_at, ms, ok, why))
            next_at += 1 / rate
            done.wait(max(0.0, next_at - time.perf_counter()))
        http_conn.close()
        conn.send({"ok": results})
    except BaseException:
        conn.send({"error": traceback.format_exc(), "ok": results})
    finally:
        conn.close()


@dataclass
class StopClient:
    proc: Any
    pipe: Any
    done: Any

    @classmethod
    def start(cls, port: int, key: str, phones: list[str], rate: float) -> StopClient:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe(duplex=False)
        done = ctx.Event()
        proc = ctx.Process(
            target=_stop_main, args=(child, port, key, phones, rate, done), daemon=True
        )
        proc.start()
        child.close()
        return cls(proc, parent, done)

    def cpu(self) -> float:
        try:
            return tp.cpu_seconds(self.proc.pid)
        except (FileNotFoundError, ProcessLookupError):
            return 0.0

    def finish(self) -> list[tuple[float, float, bool, str]]:
        self.done.set()
        try:
            got: dict[str, Any] = self.pipe.recv() if self.pipe.poll(90) else {"error": "no answer"}
        except EOFError:
            got = {"error": "the STOP client died"}
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()
        if "error" in got:
            raise PhaseFailed(f"STOP client failed:\n{got['error']}")
        out: list[tuple[float, float, bool, str]] = got["ok"]
        return out


# Phases --------------------------------------------------------------------------------------
@dataclass
class Run:
    args: argparse.Namespace
    area: str
    phones: list[str]
    stop_phones: list[str]
    stores: dict[str, tp.Store] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def store(self, db: str, kind: str) -> tuple[tp.Store, str]:
        """The template of (database, carrier), set up on first use."""
        name = f"{db}-{kind}"
        if name not in self.stores:
            if db == "pg":
                store: tp.Store = tp.PostgresStore(self.args.pg)
            else:
                (self.args.tmp / name).mkdir()
                store = tp.SqliteStore(self.args.tmp / name)
            template = store.template()
            self.stores[name] = store
            t0 = time.perf_counter()
            with serve(self.args, template, None, kind, worker=False) as srv:
                self.keys[name] = set_up(srv, kind, self.phones + self.stop_phones)
            store.seal(template)
            print(
                f"  set-up {name} (not timed): {time.perf_counter() - t0:.1f} s, "
                f"{len(self.phones) + len(self.stop_phones)} consents, campaign approved"
            )
        return self.stores[name], self.keys[name]


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else math.nan


def machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) / tp.TICK, (v[3] + v[4]) / tp.TICK


def postgres_cpu() -> float:
    """utime + stime of every live ``postgres`` process on the machine (its backends,
    which other users' tests may share: an upper bound for this phase's)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                total += tp.cpu_seconds(int(comm.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


def wait_received(carrier: Carrier, n: int, procs: list[tp.Proc], stall: float) -> None:
    last, since = -1, time.monotonic()
    while True:
        got = carrier.received()
        if got >= n:
            return
        if got != last:
            last, since = got, time.monotonic()
        dead = [p for p in [*procs, carrier.proc] if p.popen.poll() is not None]
        if dead or time.monotonic() - since > stall:
            why = f"{dead[0].name} exited" if dead else f"no progress for {stall:.0f} s"
            tails = "".join(f"\n--- {p.name} {p.popen.pid}:\n{p.tail()}" for p in procs)
            raise PhaseFailed(f"the carrier stalled at {got}/{n} ({why}){tails}")
        time.sleep(0.05)


def settle(store: tp.Store, url: str, limit: float = 60) -> dict[str, int]:
    """Statuses once nothing is queued and nothing changed for a second (bounded)."""
    deadline = time.monotonic() + limit
    last: dict[str, int] = {}
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        now = store.statuses(url)
        if now != last:
            last, stable_since = now, time.monotonic()
        elif not now.get("queued") and time.monotonic() - stable_since >= 1.0:
            break
        time.sleep(0.2)
    return last


def run_phase(run: Run, phase: str, round_no: int) -> dict[str, Any]:
    args = run.args
    db, mode = phase.split("-")
    kind = "smpp" if db == "smpp" else "twilio"
    db = "pg" if db == "pg" else "sqlite"
    n = args.messages
    store, key = run.store(db, kind)
    url = store.fresh(f"{phase}{round_no}")
    conc = args.concurrency or (2 if mode == "bulk" else 32)
    stops = kind == "twilio" and args.stops_per_second > 0
    out: dict[str, Any] = {
        "phase": phase,
        "round": round_no,
        "n": n,
        "mode": mode,
        "db": db,
        "provider": kind,
        "concurrency": conc,
        "latency_s": args.latency if kind == "twilio" else 0.0,
        "callbacks": bool(args.callbacks) if kind == "twilio" else None,
        "workers": args.workers if db == "pg" else "embedded",
        "max_in_flight": args.max_in_flight,
        "smpp_window": args.smpp_window if kind == "smpp" else None,
        "code": args.code_id,
        "load_before": os.getloadavg()[0],
    }
    try:
        with ExitStack() as stack:
            carrier = stack.enter_context(
                twilio_standin(args, args.tmp) if kind == "twilio" else smsc(args, args.tmp)
            )
            srv = stack.enter_context(serve(args, url, carrier, kind, worker=db == "sqlite"))
            procs = [srv.proc]
            if db == "pg":
                procs += stack.enter_context(workers(args, url, carrier, srv))
            if kind == "smpp":  # the binds happen as the worker loops start, before the clock
                deadline = time.monotonic() + 20
                while carrier.stats()["binds"] < 1:
                    if time.monotonic() > deadline:
                        raise PhaseFailed(f"no SMPP bind within 20 s: {carrier.stats()}")
                    time.sleep(0.05)
            spy = start_py_spy(args, phase, round_no, procs)
            cpu0 = [p.cpu() for p in procs]
            carrier_cpu0 = carrier.proc.cpu()
            busy0 = machine_busy()
            pg0 = postgres_cpu() if db == "pg" else 0.0
            stopper = (
                StopClient.start(srv.port, key, run.stop_phones, args.stops_per_second)
                if stops
                else None
            )
            mono_offset = time.time() - time.monotonic()
            load = tp.load(srv.port, mode, n, run.phones, key, conc)
            wait_received(carrier, n, procs, args.stall)
            seen = time.time()
            stop_cpu = stopper.cpu() if stopper else 0.0
            stop_results = stopper.finish() if stopper else []
            cpus = [p.cpu() - c for p, c in zip(procs, cpu0, strict=True)]
            carrier_cpu = carrier.proc.cpu() - carrier_cpu0
            busy1 = machine_busy()
            pg_cpu = postgres_cpu() - pg0 if db == "pg" else None
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            wanted = set(run.phones)
            if kind == "twilio":
                first_at, last_at, dup, lost, extra = twilio_record(carrier, wanted, n, args.stall)
            else:
                first_at, last_at = smpp_window(carrier, mono_offset)
            statuses = settle(store, url)
            if kind == "twilio":
                _, _, dup, lost, extra = twilio_record(carrier, wanted, n, args.stall)
                out["stop_replies_at_carrier"] = extra
            else:
                st = carrier.stats()
                dup, lost = st["count"] - st["distinct"], n - st["distinct"]
            t_first = load["t_first"]
            window = last_at - t_first
            out.update(
                {
                    "e2e_rate": n / window,
                    "wall_s": window,
                    "seen_rate": n / (seen - t_first),
                    "first_at_carrier_s": first_at - t_first,
                    "accept_rate": n / (load["t_last"] - t_first),
                    "request_p50_ms": load["p50_ms"],
                    "request_p99_ms": load["p99_ms"],
                    "queued": load["queued"],
                    "refused": load["refused"],
                    "server_cpu_ms": 1000 * cpus[0] / n,
                    "workers_cpu_ms": 1000 * sum(cpus[1:]) / n if db == "pg" else None,
                    "carrier_cpu_ms": 1000 * carrier_cpu / n,
                    "postgres_cpu_ms": 1000 * pg_cpu / n if pg_cpu is not None else None,
                    "client_cpu_ms": 1000 * load["cpu"] / n,
                    "server_cpu_pct": 100 * cpus[0] / (seen - t_first),
                    "workers_cpu_pct": [round(100 * c / (seen - t_first), 1) for c in cpus[1:]],
                    "carrier_cpu_pct": 100 * carrier_cpu / (seen - t_first),
                    "stop_client_cpu_s": stop_cpu,
                    "machine_busy_pct": 100 * (1 - (busy1[1] - busy0[1]) / (busy1[0] - busy0[0])),
                    "duplicates": dup,
                    "lost": lost,
                    "statuses": statuses,
                    "load_after": os.getloadavg()[0],
                }
            )
            if stops:
                out.update(stop_figures(stop_results, t_first, last_at))
    finally:
        store.drop(url)
    return out


def twilio_record(
    carrier: Carrier, wanted: set[str], n: int, stall: float
) -> tuple[float, float, int, int, int]:
    """(first arrival, arrival of the last of the N destinations, duplicates, lost, other
    creates) from the stand-in's record, once all N destinations are in it (bounded: its
    received count also holds the STOP confirmations)."""
    deadline = time.monotonic() + stall
    while True:
        records = carrier.records()
        first: dict[str, float] = {}
        per: Counter[str] = Counter()
        for r in records:
            if r["to"] in wanted:
                per[r["to"]] += 1
                first[r["to"]] = min(first.get(r["to"], math.inf), r["received_at"])
        if len(per) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not first:
        raise PhaseFailed("the stand-in recorded none of the messages")
    dup = sum(c - 1 for c in per.values())
    other = len(records) - sum(per.values())
    return min(first.values()), max(first.values()), dup, len(wanted) - len(per), other


def smpp_window(carrier: Carrier, mono_offset: float) -> tuple[float, float]:
    st = carrier.stats()
    return st["first"] + mono_offset, st["last"] + mono_offset


def stop_figures(
    results: list[tuple[float, float, bool, str]], t_first: float, t_end: float
) -> dict[str, Any]:
    inside = [r for r in results if t_first <= r[0] <= t_end]
    lat = [r[1] for r in inside]
    bad = Counter(r[3] for r in results if not r[2])
    return {
        "stops_sent": len(results),
        "stops_in_window": len(inside),
        "stop_p50_ms": percentile(lat, 0.5),
        "stop_p99_ms": percentile(lat, 0.99),
        "stop_max_ms": max(lat) if lat else math.nan,
        "stops_not_suppressed": dict(bad),
    }


def start_py_spy(
    args: argparse.Namespace, phase: str, round_no: int, procs: list[tp.Proc]
) -> subprocess.Popen[bytes] | None:
    if not args.py_spy or round_no:
        return None
    target = procs[1] if len(procs) > 1 else procs[0]  # PostgreSQL: the first worker
    path = Path(args.py_spy_out) / f"{phase}-{target.name}.txt"
    return subprocess.Popen(
        [
            args.py_spy,
            "record",
            "--pid",
            str(target.popen.pid),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(path),
            "--nonblocking",
            *args.py_spy_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_jasmin(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The peer's own script on demand; its runs at N and 32 connections."""
    busy = [p for p in JASMIN_PORTS if _port_open(p)]
    if busy:
        raise PhaseFailed(f"ports the Jasmin peer needs are in use: {busy}")
    peer_dir = Path(args.peer_dir)
    peer_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PHASES": "http",
        "N_SMALL": str(args.messages),
        "N_LARGE": str(args.messages),
        "CONCS": "32",
        "REPS": "1",
        "PEER_DIR": str(peer_dir),
    }
    log_path = peer_dir / "carrier-bench.log"
    with log_path.open("wb") as log:
        script = subprocess.Popen(
            ["bash", str(args.peer / "jasmin-bench.sh")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            code = script.wait(timeout=args.jasmin_timeout)
        except subprocess.TimeoutExpired:
            script.send_signal(signal.SIGTERM)  # its EXIT trap stops what it started
            script.wait(timeout=120)
            raise PhaseFailed(f"jasmin-bench.sh took over {args.jasmin_timeout} s") from None
    if code != 0:
        raise PhaseFailed(f"jasmin-bench.sh exited {code}; see {log_path}")
    runs = []
    for line in (peer_dir / "results" / "runs.jsonl").read_text().splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            if r["label"] == "1conn" and r["n"] == args.messages and r["concurrency"] == 32:
                runs.append(r)
    if not runs:
        raise PhaseFailed(f"no Jasmin run at n={args.messages}, 32 connections in runs.jsonl")
    return runs


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


# Reporting -----------------------------------------------------------------------------------
def print_run(r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"{r['phase']:14s} round {r['round']}: FAILED: {r['error'][:2000]}")
        return
    if r["phase"] == "jasmin":
        print(
            f"{'jasmin':14s} round {r['round']}: {r['e2e_rate']:7.0f} msg/s end to end "
            f"(HTTP /send {r['http_accept_rate']:.0f}/s, {r['e2e_seconds']:.2f} s; at the SMSC "
            f"{r['smsc_count']} of {r['n']}, distinct {r['smsc_distinct_dest']}; CPU s "
            f"{r['cpu_seconds']})"
        )
        return
    workers = ""
    if r["workers_cpu_ms"] is not None:
        each = "/".join(f"{c:.0f}" for c in r["workers_cpu_pct"])
        workers = f", workers {r['workers_cpu_ms']:.3f} ({each} % of a core each)"
    print(
        f"{r['phase']:14s} round {r['round']}: {r['e2e_rate']:7.0f} msg/s end to end "
        f"({r['wall_s']:.2f} s first request -> N-th at the carrier; first there after "
        f"{r['first_at_carrier_s'] * 1000:.0f} ms); accepted {r['accept_rate']:.0f}/s "
        f"(request p50 {r['request_p50_ms']:.1f} ms, p99 {r['request_p99_ms']:.1f} ms)"
    )
    pg = ""
    if r.get("postgres_cpu_ms") is not None:
        pg = f", postgres processes {r['postgres_cpu_ms']:.3f}"
    print(
        f"{'':14s} CPU ms/msg: server {r['server_cpu_ms']:.3f} ({r['server_cpu_pct']:.0f} % of a "
        f"core){workers}, carrier {r['carrier_cpu_ms']:.3f} ({r['carrier_cpu_pct']:.0f} %), "
        f"client {r['client_cpu_ms']:.3f}{pg}; machine busy {r['machine_busy_pct']:.0f} % of "
        "2 cores"
    )
    extra = ""
    if "stops_sent" in r:
        extra = (
            f"; STOP during the load: {r['stops_in_window']} (of {r['stops_sent']} sent), "
            f"p50 {r['stop_p50_ms']:.1f} ms, p99 {r['stop_p99_ms']:.1f} ms, max "
            f"{r['stop_max_ms']:.1f} ms, not suppressed {r['stops_not_suppressed'] or 0}"
        )
    print(
        f"{'':14s} at the carrier: duplicates {r['duplicates']}, lost {r['lost']}; statuses "
        f"{r['statuses']}{extra}; load {r['load_before']:.1f} -> {r['load_after']:.1f}"
    )
    sys.stdout.flush()


def summary(run: Run) -> None:
    print("\nsummary (medians of the rounds that produced a figure):")
    med: dict[str, float] = {}
    for phase, rs in run.results.items():
        good = [r for r in rs if "error" not in r]
        failed = len(rs) - len(good)
        if not good:
            print(f"  {phase:14s} no figure ({failed} failed)")
            continue
        rate = statistics.median(r["e2e_rate"] for r in good)
        med[phase] = rate
        line = f"  {phase:14s} {rate:7.0f} msg/s end to end (median of {len(good)}"
        line += f", {failed} failed)" if failed else ")"
        if phase in TARGETS:
            line += (
                f"; target >= {TARGETS[phase]}: {'met' if rate >= TARGETS[phase] else 'NOT met'}"
            )
            line += f" ({rate / TARGETS[phase]:.2f}x)"
        if phase != "jasmin":
            acc = statistics.median(r["accept_rate"] for r in good)
            cpu = statistics.median(r["server_cpu_ms"] for r in good)
            line += f"; accepted {acc:.0f}/s; server CPU {cpu:.3f} ms/msg"
            if phase == "sqlite-single":
                line += f" (accept target >= {SINGLE_ACCEPT_TARGET}/s: "
                line += f"{'met' if acc >= SINGLE_ACCEPT_TARGET else 'NOT met'})"
            if good[0].get("workers_cpu_ms") is not None:
                w = statistics.median(r["workers_cpu_ms"] for r in good)
                line += f", workers {w:.3f} ms/msg"
            dup = sum(r["duplicates"] for r in good)
            lost = sum(r["lost"] for r in good)
            line += f"; duplicates {dup}, lost {lost} over {len(good)} run(s)"
        print(line)
        stop_runs = [r for r in good if r.get("stops_in_window")]
        if stop_runs:
            p50 = statistics.median(r["stop_p50_ms"] for r in stop_runs)
            p99 = statistics.median(r["stop_p99_ms"] for r in stop_runs)
            count = sum(r["stops_in_window"] for r in stop_runs)
            worst = max(r["stop_max_ms"] for r in stop_runs)
            verdict = ""
            if phase.startswith("sqlite"):
                verdict = f"; target p99 <= {STOP_P99_TARGET_MS:.0f} ms: "
                verdict += "met" if p99 <= STOP_P99_TARGET_MS else "NOT met"
            print(
                f"  {'':14s} STOP: {count} during the load, p50 {p50:.1f} ms, p99 {p99:.1f} ms "
                f"(median of runs), worst {worst:.1f} ms{verdict}"
            )
    if "jasmin" in med:
        for phase in ("smpp-single", "smpp-bulk"):
            if phase in med:
                ratio = med[phase] / med["jasmin"]
                print(
                    f"  {phase} / Jasmin 0.11.1: {med[phase]:.0f} / {med['jasmin']:.0f} = "
                    f"{ratio:.2f}x (target >= {JASMIN_RATIO_TARGET:.0f}x: "
                    f"{'met' if ratio >= JASMIN_RATIO_TARGET else 'NOT met'})"
                )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.15, help="REST stand-in, seconds")
    parser.add_argument(
        "--callbacks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the REST stand-in posts sent/delivered status callbacks (default on)",
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, default=4, help="frontdesk worker processes (pg)")
    parser.add_argument(
        "--max-in-flight", type=int, default=None, help="FRONTDESK_WORKER_MAX_IN_FLIGHT"
    )
    parser.add_argument("--smpp-window", type=int, default=None, help="FRONTDESK_SMPP_WINDOW")
    parser.add_argument("--concurrency", type=int, default=None, help="default 32 single, 2 bulk")
    parser.add_argument("--stops-per-second", type=float, default=5.0, help="0 = no STOP client")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--peer", type=Path, default=Path("/work/shared/peer"))
    parser.add_argument("--peer-dir", default=os.environ.get("PEER_DIR", "/tmp/peer"))
    parser.add_argument("--jasmin-timeout", type=float, default=1800)
    parser.add_argument("--area-code", default=None)
    parser.add_argument("--stall", type=float, default=60, help="give up after this idle time")
    parser.add_argument("--out", default=None, help="append one JSON line per run here")
    parser.add_argument("--py-spy", default=None, help="py-spy binary: profile round 0")
    parser.add_argument("--py-spy-out", default="/tmp", help="folder for the py-spy raw files")
    parser.add_argument(
        "--py-spy-gil",
        dest="py_spy_args",
        action="store_const",
        const=["--gil"],
        default=[],
        help="py-spy samples only the thread holding the GIL (CPU, not waiting)",
    )
    args = parser.parse_args()
    area = args.area_code or tp.pick_area_code()
    phones = tp.recipients(args.messages, area)
    stop_phones = [f"+1{area}{8000000 + i:07d}" for i in range(STOP_SENDERS)]
    with tempfile.TemporaryDirectory(prefix="fd-carrier-") as tmp_name:
        args.tmp = Path(tmp_name)
        args.code = args.tmp / "code"
        args.code_id = f"{git_head()} src sha256 {snapshot_source(args.code)}"
        print(
            f"messages={args.messages} (one per recipient, +1 {area}) latency={args.latency}s "
            f"callbacks={'on' if args.callbacks else 'off'} pg-workers={args.workers} "
            f"max-in-flight={args.max_in_flight or 'default'} smpp-window="
            f"{args.smpp_window or 'default'} cpus={os.cpu_count()} "
            f"python={sys.version.split()[0]} {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
            f"loop={tp.machine_loop_seconds():.2f}s load={os.getloadavg()[0]:.2f} "
            f"code={args.code_id}"
        )
        sys.stdout.flush()
        run = Run(args, area, phones, stop_phones)
        try:
            for i in range(args.repeats):
                for phase in args.phases:
                    if phase == "jasmin":
                        try:
                            found = run_jasmin(args)
                            rows = [{"phase": "jasmin", "round": i, **r} for r in found]
                        except PhaseFailed as exc:
                            rows = [{"phase": "jasmin", "round": i, "error": str(exc)}]
                    else:
                        try:
                            rows = [run_phase(run, phase, i)]
                        except (PhaseFailed, SystemExit) as exc:
                            rows = [{"phase": phase, "round": i, "error": str(exc)}]
                    for r in rows:
                        r["at"] = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
                        run.results.setdefault(phase, []).append(r)
                        print_run(r)
                        if args.out:
                            with open(args.out, "a") as f:
                                f.write(json.dumps(r) + "\n")
        finally:
            for store in run.stores.values():
                if isinstance(store, tp.PostgresStore):
                    store.drop_all()
        summary(run)


if __name__ == "__main__":
    main()
