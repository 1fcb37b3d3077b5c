"""Scale-out on PostgreSQL: the same code, many workers (design.md, "one code path").

Guarantee 1 (R-FCC-02, T-11): a STOP committed before the hand-off blocks the
queued message, on PostgreSQL as on SQLite. Guarantee 2: a worker killed with
``kill -9`` mid-batch loses nothing; its transaction is rolled back and another
worker hands the rows off. R-R-04 / R-Q-04: caps counted inside the claim
transaction hold with N concurrent workers under READ COMMITTED.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.ids import new_id
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.storage.claims import LOCK_RECIPIENT, claim_due_rows, load_message
from frontdesk.storage.db import Database, connect
from frontdesk.storage.models import Contact, Message, SendingNumber, Tenant
from frontdesk.storage.notify import DueListener, listening_workers
from frontdesk.storage.uow import UnitOfWork
from frontdesk.worker.loop import Worker
from tests.conftest import ADMIN, T0, Env

pytestmark = pytest.mark.postgres

PATIENT = "+13055550142"
ROOT = Path(__file__).resolve().parents[2]
LOGS: dict[int, IO[bytes]] = {}
SETTLE = 120.0  # generous upper bound for background work; never a speed assertion


def claim_due(session: Session, now: Any, limit: int) -> list[Message]:
    """The worker's claim, its rows loaded as ORM objects the races below edit."""
    return [load_message(session, row.id) for row in claim_due_rows(session, now, limit)]


@pytest.fixture
def pg_env(pg_clean: str, tmp_path: Path) -> Iterator[Env]:
    """The conftest ``env``, but on PostgreSQL: same container, same API, same fixed clock."""
    clock = FixedClock(T0)
    simulator = CarrierSimulator(seed=1)
    container = build(
        Settings(database_url=pg_clean, admin_token=ADMIN), clock=clock, provider=simulator
    )
    assert container.db.dialect == "postgresql"
    assert not container.embedded_worker
    app = create_app(container, start_worker=False)
    with TestClient(app) as client:
        yield Env(container, client, clock, simulator, tmp_path)
    container.close()


def _phones(n: int, start: int = 100) -> list[str]:
    return [f"+1305555{start + i:04d}" for i in range(n)]


def _queue(env: Env, count: int, tenants: int = 1) -> list[str]:
    """Consented patients, one message each, queued through the API; returns the message ids.

    Tenant ``k`` sends from its own number to patients ``_phones(count)[k::tenants]``.
    """
    ids = []
    for k in range(tenants):
        name = "Bright Smile Dental" if k == 0 else f"Clinic {k}"
        t = env.tenant(name, number=f"+1415555{100 + k:04d}")
        phones = _phones(count)[k::tenants]
        for phone in phones:
            t.consent(phone)
        r = t.post(
            "/v1/messages/batch",
            {
                "messages": [
                    {
                        "to": phone,
                        "body": f"{name}: your cleaning is Tue at 3:00 pm. Reply STOP to opt out.",
                        "category": "appointment_reminder",
                    }
                    for phone in phones
                ]
            },
        )
        assert r.status_code == 200, r.text
        for item in r.json()["results"]:
            assert item["status"] == "queued", item
            ids.append(item["id"])
    return ids


def _statuses(db: Database, ids: list[str]) -> dict[str, tuple[str, bool]]:
    with db.write_engine.connect() as conn:
        rows = conn.execute(
            select(Message.id, Message.status, Message.handed_off_at).where(Message.id.in_(ids))
        )
        return {r.id: (r.status, r.handed_off_at is not None) for r in rows}


# --- guarantee 1 and the API on PostgreSQL ----------------------------------------------------


