"""Reliability under crashes, carrier faults and races (design.md guarantees 1 and 2; R-E-02).

* kill -9 in the middle of a batch: nothing accepted is lost, and the messages the
  carrier saw twice are bounded by the claim size (the in-flight window);
* a carrier failing 20 % of sends transiently: everything is delivered, attempts
  stay bounded, a permanent error is never retried (T-22);
* a STOP racing 1,000 queued sends to the same number: nothing is handed off
  after the STOP commits (R-FCC-02, T-11).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.domain.consent import Method
from frontdesk.ids import new_id
from frontdesk.providers.base import InboundSms, StatusUpdate
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.services import delivery, inbound, status
from frontdesk.storage.models import Message
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import ADMIN, BUSINESS_NUMBER, T0, Env
from tests.services.carrier import run_until, set_settings, use_profile

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PATIENT = "+13055550142"
BODY = "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply STOP to opt out."


@contextmanager
def embedded(db_path: Path) -> Iterator[Env]:
    clock = FixedClock(T0)
    simulator = CarrierSimulator(seed=1, clock=clock)
    settings = Settings(database_url=f"sqlite:///{db_path}", admin_token=ADMIN)
    container = build(settings, clock=clock, provider=simulator)
    with TestClient(create_app(container, start_worker=False)) as client:
        yield Env(container, client, clock, simulator, db_path)
    container.close()


def accept_bulk(env: Env, phones: list[str], cap: int = 1000) -> tuple[str, list[str]]:
    t = env.tenant()
    set_settings(env, t.id, frequency_cap=cap)  # R-Q-04 would hold repeated sends to a number
    for phone in sorted(set(phones)):
        t.consent(phone)
    ids: list[str] = []
    for start in range(0, len(phones), 1000):
        chunk = phones[start : start + 1000]
        r = t.post(
            "/v1/messages/batch",
            {
                "messages": [
                    {"to": p, "body": BODY, "category": "appointment_reminder"} for p in chunk
                ]
            },
        )
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert all(res.get("status") == "queued" for res in results), results[:2]
        ids += [res["id"] for res in results]
    return t.id, ids


def clone_queued(env: Env, message_id: str, copies: int, spacing: timedelta) -> list[str]:
    """Queue copies of an accepted message, each due ``spacing`` before the previous one.

    The accept path's own cost is not under test. The spacing keeps each copy alone in
    the gate's 24-hour frequency window (R-Q-04), whose facts query grows with every
    live message to the number; the tenant's validity period is raised to match.
    """
    with UnitOfWork(env.container.db) as uow:
        source = uow.session.get(Message, message_id)
        assert source is not None and source.status == "queued"
        columns = {c.key: getattr(source, c.key) for c in Message.__table__.columns}
        ids = [new_id("msg") for _ in range(copies)]
        rows = [
            {**columns, "id": mid, "send_at": source.send_at - spacing * (n + 1)}
            for n, mid in enumerate(ids)
        ]
        uow.session.execute(insert(Message), rows)
        uow.commit()
    return ids


def spawn_worker(
    db_path: Path, journal: Path, batch: int, delay_ms: float, pause_ms: float = 0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.worker.journal_worker",
            "--db",
            f"sqlite:///{db_path}",
            "--journal",
            str(journal),
            "--at",
            T0.isoformat(),
            "--batch",
            str(batch),
            "--delay-ms",
            str(delay_ms),
            "--pause-ms",
            str(pause_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def journal_lines(journal: Path) -> list[tuple[int, str, str]]:
    if not journal.exists():
        return []
    out = []
    for line in journal.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            out.append((int(parts[0]), parts[1], parts[2]))
    return out


def wait_for_lines(journal: Path, count: int, proc: subprocess.Popen[str], limit: float) -> None:
    deadline = time.monotonic() + limit
    while len(journal_lines(journal)) < count:
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the worker made no progress")
        time.sleep(0.01)


def statuses(env: Env, ids: list[str]) -> dict[str, str]:
    with UnitOfWork(env.container.db, write=False) as uow:
        rows = uow.session.execute(select(Message.id, Message.status).where(Message.id.in_(ids)))
        return {mid: st for mid, st in rows}


def test_guarantee_2_kill_9_mid_batch_loses_nothing_and_bounds_duplicates(tmp_path: Path) -> None:
    db_path, journal = tmp_path / "fd.db", tmp_path / "handed_off.log"
    batch, count = 25, 200
    with embedded(db_path) as env:
        _, ids = accept_bulk(env, [f"+1305556{i % 30:04d}" for i in range(count)])

    proc = spawn_worker(db_path, journal, batch, delay_ms=4)
    wait_for_lines(journal, 3 * batch + batch // 2, proc, limit=60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    seen_at_kill = len(journal_lines(journal))
    assert seen_at_kill < count, "the worker finished before the kill"

    restart = spawn_worker(db_path, journal, batch, delay_ms=0)
    _, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err

    lines = journal_lines(journal)
    with embedded(db_path) as env:
        # The carrier re-sends its receipts until acknowledged (SMPP deliver_sm, callback
        # retries); the killed process's receipts were still in its memory.
        with UnitOfWork(env.container.db) as uow:
            for _, _, pid in lines:
                for st in ("sent", "delivered"):
                    status.apply_status(uow, StatusUpdate("simulator", pid, st), env.clock.now())
            uow.commit()
        final = statuses(env, ids)
    assert set(final) == set(ids), "an accepted message vanished"
    assert Counter(final.values()) == {"delivered": count}
    handed = Counter(mid for _, mid, _ in lines)
    assert set(handed) == set(ids)
    twice = [mid for mid, n in handed.items() if n > 1]
    assert len(twice) <= batch, f"{len(twice)} duplicates exceed the in-flight window"
    assert max(handed.values()) <= 2


def test_R_E_02_twenty_percent_transient_failures_deliver_everything_boundedly(
    tmp_path: Path,
) -> None:
    landlines = frozenset(f"+1305557{i:04d}" for i in range(10))
    phones = [f"+1305558{i:04d}" for i in range(110)] + sorted(landlines)
    with embedded(tmp_path / "fd.db") as env:
        use_profile(env, transient_failure_rate=0.2, landlines=landlines)
        _, ids = accept_bulk(env, phones)
        run_until(env, T0 + timedelta(hours=1), timedelta(minutes=1))
        with UnitOfWork(env.container.db, write=False) as uow:
            rows = list(uow.session.execute(select(Message).where(Message.id.in_(ids))).scalars())
            uow.session.expunge_all()
    by_phone = {m.to_phone: m for m in rows}
    refused = Counter(msg.to for msg, code in env.simulator.refused)
    assert {code for _, code in env.simulator.refused} == {"20503"}
    assert sum(refused.values()) > 20, "the fault rate did not bite"
    for phone in phones:
        msg = by_phone[phone]
        if phone in landlines:
            assert (msg.status, msg.error_code) == ("undelivered", "30006")
            assert len(env.simulator.sent_to(phone)) == 1, "a permanent error was retried"
            assert msg.attempts == refused[phone] + 1
        else:
            assert msg.status == "delivered", (phone, msg.status, msg.error_code)
            assert msg.attempts == refused[phone] + 1 <= delivery.MAX_ATTEMPTS
            assert len(env.simulator.sent_to(phone)) == 1


def test_R_FCC_02_a_STOP_racing_1000_queued_sends_stops_every_later_hand_off(
    tmp_path: Path,
) -> None:
    db_path, journal = tmp_path / "fd.db", tmp_path / "handed_off.log"
    with embedded(db_path) as env:
        tenant_id, first = accept_bulk(env, [PATIENT])
        set_settings(env, tenant_id, validity_hours=1000 * 49 + 1)
        ids = first + clone_queued(env, first[0], 999, spacing=timedelta(hours=49))

    # SQLite's write lock is not fair: a worker that begins its next batch the moment
    # it commits starves other writers, so this worker pauses between batches.
    proc = spawn_worker(db_path, journal, batch=50, delay_ms=1, pause_ms=150)
    wait_for_lines(journal, 75, proc, limit=60)
    with embedded(db_path) as env:
        with UnitOfWork(env.container.db) as uow:
            sms = InboundSms("simulator", "IN-race", PATIENT, BUSINESS_NUMBER, "STOP")
            outcome = inbound.handle_inbound(uow.tenant(tenant_id), sms, env.clock.now())
            assert outcome.inbound.classification == "opt_out"
            uow.commit()
        stop_committed = time.time_ns()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        final = statuses(env, ids)

    lines = [line for line in journal_lines(journal) if line[1] in final]
    handed = {mid for _, mid, _ in lines}
    late = [line for line in lines if line[0] > stop_committed]
    assert late == [], f"{len(late)} reminders reached the carrier after the STOP committed"
    assert 0 < len(handed) < 1000, "the STOP did not race the drain"
    blocked = {mid for mid, st in final.items() if st == "blocked"}
    assert blocked == set(ids) - handed
    assert Method.INBOUND_SMS.value == "inbound_sms"
