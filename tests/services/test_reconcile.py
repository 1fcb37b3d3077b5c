"""Reconciliation (guarantee 2, R-E-01, R-E-02): no message stays ``sending`` forever, and
a ``sent`` one whose final receipt was lost learns it from the carrier.

A receipt lost with a killed process or a missed webhook is recovered by asking
the carrier, through the receipt path (same state machine, same dedup); a
message nobody can place is ``undelivered`` with ``no_receipt`` after the
deadline, never ``delivered`` without evidence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import event

from frontdesk.providers.base import InboundSms, OutboundSms, Provider, SendResult, StatusUpdate
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.services import reconcile, status
from frontdesk.services.reconcile import ReconcilePolicy, ReconcileResult
from frontdesk.storage.reconcile import AskWindow
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import T0, Env
from tests.services.carrier import audit_actions, events, message, suppression_reasons, use_profile

PATIENT = "+13055550142"
LANDLINE = "+13055550177"
UNREACHABLE = "+13055550188"
AFTER = reconcile.AFTER + timedelta(seconds=1)


class NoLookup:
    """The simulator behind a port without the optional status look-up (like SMPP)."""

    def __init__(self, inner: CarrierSimulator) -> None:
        self.inner = inner
        self.name = inner.name
        self.supports_mms = inner.supports_mms

    def send(self, message: OutboundSms) -> SendResult:
        return self.inner.send(message)

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms:
        return self.inner.parse_inbound(form)

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate:
        return self.inner.parse_status(form)

    def verify_signature(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        return True

    def drain_status_updates(self) -> list[StatusUpdate]:
        return self.inner.drain_status_updates()

    def drain_inbound(self) -> list[InboundSms]:
        return self.inner.drain_inbound()


def _reconcile(env: Env, provider: Provider | None = None) -> ReconcileResult:
    """The worker's three steps: read, ask outside a transaction, settle and commit."""
    db, now = env.container.db, env.clock.now()
    with UnitOfWork(db, write=False) as peek:
        found = reconcile.stuck(peek, now)
    answers = reconcile.look_up(provider or env.simulator, found)
    with UnitOfWork(db) as uow:
        result = reconcile.settle(uow, answers, now)
        uow.commit()
    return result


def _apply(env: Env, update: StatusUpdate) -> str:
    with UnitOfWork(env.container.db) as uow:
        outcome = status.apply_status(uow, update, env.clock.now())
        uow.commit()
    return outcome


def _handed_off(env: Env, *phones: str, **profile: object) -> list[tuple[str, str]]:
    """Messages handed off whose receipts the process then lost (a kill -9)."""
    use_profile(env, sent_delay=(1, 1), delivered_delay=(2, 2), **profile)
    t = env.tenant()
    ids = []
    for phone in phones:
        t.consent(phone)
        ids.append(t.send(phone).json()["id"])
    env.step()
    assert env.simulator.lose_pending_receipts() >= 2 * len(phones)
    out = []
    for mid in ids:
        got = message(env, mid)
        assert got.status == "sending" and got.provider_message_id
        out.append((mid, got.provider_message_id))
    return out


def test_guarantee_2_lost_receipts_are_resolved_to_the_carriers_outcome(env: Env) -> None:
    (ok, _), (bad, _) = _handed_off(env, PATIENT, LANDLINE, landlines=frozenset({LANDLINE}))
    env.clock.advance(AFTER)
    assert env.container.worker.apply_reports() == 0  # nothing to drain: the receipts are gone
    assert message(env, ok).status == "sending"

    result = _reconcile(env)

    assert (result.asked, result.resolved, result.waiting, result.unresolved) == (2, 2, 0, 0)
    assert message(env, ok).status == "delivered"
    got = message(env, bad)
    assert (got.status, got.error_code) == ("undelivered", "30006")
    assert suppression_reasons(env, got.tenant_id, LANDLINE) == ["carrier_landline"]  # R-E-02
    assert [e.status for e in events(env, ok)] == ["queued", "sending", "delivered"]
    assert audit_actions(env, got.tenant_id).count("message.reconciled") == 2
    assert _reconcile(env).asked == 0


def test_R_E_02_a_retryable_answer_requeues_like_a_webhook_would(env: Env) -> None:
    [(mid, _)] = _handed_off(env, UNREACHABLE, unreachable_numbers=frozenset({UNREACHABLE}))
    env.clock.advance(AFTER)
    assert _reconcile(env).resolved == 1
    got = message(env, mid)
    assert (got.status, got.error_code) == ("queued", "30003")


def test_a_message_within_the_threshold_is_not_asked(env: Env) -> None:
    [(mid, _)] = _handed_off(env, PATIENT)
    env.clock.advance(reconcile.AFTER - timedelta(seconds=1))
    assert _reconcile(env) == ReconcileResult()
    assert message(env, mid).status == "sending"
    env.clock.advance(timedelta(seconds=2))
    assert _reconcile(env).resolved == 1


