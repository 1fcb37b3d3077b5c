"""Throughput: accepted -> handed to the carrier simulator, end to end (design.md; R-R-04 off).

Method
------
* A fresh database per run (default: a temporary SQLite file, the embedded
  default; ``--db postgresql://...`` for the scale-out engine — that database is
  emptied (its public schema dropped) before each run: point it at a scratch
  database). Migrations build it.
* One tenant, ``--recipients`` consented numbers (consent written straight through
  ``services.consents`` during setup, not timed); the frequency cap is raised so
  repeated recipients are not held (R-Q-04), and the simulator's carrier limits
  and faults are off (``SimulatorProfile()``).
* Three timed phases per mode (``bulk``: ``POST /v1/messages/batch`` with 1,000
  messages a call; ``single``: ``POST /v1/messages`` per message), through an
  in-process ``TestClient`` (no sockets; the ASGI app, validation, the gate and
  the commit are all in the path):

  - **accept**: the worker paused; messages/s of accepted requests;
  - **hand-off**: the backlog just accepted, drained by the worker (in-process,
    or ``--workers N`` ``frontdesk worker`` subprocesses on the same database);
  - **end-to-end**: a fresh database, the worker running while the client
    submits; from the first request until every message has been handed off.

* ``--repeats R`` repeats each phase on fresh databases and prints the median.

Usage::

    .venv/bin/python bench/throughput.py --messages 20000
    .venv/bin/python bench/throughput.py --mode single --messages 5000
    .venv/bin/python bench/throughput.py --db postgresql://u:p@127.0.0.1/fd --workers 2
    .venv/bin/python bench/throughput.py --messages 5000 --profile /tmp/handoff.prof
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from frontdesk.api.app import create_app
from frontdesk.bootstrap import Container, build
from frontdesk.clock import SystemClock
from frontdesk.config import Settings
from frontdesk.domain.consent import Method, Scope
from frontdesk.providers.simulator import CarrierSimulator, SimulatorProfile
from frontdesk.services import consents
from frontdesk.storage.models import Message, Tenant
from frontdesk.storage.uow import UnitOfWork

ADMIN = "bench-admin-token"
NUMBER = "+14155550100"
BODY = "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm, STOP to opt out."
CHUNK = 1000


@dataclass
class Run:
    container: Container
    client: TestClient
    auth: dict[str, str]
    recipients: list[str]
    url: str


def recipients(count: int) -> list[str]:
    # 305 (Miami) numbers in the 555-01xx fictional range and beyond: valid, one zone.
    return [f"+1305{2000000 + i:07d}" for i in range(count)]


def _fresh_url(base: str | None, tmp: Path, tag: str) -> str:
    if base is None:
        return f"sqlite:///{tmp / f'bench-{tag}.db'}"
    if base.startswith("postgres"):
        from sqlalchemy import create_engine

        from frontdesk.storage.db import normalise_url

        engine = create_engine(normalise_url(base))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    return base


@contextmanager
def setup(url: str, n_recipients: int, *, worker: bool) -> Iterator[Run]:
    clock = SystemClock()
    simulator = CarrierSimulator(seed=7, profile=SimulatorProfile(), clock=clock)
    settings = Settings(database_url=url, admin_token=ADMIN, worker_idle_seconds=0.05)
    container = build(settings, clock=clock, provider=simulator)
    with TestClient(create_app(container, start_worker=False)) as client:
        r = client.post(
            "/v1/tenants",
            headers={"Authorization": f"Bearer {ADMIN}"},
            json={
                "name": "Bright Smile Dental",
                "timezone": "America/New_York",
                "support_email": "hello@brightsmile.example",
                "support_phone": "+14155550199",
            },
        )
        r.raise_for_status()
        tenant = r.json()
        auth = {"Authorization": f"Bearer {tenant['api_key']}"}
        version = client.get("/v1/policy", headers=auth).json()["version"]  # R-B-03
        client.post(
            "/v1/policy/accept", headers=auth, json={"version": version, "accepted_by": "Owner"}
        ).raise_for_status()
        client.post(
            "/v1/numbers", headers=auth, json={"number": NUMBER, "provider": "simulator"}
        ).raise_for_status()
        phones = recipients(n_recipients)
        now = clock.now()
        with UnitOfWork(container.db) as uow:
            row = uow.session.get(Tenant, tenant["id"])
            assert row is not None
            row.settings = {**(row.settings or {}), "frequency_cap": 1_000_000}
            scope = uow.tenant(tenant["id"])
            for phone in phones:
                consents.record_grant(
                    scope,
                    phone,
                    consent_scope=Scope.INFORMATIONAL,
                    method=Method.WEB_FORM,
                    captured_at=now - timedelta(days=1),
                    evidence={"form": "https://brightsmile.example/join", "ip": "203.0.113.9"},
                    now=now,
                    source="bench",
                    actor="bench",
                )
            uow.commit()
        if worker:
            container.worker.start()
        try:
            yield Run(container, client, auth, phones, url)
        finally:
            container.close()


def submit(run: Run, mode: str, n: int) -> None:
    phones = run.recipients
    if mode == "bulk":
        for start in range(0, n, CHUNK):
            batch = [
                {"to": phones[i % len(phones)], "body": BODY, "category": "appointment_reminder"}
                for i in range(start, min(n, start + CHUNK))
            ]
            r = run.client.post("/v1/messages/batch", headers=run.auth, json={"messages": batch})
            r.raise_for_status()
    else:
        for i in range(n):
            r = run.client.post(
                "/v1/messages",
                headers=run.auth,
                json={
                    "to": phones[i % len(phones)],
                    "body": BODY,
                    "category": "appointment_reminder",
                },
            )
            r.raise_for_status()


def counts(run: Run) -> dict[str, int]:
    with UnitOfWork(run.container.db, write=False) as uow:
        rows = uow.session.execute(
            select(Message.status, func.count()).group_by(Message.status)
        ).all()
    return {status: int(n) for status, n in rows}


def wait_handed_off(run: Run, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        c = counts(run)
        due = c.get("queued", 0) + c.get("scheduled", 0)
        if due == 0 and sum(c.values()) >= n:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for hand-off: {c}")
        time.sleep(0.05)


@contextmanager
def workers(url: str, count: int) -> Iterator[None]:
    env = {**os.environ, "FRONTDESK_DATABASE_URL": url, "FRONTDESK_WORKER_IDLE_SECONDS": "0.05"}
    exe = Path(sys.executable).with_name("frontdesk")
    procs = [
        subprocess.Popen([str(exe), "worker"], env=env, stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def drain(run: Run, n: int, n_workers: int, profile: cProfile.Profile | None) -> float:
    start = time.perf_counter()
    if n_workers > 1:
        with workers(run.url, n_workers):
            wait_handed_off(run, n, timeout=3600)
    else:
        if profile:
            profile.enable()
        while run.container.worker.step():
            pass
        if profile:
            profile.disable()
    return time.perf_counter() - start


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds: the second is steadier on a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def one_round(
    args: argparse.Namespace, mode: str, tmp: Path, tag: str, prof: Any
) -> dict[str, float]:
    n = args.messages
    url = _fresh_url(args.db, tmp, f"{tag}-a")
    with setup(url, args.recipients, worker=False) as run:
        accept, accept_cpu = cpu_timed(lambda: submit(run, mode, n))
        cpu0 = time.process_time()
        handoff = drain(run, n, args.workers, prof)
        handoff_cpu = time.process_time() - cpu0
        c = counts(run)
        if c.get("sending", 0) + c.get("delivered", 0) + c.get("sent", 0) < n:
            raise SystemExit(f"not every message was handed off: {c}")
    url = _fresh_url(args.db, tmp, f"{tag}-b")
    with setup(url, args.recipients, worker=args.workers <= 1) as run:

        def end_to_end() -> None:
            submit(run, mode, n)
            wait_handed_off(run, n, 3600)

        try:
            if args.workers > 1:
                with workers(url, args.workers):
                    e2e = timed(end_to_end)
            else:
                e2e = timed(end_to_end)
        except Exception as exc:  # report it: on SQLite the worker can starve the API
            print(f"  end-to-end failed: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)
            e2e = float("inf")
    return {
        "accept": n / accept,
        "handoff": n / handoff,
        "e2e": n / e2e,
        "accept_cpu_ms": 1000 * accept_cpu / n,
        "handoff_cpu_ms": 1000 * handoff_cpu / n,
    }


def _yielding_worker(pause: float) -> None:
    """Emulate a worker that leaves the SQLite write lock free between batches."""
    from frontdesk.worker.loop import Worker

    step = Worker.step

    def yielding(self: Worker) -> int:
        claimed = step(self)
        if claimed:
            time.sleep(pause)
        return claimed

    Worker.step = yielding  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--mode", choices=("bulk", "single", "both"), default="both")
    parser.add_argument("--db", default=None, help="database URL (default: temp SQLite file)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--profile", default=None, help="write a cProfile of the hand-off here")
    parser.add_argument(
        "--yield-ms",
        type=float,
        default=0.0,
        help="pause the in-process worker this long after each batch (SQLite fairness test)",
    )
    args = parser.parse_args()
    if args.yield_ms:
        _yielding_worker(args.yield_ms / 1000)
    args.recipients = min(args.recipients, args.messages)
    modes = ("bulk", "single") if args.mode == "both" else (args.mode,)
    prof = cProfile.Profile() if args.profile else None
    print(
        f"messages={args.messages} recipients={args.recipients} workers={args.workers} "
        f"db={'sqlite (temp)' if args.db is None else args.db.split('@')[-1]} cpus={os.cpu_count()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            rounds = [
                one_round(args, mode, Path(tmp), f"{mode}{i}", prof) for i in range(args.repeats)
            ]
            med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
            print(
                f"{mode:6s}  accept {med['accept']:8.0f} msg/s   hand-off {med['handoff']:8.0f} "
                f"msg/s   end-to-end {med['e2e']:8.0f} msg/s   (median of {len(rounds)})"
            )
            print(
                f"        CPU per message: accept {med['accept_cpu_ms']:.2f} ms, hand-off "
                f"{med['handoff_cpu_ms']:.2f} ms (in-process worker only; load "
                f"{os.getloadavg()[0]:.1f})"
            )
    if prof is not None:
        prof.dump_stats(args.profile)
        print(f"hand-off profile written to {args.profile}")


if __name__ == "__main__":
    main()
