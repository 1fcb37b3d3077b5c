"""storage/appends.py: queued append-only rows are written before anything can read them
(issue 4 bulk writes must be invisible to every reader)."""

from __future__ import annotations

from sqlalchemy import func, select

from frontdesk.storage.models import AuditEntry, Message, MessageEvent
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import T0, Env


def _row(tenant_id: str, msg_id: str) -> dict[str, object]:
    return {
        "id": msg_id,
        "tenant_id": tenant_id,
        "to_phone": "+13055550111",
        "from_phone": None,
        "body": "Bright Smile Dental: hi. Reply STOP to opt out.",
        "media_urls": [],
        "category": "appointment_reminder",
        "subject": None,
        "status": "queued",
        "reasons": [],
        "warnings": [],
        "segments": 1,
        "encoding": "GSM-7",
        "send_at": T0,
        "idempotency_key": None,
        "request_hash": None,
        "attempts": 0,
        "revocation_at": None,
        "appointment_starts_at": None,
        "created_at": T0,
        "updated_at": T0,
    }


def _count(uow: UnitOfWork, model: type) -> int:
    return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_query_sees_rows_queued_earlier_in_the_transaction(env: Env) -> None:
    t = env.tenant()
    with UnitOfWork(env.container.db) as uow:
        scope = uow.tenant(t.id)
        before = _count(uow, MessageEvent)
        scope.queue_message(_row(t.id, "msg_a1"))
        scope.add_event("msg_a1", "queued", T0, {"stage": "accept"})
        assert _count(uow, MessageEvent) == before + 1
        assert scope.message("msg_a1") is not None


def test_events_queued_before_their_message_are_written_after_it(env: Env) -> None:
    """Parents first: an event queued ahead of its message must not break the foreign key."""
    t = env.tenant()
    with UnitOfWork(env.container.db) as uow:
        scope = uow.tenant(t.id)
        scope.add_event("msg_b1", "queued", T0)
        scope.queue_message(_row(t.id, "msg_b1"))
        uow.commit()
    with UnitOfWork(env.container.db, write=False) as uow:
        assert [e.status for e in uow.tenant(t.id).message_events("msg_b1")] == ["queued"]


def test_commit_writes_the_queue_and_rollback_discards_it(env: Env) -> None:
    t = env.tenant()
    with UnitOfWork(env.container.db) as uow:
        audit_before = _count(uow, AuditEntry)
        scope = uow.tenant(t.id)
        scope.queue_message(_row(t.id, "msg_c1"))
        scope.audit(T0, "test", "message.accepted", "msg_c1", {})
        uow.rollback()
        scope.queue_message(_row(t.id, "msg_c2"))
        scope.audit(T0, "test", "message.accepted", "msg_c2", {})
        uow.commit()
    with UnitOfWork(env.container.db, write=False) as uow:
        assert uow.session.get(Message, "msg_c1") is None
        assert uow.session.get(Message, "msg_c2") is not None
        assert _count(uow, AuditEntry) == audit_before + 1
        assert uow.tenant(t.id).verify_audit().ok


def test_updates_by_id_land_after_queued_rows_with_each_columns_conversion(env: Env) -> None:
    """``update_by_id`` (the hand-off's and receipts' bulk row updates) writes what is
    queued first, groups rows by column set and stores values as the ORM would."""
    from datetime import timedelta

    from frontdesk.storage import appends
    from frontdesk.storage.claims import MESSAGES

    t = env.tenant()
    later = T0 + timedelta(minutes=5)
    with UnitOfWork(env.container.db) as uow:
        scope = uow.tenant(t.id)
        for mid in ("msg_u1", "msg_u2", "msg_u3"):
            scope.queue_message(_row(t.id, mid))
        appends.update_by_id(
            uow.session,
            MESSAGES,
            {
                "msg_u1": {"status": "sending", "handed_off_at": later, "updated_at": later},
                "msg_u2": {"status": "blocked", "reasons": [{"code": "opted_out"}]},
                "msg_u3": {"status": "sending", "handed_off_at": later, "updated_at": later},
            },
        )
        uow.commit()
    with UnitOfWork(env.container.db) as uow:
        found = uow.session.scalars(select(Message).where(Message.tenant_id == t.id))
        got = {m.id: m for m in found}
        assert got["msg_u1"].status == got["msg_u3"].status == "sending"
        assert got["msg_u1"].handed_off_at == later and got["msg_u1"].updated_at == later
        assert got["msg_u2"].status == "blocked"
        assert got["msg_u2"].reasons == [{"code": "opted_out"}]
        assert got["msg_u2"].handed_off_at is None and got["msg_u2"].updated_at == T0