def _sent_then_lost(env: Env, delivered_after: float = 2) -> tuple[str, str]:
    """A message the carrier reported ``sent`` whose final receipt the process then lost."""
    use_profile(env, sent_delay=(1, 1), delivered_delay=(delivered_after, delivered_after))
    t = env.tenant()
    t.consent(PATIENT)
    mid = t.send(PATIENT).json()["id"]
    env.step()
    env.clock.advance(timedelta(seconds=1))
    env.step()
    got = message(env, mid)
    assert got.status == "sent" and got.provider_message_id
    env.simulator.lose_pending_receipts()
    return mid, got.provider_message_id


def test_guarantee_2_a_sent_message_whose_final_receipt_was_lost_is_settled(env: Env) -> None:
    mid, _ = _sent_then_lost(env)
    env.clock.advance(AFTER)
    result = _reconcile(env)
    assert (result.asked, result.resolved) == (1, 1)
    assert message(env, mid).status == "delivered"
    assert [e.status for e in events(env, mid)] == ["queued", "sending", "sent", "delivered"]
    assert _reconcile(env).asked == 0


def test_R_E_01_a_sent_message_is_never_undelivered_for_want_of_a_final_receipt(
    env: Env,
) -> None:
    """Some carriers never send a final receipt: ``sent`` is the true state, so past the
    deadline the message stays ``sent`` and is no longer asked about."""
    mid, _ = _sent_then_lost(env, delivered_after=reconcile.DEADLINE.total_seconds() * 2)
    env.clock.advance(AFTER)
    result = _reconcile(env)
    assert (result.asked, result.waiting, message(env, mid).status) == (1, 1, "sent")
    env.clock.advance(reconcile.DEADLINE)
    assert _reconcile(env) == ReconcileResult()
    got = message(env, mid)
    assert (got.status, got.error_code) == ("sent", None)


def test_queued_scheduled_and_final_messages_are_never_asked(env: Env) -> None:
    use_profile(env)
    t = env.tenant()
    t.consent(PATIENT)
    done = t.send(PATIENT).json()["id"]
    env.step()
    env.step()
    assert message(env, done).status == "delivered"
    waiting = t.send(PATIENT, send_at=(env.clock.now() + timedelta(days=5)).isoformat())
    assert waiting.json()["status"] in ("queued", "scheduled")
    env.clock.advance(reconcile.DEADLINE + AFTER)
    assert _reconcile(env) == ReconcileResult()
    assert message(env, done).status == "delivered"


def _due(window: AskWindow, handed: datetime, changed: datetime, state: str) -> bool:
    """``storage.reconcile.awaiting_receipt``'s condition for one message, in Python."""
    return (
        handed <= window.handed_before
        and changed <= window.asked_before
        and (window.handed_after is None or handed > window.handed_after)
        and (state == "sending" or not window.sending_only)
    )


def _ask_times(policy: ReconcilePolicy, state: str, tick: timedelta) -> list[timedelta]:
    """When a message nobody can place is asked about, polling every ``tick``."""
    handed = changed = T0
    asked: list[timedelta] = []
    now = T0
    while now - T0 <= policy.deadline + policy.after:
        if any(_due(w, handed, changed, state) for w in policy.windows(now)):
            asked.append(now - T0)
            changed = now
            if now - T0 >= policy.deadline:
                break  # the deadline verdict: ``undelivered``, never asked again
        now += tick
    return asked


def test_look_ups_back_off_with_age_and_stop_at_the_deadline() -> None:
    """A carrier API call per look-up: 16 in 72 hours, not one every 15 minutes."""
    policy = reconcile.DEFAULT_POLICY
    for state in ("sending", "sent"):
        times = _ask_times(policy, state, timedelta(minutes=1))
        assert times[0] == policy.after
        gaps = [b - a for a, b in pairwise(times)]
        before = [g for t, g in zip(times[1:], gaps, strict=True) if t < policy.deadline]
        assert before == sorted(before)  # never more often as the message ages
        assert all(g <= max(policy.after, t / 2) for t, g in zip(times[1:], gaps, strict=True))
        if state == "sending":
            assert times[-1] == policy.deadline  # asked once more, for the verdict
            assert len(times) == 16
        else:
            assert times[-1] < policy.deadline
            assert len(times) == 15


def test_the_database_asks_on_the_same_schedule(env: Env) -> None:
    [(mid, pid)] = _handed_off(env, PATIENT)
    env.simulator.forget(pid)
    tick = timedelta(minutes=15)
    expected = _ask_times(reconcile.DEFAULT_POLICY, "sending", tick)
    asked: list[timedelta] = []
    start = message(env, mid).handed_off_at
    assert start is not None
    now = start
    while now - start <= reconcile.DEADLINE + reconcile.AFTER:
        env.clock.set(now)
        if _reconcile(env).asked:
            asked.append(now - start)
        now += tick
    assert asked == expected
    assert message(env, mid).status == "undelivered"


