"""Reconciliation on PostgreSQL: two workers settling the same messages apply them once.

``storage.reconcile.claim_awaiting`` takes the rows ``FOR UPDATE SKIP LOCKED``: a
second worker neither waits nor double-applies (guarantee 2, R-E-01 dedup).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.services import reconcile
from frontdesk.services.reconcile import ReconcileResult
from frontdesk.storage.reconcile import claim_awaiting
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import ADMIN, T0, Env
from tests.services.carrier import audit_actions, events, message, use_profile

pytestmark = pytest.mark.postgres

PATIENT = "+13055550142"


@pytest.fixture
def pg_env(pg_clean: str, tmp_path: Path) -> Iterator[Env]:
    clock = FixedClock(T0)
    simulator = CarrierSimulator(seed=1)
    container = build(
        Settings(database_url=pg_clean, admin_token=ADMIN), clock=clock, provider=simulator
    )
    assert container.db.dialect == "postgresql"
    app = create_app(container, start_worker=False)
    with TestClient(app) as client:
        yield Env(container, client, clock, simulator, tmp_path)
    container.close()


def _lost(env: Env, count: int) -> list[str]:
    use_profile(env, sent_delay=(1, 1), delivered_delay=(2, 2))
    t = env.tenant()
    ids = []
    for n in range(count):
        phone = f"+1305555{n:04d}"
        t.consent(phone)
        ids.append(t.send(phone).json()["id"])
    env.step()
    env.simulator.lose_pending_receipts()
    env.clock.advance(reconcile.AFTER + timedelta(seconds=1))
    return ids


def test_a_row_held_by_one_worker_is_skipped_not_waited_for(pg_env: Env) -> None:
    [mid] = _lost(pg_env, 1)
    db, now = pg_env.container.db, pg_env.clock.now()
    with UnitOfWork(db, write=False) as peek:
        found = reconcile.stuck(peek, now)
    with UnitOfWork(db) as first:
        assert claim_awaiting(first.session, found) == {mid}
        with UnitOfWork(db) as second:
            assert claim_awaiting(second.session, found) == set()
        reconcile.settle(first, reconcile.look_up(pg_env.simulator, found), now)
        first.commit()
    with UnitOfWork(db) as late:
        assert claim_awaiting(late.session, found) == set()
    assert message(pg_env, mid).status == "delivered"


def test_guarantee_2_two_workers_settling_at_once_apply_each_answer_once(pg_env: Env) -> None:
    ids = _lost(pg_env, 6)
    db, now = pg_env.container.db, pg_env.clock.now()
    with UnitOfWork(db, write=False) as peek:
        found = reconcile.stuck(peek, now)
    assert len(found) == 6
    results: list[ReconcileResult] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def settle() -> None:
        try:
            answers = reconcile.look_up(pg_env.simulator, found)
            start.wait()
            with UnitOfWork(db) as uow:
                results.append(reconcile.settle(uow, answers, now))
                uow.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=settle) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert sum(r.resolved for r in results) == 6
    assert sum(r.resolved + r.skipped for r in results) == 12
    for mid in ids:
        assert message(pg_env, mid).status == "delivered"
        assert [e.status for e in events(pg_env, mid)].count("delivered") == 1
    tenant_id = message(pg_env, ids[0]).tenant_id
    assert audit_actions(pg_env, tenant_id).count("message.reconciled") == 6
