"""The worker reconciles messages left ``sending`` (guarantee 2), at most every interval."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.services import reconcile
from tests.conftest import Env
from tests.services.carrier import message, use_profile

PATIENT = "+13055550142"


def test_guarantee_2_the_worker_settles_a_message_whose_receipts_were_lost(env: Env) -> None:
    use_profile(env, sent_delay=(1, 1), delivered_delay=(2, 2))
    t = env.tenant()
    t.consent(PATIENT)
    mid = t.send(PATIENT).json()["id"]
    env.step()
    env.simulator.lose_pending_receipts()
    env.clock.advance(reconcile.AFTER + timedelta(seconds=1))
    env.step()
    assert message(env, mid).status == "delivered"


def test_the_worker_reconciles_at_most_every_interval(env: Env) -> None:
    use_profile(env, sent_delay=(1, 1), delivered_delay=(2, 2))
    worker = env.container.worker
    t = env.tenant()
    t.consent(PATIENT)
    mid = t.send(PATIENT).json()["id"]
    env.step()
    env.simulator.lose_pending_receipts()
    env.clock.advance(reconcile.AFTER - timedelta(seconds=30))
    assert worker.reconcile() == 0
    env.clock.advance(timedelta(seconds=31))
    assert worker.reconcile() == 0  # the last pass was 31 s ago
    env.clock.advance(timedelta(seconds=30))
    assert worker.reconcile() == 1
    assert message(env, mid).status == "delivered"