def test_unknown_until_the_deadline_then_undelivered_with_the_explanation(env: Env) -> None:
    [(mid, pid)] = _handed_off(env, PATIENT)
    env.simulator.forget(pid)
    env.clock.advance(AFTER)
    assert (_reconcile(env).asked, message(env, mid).status) == (1, "sending")
    env.clock.advance(reconcile.AFTER - timedelta(seconds=2))
    assert _reconcile(env).asked == 0  # asked again only an interval later
    env.clock.advance(timedelta(seconds=2))
    assert _reconcile(env).waiting == 1

    env.clock.advance(reconcile.DEADLINE)
    result = _reconcile(env)

    assert (result.asked, result.unresolved) == (1, 1)
    got = message(env, mid)
    assert (got.status, got.error_code) == ("undelivered", reconcile.NO_RECEIPT)
    assert [r["code"] for r in got.reasons] == ["no_receipt"]
    last = events(env, mid)[-1]
    assert (last.status, last.error_code) == ("undelivered", "no_receipt")
    assert last.detail["reason"] == "no receipt; carrier status unknown"
    env.clock.advance(timedelta(hours=1))
    env.step()
    assert message(env, mid).status == "undelivered"  # never retried: it may have arrived


def test_R_E_01_a_receipt_after_reconciliation_is_deduplicated_never_backwards(
    env: Env,
) -> None:
    [(mid, pid)] = _handed_off(env, PATIENT)
    env.clock.advance(AFTER)
    _reconcile(env)
    assert _apply(env, StatusUpdate("simulator", pid, "sent")) == "stale"
    assert _apply(env, StatusUpdate("simulator", pid, "delivered")) == "duplicate"
    assert message(env, mid).status == "delivered"
    assert [e.status for e in events(env, mid)].count("delivered") == 1


def test_R_E_01_a_late_delivered_does_not_undo_the_deadline_verdict(env: Env) -> None:
    [(mid, pid)] = _handed_off(env, PATIENT)
    env.simulator.forget(pid)
    env.clock.advance(reconcile.DEADLINE + AFTER)
    assert _reconcile(env).unresolved == 1
    assert _apply(env, StatusUpdate("simulator", pid, "delivered")) == "stale"
    assert message(env, mid).status == "undelivered"


def test_a_provider_without_look_up_gets_only_the_deadline_rule(env: Env) -> None:
    [(mid, _)] = _handed_off(env, PATIENT)
    provider = NoLookup(env.simulator)
    env.clock.advance(AFTER)
    result = _reconcile(env, provider)
    assert (result.asked, result.waiting, message(env, mid).status) == (0, 1, "sending")
    env.clock.advance(reconcile.DEADLINE)
    assert _reconcile(env, provider).unresolved == 1
    got = message(env, mid)
    assert (got.status, got.error_code) == ("undelivered", "no_receipt")
    assert events(env, mid)[-1].detail["asked"] is False


def test_a_message_settled_since_it_was_read_is_skipped(env: Env) -> None:
    """Two workers, or a webhook, settling the same message: only the first applies."""
    [(mid, _)] = _handed_off(env, PATIENT)
    env.clock.advance(AFTER)
    now = env.clock.now()
    with UnitOfWork(env.container.db, write=False) as peek:
        found = reconcile.stuck(peek, now)
    first = reconcile.look_up(env.simulator, found)
    second = reconcile.look_up(env.simulator, found)
    for answers, skipped in ((first, 0), (second, 1)):
        with UnitOfWork(env.container.db) as uow:
            result = reconcile.settle(uow, answers, now)
            uow.commit()
        assert result.skipped == skipped
    assert message(env, mid).status == "delivered"
    assert [e.status for e in events(env, mid)].count("delivered") == 1
    assert audit_actions(env, message(env, mid).tenant_id).count("message.reconciled") == 1


def test_the_sent_pass_reads_an_index_range_so_it_does_not_grow_with_the_table(
    env: Env,
) -> None:
    """Messages a carrier never finalises stay ``sent`` for good; the pass that looks for
    overdue ones must not scan them all every minute (EXPLAIN QUERY PLAN, SQLite)."""
    executed: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        executed.append((statement, params))

    engine = env.container.db.read_engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        with UnitOfWork(env.container.db, write=False) as peek:
            reconcile.stuck(peek, env.clock.now())
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    [(sql, params)] = [
        (s, p) for s, p in executed if "messages.status = ?" in s and "messages.send_at >" in s
    ]
    with sqlite3.connect(env.db_path) as con:
        plan = " | ".join(str(row[-1]) for row in con.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert "USING INDEX ix_messages_due (status=? AND send_at>?)" in plan, plan