def test_R_FCC_02_stop_blocks_a_queued_message_at_handoff_on_postgres(pg_env: Env) -> None:
    t = pg_env.tenant()
    t.consent(PATIENT)
    queued = t.send(PATIENT).json()
    assert queued["status"] == "queued"
    assert t.inbound(PATIENT, "STOP").json()["classification"] == "opt_out"

    pg_env.step()

    msg = t.get(f"/v1/messages/{queued['id']}").json()
    assert msg["status"] == "blocked"
    assert msg["reasons"] == ["opted_out"]
    bodies = [m.body for m in pg_env.simulator.sent_to(PATIENT)]
    assert len(bodies) == 1 and "unsubscribed" in bodies[0]
    again = t.send(PATIENT).json()
    assert again["status"] == "blocked"


def test_consent_send_help_and_audit_chain_on_postgres(pg_env: Env) -> None:
    """R-CT-03 HELP is answered, a consented reminder is delivered, the audit chain verifies."""
    t = pg_env.tenant()
    t.consent(PATIENT)
    sent = t.send(PATIENT).json()
    help_reply = t.inbound(PATIENT, "HELP").json()
    assert help_reply["classification"] == "help"
    pg_env.step()

    got = t.get(f"/v1/messages/{sent['id']}").json()
    assert got["status"] == "delivered"
    assert [e["status"] for e in got["events"]] == ["queued", "sending", "sent", "delivered"]
    bodies = [m.body for m in pg_env.simulator.sent_to(PATIENT)]
    assert any("help" in b.lower() for b in bodies)
    listed = t.get("/v1/messages", params={"to": PATIENT}).json()
    assert sent["id"] in {m["id"] for m in listed["items"]}
    verify = t.get("/v1/audit/verify").json()
    assert verify["ok"] is True and verify["checked"] >= 2


def test_tenants_do_not_see_each_other_on_postgres(pg_env: Env) -> None:
    a = pg_env.tenant("Clinic A", number="+14155550100")
    b = pg_env.tenant("Clinic B", number="+14155550101")
    a.consent(PATIENT)
    sent = a.send(PATIENT).json()
    assert b.get(f"/v1/messages/{sent['id']}").status_code == 404


# --- LISTEN/NOTIFY ------------------------------------------------------------------------------


def test_wake_on_postgres_notifies_a_listening_worker(pg_env: Env) -> None:
    """The API's existing ``c.worker.wake()`` reaches workers in other processes."""
    woken = threading.Semaphore(0)
    listener = DueListener(pg_env.container.db.url, woken.release, poll_seconds=0.2)
    listener.start()
    try:
        assert listener.listening.wait(SETTLE)
        assert woken.acquire(timeout=SETTLE)  # the catch-up wake after connecting
        t = pg_env.tenant()
        t.consent(PATIENT)
        assert t.send(PATIENT).status_code == 201
        assert woken.acquire(timeout=SETTLE)
        assert listener.received >= 1
        assert listening_workers(pg_env.container.db) == 1
    finally:
        listener.stop()


# --- N workers ----------------------------------------------------------------------------------


def _due_left(db: Database) -> int:
    with db.write_engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(Message)
                .where(Message.status.in_(("queued", "scheduled")), Message.send_at <= T0)
            ).scalar_one()
        )


def _run_workers(workers: list[Worker]) -> None:
    """Step every worker in its own thread until nothing is due any more."""
    errors: list[BaseException] = []

    def loop(w: Worker) -> None:
        try:
            while _due_left(w.db):
                w.step()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for th in threads:
        th.start()
    for th in threads:
        th.join(SETTLE)
    assert not errors, errors


def test_four_workers_hand_each_message_off_exactly_once(pg_env: Env) -> None:
    ids = _queue(pg_env, 24, tenants=4)
    sims = [CarrierSimulator(seed=i) for i in range(4)]
    workers = [
        Worker(pg_env.container.db, sim, FixedClock(T0), batch=3, listen=False) for sim in sims
    ]
    _run_workers(workers)

    handed = [m.message_id for sim in sims for p in _phones(24) for m in sim.sent_to(p)]
    assert sorted(handed) == sorted(ids), "a message went to the carrier twice or not at all"
    assert all(done for _, done in _statuses(pg_env.container.db, ids).values())


