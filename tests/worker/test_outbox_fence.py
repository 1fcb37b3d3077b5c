"""The outbox's fence (issue 12, guarantee 1): no message is handed to a carrier after
the STOP that forbids it has committed (R-FCC-02, T-11).

The carrier is called outside any transaction: a claim commits, then each send is
released by a compare-and-set just before its network write. A STOP fences the
number's claims that are not released yet, so the release finds nothing. These tests
race STOPs against sends through a slow carrier and check, from the carrier's own
journal, that every message it received was released before its recipient's STOP
committed, and that every other one ends blocked.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.base import InboundSms, OutboundSms, SendResult
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.services import delivery, inbound
from frontdesk.storage import claims
from frontdesk.storage.models import Message
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import ADMIN, BUSINESS_NUMBER, T0, Env
from tests.services.carrier import set_settings

BODY = "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply STOP to opt out."


class RunningClock(FixedClock):
    """Real time from ``T0`` (a Tuesday at 11:00 in New York): ordered like the wall
    clock, and never in quiet hours, whenever the suite runs."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._origin = time.monotonic()
        self._start = start

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


@dataclass
class SlowCarrier(CarrierSimulator):
    """The simulator behind a 40 ms round trip, journaling each network write's moment."""

    latency: float = 0.04
    wire: list[tuple[str, datetime]] = field(default_factory=list)
    stamp: RunningClock | None = None

    async def send_async(self, message: OutboundSms) -> SendResult:
        assert self.stamp is not None
        self.wire.append((message.message_id, self.stamp.now()))
        await asyncio.sleep(self.latency)
        return self.send(message)


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[Env, SlowCarrier]]:
    clock = RunningClock(T0)
    carrier = SlowCarrier(seed=3, clock=clock, stamp=clock)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fd.db'}", admin_token=ADMIN)
    container = build(settings, clock=clock, provider=carrier)
    with TestClient(create_app(container, start_worker=False)) as client:
        yield Env(container, client, clock, carrier, tmp_path / "fd.db"), carrier
    container.close()


def _queue(env: Env, phones: list[str], per_phone: int) -> tuple[str, list[str]]:
    t = env.tenant()
    set_settings(env, t.id, frequency_cap=1000)  # R-Q-04 would hold repeated sends
    for phone in phones:
        t.consent(phone)
    items = [
        {"to": p, "body": BODY, "category": "appointment_reminder"}
        for _ in range(per_phone)
        for p in phones
    ]
    r = t.post("/v1/messages/batch", {"messages": items})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert all(res["status"] == "queued" for res in results), results[:2]
    return t.id, [res["id"] for res in results]


def _stop(env: Env, tenant_id: str, phone: str) -> datetime:
    """The patient texts STOP; returns the moment just after it committed."""
    with UnitOfWork(env.container.db) as uow:
        sms = InboundSms("simulator", f"IN-{phone}", phone, BUSINESS_NUMBER, "STOP")
        outcome = inbound.handle_inbound(uow.tenant(tenant_id), sms, env.clock.now())
        assert outcome.inbound.classification == "opt_out"
        uow.commit()
    return env.clock.now()


def _rows(env: Env, ids: list[str]) -> dict[str, Message]:
    with UnitOfWork(env.container.db, write=False) as uow:
        found = uow.session.execute(select(Message).where(Message.id.in_(ids))).scalars()
        rows = {m.id: m for m in found}
        for m in rows.values():
            uow.session.expunge(m)
        return rows


def test_R_FCC_02_a_STOP_between_claim_and_release_fences_the_claim(
    slow: tuple[Env, SlowCarrier],
) -> None:
    env, carrier = slow
    patient = "+13055550142"
    tenant_id, (mid,) = _queue(env, [patient], 1)
    with UnitOfWork(env.container.db) as uow:
        batch = delivery.claim_batch(uow, carrier.name, env.clock.now(), 10, "test-1")
        uow.commit()
    assert [h.id for h in batch.ready] == [mid]

    _stop(env, tenant_id, patient)

    with UnitOfWork(env.container.db) as uow:
        assert claims.release(uow.session, [mid], "test-1", env.clock.now()) == set()
        uow.commit()
    env.container.worker.drain()
    row = _rows(env, [mid])[mid]
    assert row.status == "blocked"
    assert "opted_out" in [r["code"] for r in row.reasons]
    assert [m for m, _ in carrier.wire if m == mid] == [], "a fenced claim reached the carrier"


def test_R_FCC_02_STOPs_racing_sends_through_a_slow_carrier_stop_every_later_hand_off(
    slow: tuple[Env, SlowCarrier],
) -> None:
    env, carrier = slow
    phones = [f"+1305556{i:04d}" for i in range(40)]
    tenant_id, ids = _queue(env, phones, per_phone=5)
    worker = env.container.worker
    worker.batch = 25
    worker.max_in_flight = 16
    stops: dict[str, datetime] = {}
    rng = random.Random(12)
    order = phones[:]
    rng.shuffle(order)

    def stop_all() -> None:
        for phone in order:
            time.sleep(rng.uniform(0.0, 0.05))
            stops[phone] = _stop(env, tenant_id, phone)

    worker.start()
    stopper = threading.Thread(target=stop_all)
    stopper.start()
    stopper.join(60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = list(_rows(env, ids).values())
        settled = (m.status not in ("queued", "scheduled") and not m.claim_token for m in rows)
        if all(settled):
            break
        time.sleep(0.1)
    stats = dict(worker.dispatcher.stats)
    worker.stop()

    rows = _rows(env, ids)
    wired = {mid for mid, _ in carrier.wire}
    for mid, row in rows.items():
        stop_at = stops[row.to_phone]
        if mid in wired:
            assert row.released_at is not None and row.released_at < stop_at, (
                f"{mid} was released after its recipient's STOP committed"
            )
        else:
            assert row.status == "blocked", (mid, row.status)
            assert "opted_out" in [r["code"] for r in row.reasons]
    assert 0 < len(wired & set(ids)) < len(ids), "the STOPs did not race the sends"
    late = [mid for mid, at in carrier.wire if mid in rows and at > stops[rows[mid].to_phone]]
    # A send released just before the STOP may reach the wire a moment after it commits;
    # never one released after it (checked above). Those moments are counted, not hidden.
    assert len(late) <= worker.max_in_flight, (len(late), stats)
