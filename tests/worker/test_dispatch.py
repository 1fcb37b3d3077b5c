"""The dispatcher: many sends in flight, back-pressure per carrier account (issue 12).

A fake carrier at the provider seam answers after a delay, or throttles, or hangs;
the release step is a plain function here (the database's compare-and-set is tested
in test_outbox_fence.py). What must hold: sends overlap instead of queueing behind
each other; a 429 or 5xx pauses that account and halves its window while other
accounts go on; hand-offs that meet the pause are given back, never dropped; a hung
send times out and takes nothing else with it; one recipient's messages go in order
and stop after an answer that changes the recipient (R-E-02, T-12).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from frontdesk.providers.base import OutboundSms, SendResult
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.services.delivery import Handoff
from frontdesk.worker.dispatch import BACKOFF_FIRST, Dispatcher


@dataclass
class FakeCarrier(CarrierSimulator):
    latency: float = 0.05
    answers: dict[str, SendResult] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    started: list[tuple[str, float]] = field(default_factory=list)
    peak: int = 0
    _now: int = 0

    async def send_async(self, message: OutboundSms) -> SendResult:
        self.started.append((message.message_id, time.monotonic()))
        self._now += 1
        self.peak = max(self.peak, self._now)
        try:
            if message.to in self.hang:
                await asyncio.sleep(3600)
            await asyncio.sleep(self.latency)
            return self.answers.get(message.to) or SendResult(True, f"SM{message.message_id}")
        finally:
            self._now -= 1


def _handoffs(n: int, *, account: str | None = None, to: str | None = None) -> list[Handoff]:
    return [
        Handoff(
            "tenant-1",
            "token-1",
            OutboundSms(
                message_id=f"m{account}-{i}",
                to=to or f"+1305555{i:04d}",
                sender="+14155550100",
                body="Bright Smile Dental: see you Tue. Reply STOP to opt out.",
                account=account,
            ),
        )
        for i in range(n)
    ]


def _all(released: Sequence[Handoff]) -> set[str]:
    return {h.id for h in released}


def _drain_all(d: Dispatcher, timeout: float = 10.0) -> tuple[list, list]:  # type: ignore[type-arg]
    assert d.wait_all(timeout)
    return d.drain()


def test_a_slow_carrier_is_answered_with_many_sends_in_flight() -> None:
    carrier = FakeCarrier(latency=0.2)
    d = Dispatcher(carrier, _all, max_in_flight=100)
    try:
        begun = time.monotonic()
        d.submit(_handoffs(100))
        outcomes, deferred = _drain_all(d)
        took = time.monotonic() - begun
    finally:
        d.close()
    assert len(outcomes) == 100 and not deferred
    assert all(o.sent is not None and o.sent.accepted for o in outcomes)
    assert carrier.peak > 50, "sends queued behind each other instead of overlapping"
    assert took < 100 * 0.2 / 4


def test_the_window_bounds_what_is_in_flight() -> None:
    carrier = FakeCarrier(latency=0.05)
    d = Dispatcher(carrier, _all, max_in_flight=8)
    try:
        d.submit(_handoffs(40))
        outcomes, _ = _drain_all(d)
    finally:
        d.close()
    assert len(outcomes) == 40
    assert carrier.peak <= 8


def test_a_fenced_hand_off_is_never_sent() -> None:
    carrier = FakeCarrier(latency=0.0)
    items = _handoffs(10)
    fenced = {items[3].id, items[7].id}

    def release(batch: Sequence[Handoff]) -> set[str]:
        return {h.id for h in batch} - fenced

    d = Dispatcher(carrier, release)
    try:
        d.submit(items)
        outcomes, _ = _drain_all(d)
    finally:
        d.close()
    assert {o.handoff.id for o in outcomes if o.sent is None} == fenced
    assert fenced.isdisjoint(m for m, _ in carrier.started)


def test_R_E_02_a_429_pauses_only_that_account_and_gives_its_hand_offs_back() -> None:
    carrier = FakeCarrier(latency=0.01)
    throttled = _handoffs(1, account="AC-busy", to="+13055559999")
    carrier.answers["+13055559999"] = SendResult(False, error_code="20429", error_message="429")
    clock = [1000.0]
    d = Dispatcher(carrier, _all, now=lambda: clock[0])
    try:
        d.submit(throttled)
        outcomes, _ = _drain_all(d)
        assert outcomes[0].sent is not None and outcomes[0].sent.error_code == "20429"
        lane = d.lane("AC-busy")
        assert lane.paused_until == 1000.0 + BACKOFF_FIRST
        assert lane.limit == d.per_account / 2

        d.submit(_handoffs(5, account="AC-busy") + _handoffs(5, account="AC-calm"))
        outcomes, deferred = _drain_all(d)
    finally:
        d.close()
    assert {x.handoff.sms.account for x in deferred} == {"AC-busy"}
    assert len(deferred) == 5 and all(x.until == 1000.0 + BACKOFF_FIRST for x in deferred)
    assert {o.handoff.sms.account for o in outcomes} == {"AC-calm"}
    assert all(o.sent is not None and o.sent.accepted for o in outcomes)


def test_backoff_doubles_while_the_carrier_keeps_refusing_and_resets_on_success() -> None:
    carrier = FakeCarrier(latency=0.0)
    carrier.answers["+13055559999"] = SendResult(False, error_code="20503")
    clock = [0.0]
    d = Dispatcher(carrier, _all, now=lambda: clock[0])
    try:
        pauses = []
        for _ in range(3):
            d.submit(_handoffs(1, account="AC-1", to="+13055559999"))
            _drain_all(d)
            lane = d.lane("AC-1")
            pauses.append(lane.paused_until - clock[0])
            clock[0] = lane.paused_until
        del carrier.answers["+13055559999"]
        d.submit(_handoffs(1, account="AC-1"))
        outcomes, _ = _drain_all(d)
    finally:
        d.close()
    assert pauses == [BACKOFF_FIRST, BACKOFF_FIRST * 2, BACKOFF_FIRST * 4]
    assert outcomes[0].sent is not None and outcomes[0].sent.accepted
    assert d.lane("AC-1").backoff == 0.0


def test_a_permanent_refusal_does_not_slow_the_account() -> None:
    carrier = FakeCarrier(latency=0.0)
    carrier.answers["+13055559999"] = SendResult(False, error_code="21610")
    d = Dispatcher(carrier, _all)
    try:
        d.submit(_handoffs(1, to="+13055559999"))
        _drain_all(d)
    finally:
        d.close()
    assert d.lane(None).paused_until == 0.0


def test_a_hung_send_times_out_and_nothing_else_waits_on_it() -> None:
    carrier = FakeCarrier(latency=0.02)
    carrier.hang.add("+13055550000")
    d = Dispatcher(carrier, _all, send_timeout=0.5)
    try:
        begun = time.monotonic()
        d.submit(_handoffs(20))
        time.sleep(0.3)
        early, _ = d.drain()
        outcomes, _ = _drain_all(d)
    finally:
        d.close()
    assert len(early) == 19, "the other sends waited on the hung one"
    assert time.monotonic() - begun < 5
    (hung,) = outcomes
    assert hung.sent is not None and hung.sent.error_code == "network"


def test_T_12_a_recipients_messages_go_in_order_and_stop_after_an_opt_out_at_the_carrier() -> None:
    carrier = FakeCarrier(latency=0.01)
    patient = "+13055551234"
    chain = _handoffs(4, to=patient)
    d = Dispatcher(carrier, _all)
    try:
        d.submit(chain[:2])
        _drain_all(d)
        assert [m for m, _ in carrier.started] == [chain[0].id, chain[1].id]
        carrier.answers[patient] = SendResult(False, error_code="21610")
        d.submit(chain[2:])
        outcomes, deferred = _drain_all(d)
    finally:
        d.close()
    assert [o.handoff.id for o in outcomes] == [chain[2].id]
    assert [x.handoff.id for x in deferred] == [chain[3].id], "sent after the carrier's 21610"