def test_R_R_04_four_workers_never_exceed_a_per_number_cap(pg_env: Env) -> None:
    ids = _queue(pg_env, 16)
    db = pg_env.container.db
    with UnitOfWork(db) as uow:
        uow.session.execute(update(Tenant).values(settings={"throughput": {"number_mps": 5}}))
        uow.commit()
    sims = [CarrierSimulator(seed=i) for i in range(4)]
    _run_workers([Worker(db, sim, FixedClock(T0), batch=4, listen=False) for sim in sims])

    states = _statuses(db, ids)
    assert sum(done for _, done in states.values()) == 5
    assert sum(len(s.sent_to(p)) for s in sims for p in _phones(16)) == 5
    assert {status for status, done in states.values() if not done} == {"queued"}


# --- the claim guard under READ COMMITTED, made deterministic with barriers --------------------


@dataclass
class Race:
    db: Database
    tenant_id: str
    number: str


def _seed_race(url: str, messages: int, recipients: int, settings: dict[str, Any]) -> Race:
    db = connect(url)
    tid = new_id("ten")
    number = "+14155550100"
    with UnitOfWork(db) as uow:
        s = uow.session
        s.add(
            Tenant(
                id=tid,
                name="Race Dental",
                timezone="America/New_York",
                settings=settings,
                created_at=T0,
            )
        )
        s.flush()
        s.add(
            SendingNumber(
                id=new_id("num"), tenant_id=tid, number=number, provider="sim", created_at=T0
            )
        )
        phones = _phones(recipients)
        for p in phones:
            s.add(Contact(id=new_id("con"), tenant_id=tid, phone=p, created_at=T0, updated_at=T0))
        for i in range(messages):
            s.add(
                Message(
                    id=new_id("msg"),
                    tenant_id=tid,
                    to_phone=phones[i % recipients],
                    from_phone=number,
                    body="Race Dental: reminder. Reply STOP to opt out.",
                    category="appointment_reminder",
                    status="queued",
                    send_at=T0 - timedelta(seconds=messages - i),
                    created_at=T0,
                    updated_at=T0,
                )
            )
        uow.commit()
    return Race(db, tid, number)


CAPPED = {"throughput": {"number_mps": 2}}


def _plain_claim(session: Session, now: Any, limit: int) -> list[Message]:
    """The claim without the guard: SKIP LOCKED alone, as a naive scale-out would do it."""
    ids = list(
        session.execute(
            select(Message.id)
            .where(Message.status == "queued", Message.send_at <= now)
            .order_by(Message.send_at, Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    return list(session.execute(select(Message).where(Message.id.in_(ids))).scalars())


def _cap_count(session: Session, msg: Message, by: str) -> int:
    column = Message.from_phone if by == "number" else Message.to_phone
    value = msg.from_phone if by == "number" else msg.to_phone
    return int(
        session.execute(
            select(func.count())
            .select_from(Message)
            .where(column == value, Message.handed_off_at.is_not(None))
        ).scalar_one()
    )


def _race(
    race: Race,
    claim: Callable[[Session, Any, int], Any],
    by: str,
    cap: int,
    workers: int = 4,
    rounds: int = 4,
) -> int:
    """Each round, every worker claims, then all count, then all commit: the worst interleaving."""
    barrier = threading.Barrier(workers, timeout=SETTLE)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            for _ in range(rounds):
                with UnitOfWork(race.db) as uow:
                    barrier.wait()
                    rows = list(claim(uow.session, T0, 3))
                    barrier.wait()
                    for msg in rows:
                        if _cap_count(uow.session, msg, by) < cap:
                            msg.status, msg.handed_off_at = "sending", T0
                        else:
                            msg.status, msg.send_at = "scheduled", T0 + timedelta(days=1)
                        uow.session.flush()
                    barrier.wait()
                    uow.commit()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=one) for _ in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(SETTLE)
    assert not errors, errors
    with race.db.write_engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(Message).where(Message.handed_off_at.is_not(None))
            ).scalar_one()
        )


