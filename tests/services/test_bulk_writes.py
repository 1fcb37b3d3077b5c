"""The hand-off and receipts write in bulk (issue 4) with the same outcomes as row by row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from frontdesk.providers.base import StatusUpdate
from frontdesk.services import status
from frontdesk.storage.claims import MessageUpdates, claim_due_rows
from frontdesk.storage.models import Message
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import Env
from tests.services.carrier import edit_message, events, message, use_profile

PATIENT = "+13055550142"
OTHER = "+13055550143"


def _handed_off(env: Env, to: str = PATIENT) -> tuple[str, str]:
    use_profile(env, sent_delay=(3600, 3600), delivered_delay=(3600, 3600))
    t = env.tenant()
    t.consent(to)
    mid = t.send(to).json()["id"]
    env.step()
    got = message(env, mid)
    assert got.status == "sending" and got.provider_message_id
    return mid, got.provider_message_id


def test_sent_and_delivered_in_one_drain_end_delivered_with_one_event_each(env: Env) -> None:
    mid, pid = _handed_off(env)
    drain = [
        StatusUpdate("simulator", pid, "sent"),
        StatusUpdate("simulator", pid, "delivered"),
        StatusUpdate("simulator", pid, "sent"),
        StatusUpdate("simulator", pid, "delivered"),
    ]
    with UnitOfWork(env.container.db) as uow:
        outcomes = status.apply_statuses(uow, drain, env.clock.now())
        uow.commit()
    assert outcomes == ["applied", "applied", "duplicate", "duplicate"]
    assert message(env, mid).status == "delivered"
    assert [e.status for e in events(env, mid)] == ["queued", "sending", "sent", "delivered"]


def test_a_late_sent_after_delivered_in_one_drain_is_stale(env: Env) -> None:
    mid, pid = _handed_off(env)
    drain = [StatusUpdate("simulator", pid, "delivered"), StatusUpdate("simulator", pid, "sent")]
    with UnitOfWork(env.container.db) as uow:
        assert status.apply_statuses(uow, drain, env.clock.now()) == ["applied", "stale"]
        uow.commit()
    assert message(env, mid).status == "delivered"


def test_receipts_see_the_sessions_own_unflushed_change(env: Env) -> None:
    mid, pid = _handed_off(env)
    with UnitOfWork(env.container.db) as uow:
        held = uow.session.get(Message, mid)
        assert held is not None
        held.status = "delivered"
        outcome = status.apply_statuses(
            uow, [StatusUpdate("simulator", pid, "sent")], env.clock.now()
        )
        assert outcome == ["stale"]
        uow.commit()
    assert message(env, mid).status == "delivered"


def test_a_failure_receipt_in_a_drain_works_on_the_full_row(env: Env) -> None:
    mid, pid = _handed_off(env)
    drain = [
        StatusUpdate("simulator", pid, "sent"),
        StatusUpdate("simulator", pid, "undelivered", error_code="30003"),
    ]
    with UnitOfWork(env.container.db) as uow:
        assert status.apply_statuses(uow, drain, env.clock.now()) == ["applied", "retried"]
        uow.commit()
    got = message(env, mid)
    assert got.status == "queued" and got.error_code == "30003"
    assert got.send_at > env.clock.now()


def test_bulk_updates_leave_no_stale_object_in_the_session(env: Env) -> None:
    mid, _ = _handed_off(env)
    with UnitOfWork(env.container.db) as uow:
        held = uow.session.get(Message, mid)
        assert held is not None and held.status == "sending"
        held.body = "edited in the session, not yet flushed"
        writes = MessageUpdates()
        writes.set(mid, status="sent", updated_at=env.clock.now())
        writes.write(uow.session)
        assert held.status == "sent"
        assert held.body == "edited in the session, not yet flushed"
        uow.commit()
    got = message(env, mid)
    assert (got.status, got.body) == ("sent", "edited in the session, not yet flushed")


def test_the_claim_takes_the_oldest_due_across_queued_and_scheduled(env: Env) -> None:
    use_profile(env)
    t = env.tenant()
    t.consent(PATIENT)
    t.consent(OTHER)
    ids = [t.send(PATIENT if i % 2 else OTHER).json()["id"] for i in range(4)]
    now = env.clock.now()
    for offset, (mid, state) in enumerate(
        zip(ids, ["scheduled", "queued", "scheduled", "queued"], strict=True)
    ):
        edit_message(env, mid, status=state, send_at=now - timedelta(minutes=10 - offset))
    with UnitOfWork(env.container.db) as uow:
        claimed = claim_due_rows(uow.session, now, 3)
        assert [c.id for c in claimed] == ids[:3]
        assert all(c.attempts == 1 for c in claimed)
        rows = uow.session.execute(
            select(Message.id, Message.status).where(Message.id.in_(ids))
        ).all()
        states = {row.id: row.status for row in rows}
        assert [states[i] for i in ids] == ["sending", "sending", "sending", "queued"]


def test_on_sqlite_the_claims_marking_reaches_each_row_with_its_hand_off_update(
    env: Env,
) -> None:
    """Issue 4: given the batch's writes, the SQLite claim queues ``sending`` and the
    attempt instead of updating at once; written, the rows are exactly as claimed."""
    use_profile(env)
    t = env.tenant()
    t.consent(PATIENT)
    ids = [t.send(PATIENT).json()["id"] for _ in range(2)]
    now = env.clock.now()
    with UnitOfWork(env.container.db) as uow:
        writes = MessageUpdates()
        claimed = claim_due_rows(uow.session, now, 5, writes)
        assert [c.id for c in claimed] == ids and all(c.attempts == 1 for c in claimed)
        pending = (
            uow.session.execute(select(Message.status).where(Message.id.in_(ids))).scalars().all()
        )
        assert pending == ["queued", "queued"], "nothing written before the hand-off"
        writes.set(ids[0], provider="simulator", handed_off_at=now, updated_at=now)
        writes.write(uow.session)
        uow.commit()
    first, second = message(env, ids[0]), message(env, ids[1])
    assert (first.status, first.attempts, first.provider) == ("sending", 1, "simulator")
    assert (second.status, second.attempts, second.provider) == ("sending", 1, None)
