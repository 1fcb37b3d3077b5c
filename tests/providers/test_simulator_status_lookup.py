"""The simulator answers status look-ups like a carrier: from its record, at the clock's time.

Guarantee 2: receipts a killed process held in memory are lost
(``lose_pending_receipts``), yet the carrier still knows what became of the
message, so ``services.reconcile`` can settle it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.base import StatusLookup, StatusUpdate, fetch_status
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.providers.smpp import SmppProvider
from tests.providers.test_simulator import T0, sim, sms

PATIENT = "+13055550142"


def _state(update: StatusUpdate | None) -> tuple[str, str | None] | None:
    return None if update is None else (update.status, update.error_code)


def test_the_simulator_and_smpp_can_look_up() -> None:
    assert isinstance(CarrierSimulator(), StatusLookup)
    assert issubclass(SmppProvider, StatusLookup)  # query_sm (tests/providers/test_smpp.py)
    assert fetch_status(object(), "SM1") is None


def test_look_up_follows_the_clock_from_queued_to_sent_to_delivered() -> None:
    clock = FixedClock(T0)
    s = sim(clock, sent_delay=(2, 2), delivered_delay=(5, 5))
    pid = s.send(sms(PATIENT)).provider_message_id
    assert pid is not None
    assert s.fetch_status(pid) is None
    clock.advance(timedelta(seconds=2))
    assert _state(s.fetch_status(pid)) == ("sent", None)
    clock.advance(timedelta(seconds=5))
    update = s.fetch_status(pid)
    assert update == StatusUpdate(
        "simulator", pid, "delivered", None, T0 + timedelta(seconds=7), source="lookup"
    )


def test_guarantee_2_look_up_still_answers_after_the_receipts_are_lost() -> None:
    s = sim(unknown_numbers=frozenset({PATIENT}))
    ok = s.send(sms("+13055550143", n=1)).provider_message_id
    bad = s.send(sms(PATIENT, n=2)).provider_message_id
    assert ok and bad
    assert s.lose_pending_receipts() == 4
    assert s.drain_status_updates() == [] and s.pending() == 0
    assert _state(s.fetch_status(ok)) == ("delivered", None)
    assert _state(s.fetch_status(bad)) == ("undelivered", "30005")


def test_a_refusal_without_sent_is_looked_up_as_failed() -> None:
    s = sim(number_mps=1)
    s.send(sms(PATIENT, n=1))
    pid = s.send(sms("+13055550143", n=2)).provider_message_id
    assert pid is not None
    assert _state(s.fetch_status(pid)) == ("failed", "30022")


def test_reordered_receipts_still_look_up_as_the_final_state() -> None:
    clock = FixedClock(T0)
    s = sim(clock, reorder_rate=1.0, sent_delay=(1, 1), delivered_delay=(3, 3))
    pid = s.send(sms(PATIENT)).provider_message_id
    assert pid is not None
    clock.advance(timedelta(seconds=1))
    assert _state(s.fetch_status(pid)) == ("delivered", None)


def test_an_unknown_or_forgotten_id_is_not_known() -> None:
    s = sim()
    pid = s.send(sms(PATIENT)).provider_message_id
    assert pid is not None
    assert s.fetch_status("SMnope") is None
    s.forget(pid)
    assert s.fetch_status(pid) is None


def test_looking_up_takes_no_random_draw_so_seeded_runs_repeat() -> None:
    profile: dict[str, Any] = {
        "sent_delay": (0.5, 3.0),
        "delivered_delay": (1.0, 9.0),
        "duplicate_rate": 0.5,
    }
    quiet, asked = sim(FixedClock(T0), **profile), sim(FixedClock(T0), **profile)
    for n in range(20):
        quiet.send(sms(f"+1305555{n:04d}", n=n))
        pid = asked.send(sms(f"+1305555{n:04d}", n=n)).provider_message_id
        assert pid is not None
        asked.fetch_status(pid)
    for s in (quiet, asked):
        assert isinstance(s.clock, FixedClock)
        s.clock.advance(timedelta(minutes=1))

    def key(s: CarrierSimulator) -> list[tuple[str, str, object]]:
        return [(u.provider_message_id[-6:], u.status, u.at) for u in s.drain_status_updates()]

    assert key(quiet) == key(asked)


def test_the_record_is_finite_so_a_long_run_holds_bounded_memory() -> None:
    """The oldest messages beyond ``memory`` are forgotten, like a carrier's expired record."""
    s = CarrierSimulator(clock=FixedClock(T0), memory=3)
    ids = [s.send(sms(f"+1305555{n:04d}", n=n)).provider_message_id for n in range(5)]
    assert all(ids)
    assert [m.message_id for m in s.sent] == ["msg_2", "msg_3", "msg_4"]
    assert [s.fetch_status(pid) is not None for pid in ids if pid] == [False, False] + [True] * 3
    refusing = CarrierSimulator(clock=FixedClock(T0), memory=2)
    refusing.opt_out_at_carrier(PATIENT)
    refusing.profile = replace(refusing.profile, block_after_stop=True)
    for n in range(4):
        refusing.send(sms(PATIENT, n=n))
    assert [m.message_id for m, _ in refusing.refused] == ["msg_2", "msg_3"]


def test_a_simulator_that_remembers_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="memory"):
        CarrierSimulator(memory=0)


def test_the_memory_is_a_setting(tmp_path: Path) -> None:
    container = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'fd.db'}", simulator_memory=7),
        clock=FixedClock(T0),
    )
    try:
        assert isinstance(container.provider, CarrierSimulator)
        assert container.provider.memory == 7
    finally:
        container.close()
    with pytest.raises(ValidationError, match="simulator_memory"):
        Settings(simulator_memory=0)