@pytest.mark.parametrize("by", ["number", "recipient"])
def test_without_the_guard_read_committed_lets_workers_overshoot_a_cap(
    pg_clean: str, by: str
) -> None:
    """The control: why the guard exists. Every worker counts zero and sends."""
    race = _seed_race(pg_clean, 24, 1 if by == "recipient" else 12, CAPPED)
    try:
        assert _race(race, _plain_claim, by, cap=2) > 2
    finally:
        race.db.dispose()


@pytest.mark.parametrize("by", ["number", "recipient"])
def test_R_R_04_R_Q_04_the_claim_guard_holds_caps_under_concurrency(pg_clean: str, by: str) -> None:
    """With a per-number cap set (``number_mps``), or per recipient always."""
    race = _seed_race(pg_clean, 24, 1 if by == "recipient" else 12, CAPPED)
    try:
        assert _race(race, claim_due, by, cap=2) == 2
    finally:
        race.db.dispose()


@pytest.mark.parametrize(("settings", "second_gets"), [({}, 3), (CAPPED, 0)])
def test_R_R_04_a_number_is_shared_by_workers_unless_its_tenant_caps_it(
    pg_clean: str, settings: dict[str, Any], second_gets: int
) -> None:
    """Uncapped: two workers split one number's backlog. Capped: one holds the number."""
    race = _seed_race(pg_clean, 10, 10, settings)
    try:
        with UnitOfWork(race.db) as first, UnitOfWork(race.db) as second:
            a = {m.id for m in claim_due(first.session, T0, 3)}
            b = {m.id for m in claim_due(second.session, T0, 3)}
            assert len(a) == 3
            assert len(b) == second_gets
            assert not a & b
    finally:
        race.db.dispose()


def test_a_skipped_message_is_not_left_locked(pg_clean: str) -> None:
    """A claim that skips a busy recipient releases that row at once (no STOP deadlock)."""
    race = _seed_race(pg_clean, 4, 2, {})
    try:
        with UnitOfWork(race.db) as stop, UnitOfWork(race.db) as worker:
            stop.session.execute(
                select(Contact).where(Contact.phone == _phones(1)[0]).with_for_update()
            )
            claimed = claim_due(worker.session, T0, 10)
            assert {m.to_phone for m in claimed} == {_phones(2)[1]}
            busy = stop.session.execute(
                select(Message.id)
                .where(Message.to_phone == _phones(1)[0])
                .with_for_update(nowait=True)
            ).all()
            assert len(busy) == 2
    finally:
        race.db.dispose()


# --- real worker processes: kill -9 and SIGTERM -------------------------------------------------


def _spawn(url: str, *args: str) -> subprocess.Popen[bytes]:
    """A real ``frontdesk worker``; stderr goes to a file, since a full pipe would block it."""
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": url,
        "FRONTDESK_TEST_NOW": T0.isoformat(),
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.worker_proc", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    LOGS[proc.pid] = log
    return proc


def _stderr(proc: subprocess.Popen[bytes]) -> str:
    log = LOGS[proc.pid]
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


def _holds_claim(db: Database, pid: int) -> bool:
    """True while the worker process's session holds a recipient claim lock (mid-batch)."""
    with db.write_engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.application_name LIKE :app AND l.locktype = 'advisory' "
                    "AND l.classid = :ns AND l.granted"
                ),
                {"app": f"frontdesk-%-{pid}", "ns": LOCK_RECIPIENT},
            ).scalar_one()
        )


def _locked_ids(db: Database) -> set[str]:
    """Due rows another transaction holds: all due rows minus those SKIP LOCKED can take."""
    with UnitOfWork(db) as uow:
        due = select(Message.id).where(Message.status == "queued")
        everything = set(uow.session.execute(due).scalars())
        free = set(uow.session.execute(due.with_for_update(skip_locked=True)).scalars())
        return everything - free


def _freeze_mid_batch(db: Database, proc: subprocess.Popen[bytes]) -> set[str]:
    """SIGSTOP the worker while it holds claimed rows; return their ids."""
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        assert proc.poll() is None, _stderr(proc)
        if _holds_claim(db, proc.pid):
            proc.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            if _holds_claim(db, proc.pid):
                held = _locked_ids(db)
                if held:
                    return held
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    pytest.fail("the worker never claimed a batch")


def _count_done(db: Database, ids: list[str]) -> int:
    return sum(done for _, done in _statuses(db, ids).values())


def _wait_for(cond: Callable[[], bool], what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SETTLE
    while not cond():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"{what}: not reached; worker exit {proc.poll()}; stderr:\n{_stderr(proc)}")
        time.sleep(0.05)


@pytest.mark.slow
def test_guarantee_2_a_worker_killed_mid_batch_loses_nothing(pg_env: Env) -> None:
    db = pg_env.container.db
    ids = _queue(pg_env, 30)
    doomed = _spawn(db.url, "--batch", "5", "--poll", "0.05")
    try:
        in_flight = _freeze_mid_batch(db, doomed)
        done_before = _count_done(db, ids)
        doomed.kill()
        doomed.wait(SETTLE)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    assert in_flight, "the killed worker held no claim"
    assert done_before + len(in_flight) <= len(ids)
    assert not (set(ids) - set(_statuses(db, ids))), "a row vanished"

    survivor = _spawn(db.url, "--batch", "5", "--poll", "0.05")
    try:
        _wait_for(lambda: _count_done(db, ids) == len(ids), "all handed off", survivor)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(SETTLE) == 0
    finally:
        if survivor.poll() is None:
            survivor.kill()
    states = _statuses(db, ids)
    assert all(states[i][1] for i in in_flight), "a killed worker's claim was never resumed"
    assert {s for s, _ in states.values()} <= {"sending", "sent", "delivered"}


@pytest.mark.slow
def test_sigterm_finishes_the_batch_in_hand_then_exits_0(pg_env: Env) -> None:
    db = pg_env.container.db
    ids = _queue(pg_env, 30)
    worker = _spawn(db.url, "--batch", "5", "--poll", "0.05")
    try:
        in_flight = _freeze_mid_batch(db, worker)
        done_before = _count_done(db, ids)
        worker.send_signal(signal.SIGTERM)
        worker.send_signal(signal.SIGCONT)
        assert worker.wait(SETTLE) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert in_flight
    states = _statuses(db, ids)
    assert all(states[i][1] for i in in_flight), "the batch in hand was not finished"
    assert _count_done(db, ids) == done_before + len(in_flight), "it went on after SIGTERM"


@pytest.mark.slow
def test_a_notify_wakes_an_idle_worker_process_long_before_its_poll(pg_env: Env) -> None:
    db = pg_env.container.db
    t = pg_env.tenant()
    t.consent(PATIENT)
    worker = _spawn(db.url, "--poll", "600")
    try:
        _wait_for(lambda: _listening(db, worker.pid), "worker listening", worker)
        time.sleep(0.5)
        sent = t.send(PATIENT).json()
        _wait_for(lambda: _count_done(db, [sent["id"]]) == 1, "woken by NOTIFY", worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(SETTLE) == 0
    finally:
        if worker.poll() is None:
            worker.kill()


def _listening(db: Database, pid: int) -> bool:
    with db.write_engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
                    "AND query LIKE 'LISTEN%'"
                ),
                {"app": f"frontdesk-listen-{pid}"},
            ).scalar_one()
        )
