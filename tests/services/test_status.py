"""Status receipts (R-E-01, R-E-02): deduplicated, never backwards, one status per message."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.providers.base import InboundSms, StatusUpdate
from frontdesk.services import status
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import BUSINESS_NUMBER, Env
from tests.services.carrier import (
    audit_actions,
    events,
    message,
    pump,
    run_until,
    suppression_reasons,
    use_profile,
)

PATIENT = "+13055550142"


def _apply(env: Env, update: StatusUpdate) -> str:
    with UnitOfWork(env.container.db) as uow:
        outcome = status.apply_status(uow, update, env.clock.now())
        uow.commit()
    return outcome


def _handed_off(env: Env) -> tuple[str, str]:
    """A consented message handed off; its receipts are held back by a long delay."""
    use_profile(env, sent_delay=(3600, 3600), delivered_delay=(3600, 3600))
    t = env.tenant()
    t.consent(PATIENT)
    mid = t.send(PATIENT).json()["id"]
    env.step()
    got = message(env, mid)
    assert got.status == "sending" and got.provider_message_id
    return mid, got.provider_message_id


def test_R_E_01_a_late_sent_never_overwrites_delivered(env: Env) -> None:
    mid, pid = _handed_off(env)
    assert _apply(env, StatusUpdate("simulator", pid, "delivered")) == "applied"
    assert _apply(env, StatusUpdate("simulator", pid, "sent")) == "stale"
    assert message(env, mid).status == "delivered"


def test_R_E_01_a_duplicate_receipt_is_recorded_once(env: Env) -> None:
    mid, pid = _handed_off(env)
    assert _apply(env, StatusUpdate("simulator", pid, "sent")) == "applied"
    assert _apply(env, StatusUpdate("simulator", pid, "sent")) == "duplicate"
    assert [e.status for e in events(env, mid)].count("sent") == 1


def test_R_E_01_a_multi_part_message_has_one_status(env: Env) -> None:
    use_profile(env, per_part_receipts=True, duplicate_rate=1.0)
    t = env.tenant()
    t.consent(PATIENT)
    body = "Bright Smile Dental: " + "your cleaning is Tuesday at 3 pm. " * 10 + "Reply STOP."
    mid = t.send(PATIENT, body=body).json()["id"]
    run_until(env, env.clock.now() + timedelta(seconds=10), timedelta(seconds=1))
    got = message(env, mid)
    assert got.segments >= 3
    assert got.status == "delivered"
    assert [e.status for e in events(env, mid)] == ["queued", "sending", "sent", "delivered"]


def test_R_E_01_out_of_order_receipts_end_in_the_final_state(env: Env) -> None:
    use_profile(
        env, reorder_rate=1.0, duplicate_rate=1.0, sent_delay=(1, 2), delivered_delay=(1, 2)
    )
    t = env.tenant()
    t.consent(PATIENT)
    mid = t.send(PATIENT).json()["id"]
    run_until(env, env.clock.now() + timedelta(seconds=20), timedelta(seconds=1))
    assert message(env, mid).status == "delivered"


def test_an_unknown_provider_id_changes_nothing(env: Env) -> None:
    assert _apply(env, StatusUpdate("simulator", "SMnope", "delivered")) == "unknown"


def test_R_E_02_T_12_a_21610_callback_records_the_opt_out(env: Env) -> None:
    mid, pid = _handed_off(env)
    assert _apply(env, StatusUpdate("simulator", pid, "failed", "21610")) == "applied"
    got = message(env, mid)
    assert (got.status, got.error_code, got.attempts) == ("failed", "21610", 1)
    tenant_id = got.tenant_id
    assert suppression_reasons(env, tenant_id, PATIENT) == ["carrier_opt_out"]
    assert "consent.revoked" in audit_actions(env, tenant_id)


def test_R_E_02_an_smpp_style_opt_out_alias_is_handled_like_21610(env: Env) -> None:
    mid, pid = _handed_off(env)
    _apply(env, StatusUpdate("simulator", pid, "undelivered", "telnyx:40300"))
    got = message(env, mid)
    assert got.status == "undelivered"
    assert suppression_reasons(env, got.tenant_id, PATIENT) == ["carrier_opt_out"]


def test_R_E_02_a_30003_callback_requeues_the_message_with_backoff(env: Env) -> None:
    mid, pid = _handed_off(env)
    _apply(env, StatusUpdate("simulator", pid, "sent"))
    assert _apply(env, StatusUpdate("simulator", pid, "undelivered", "30003")) == "retried"
    got = message(env, mid)
    assert got.status == "queued"
    assert timedelta(minutes=15) <= got.send_at - env.clock.now() <= timedelta(minutes=18)
    assert _apply(env, StatusUpdate("simulator", pid, "undelivered", "30003")) == "duplicate"


def test_R_E_02_a_30022_callback_is_retried_slower_and_then_delivered(env: Env) -> None:
    use_profile(env, number_mps=1)
    t = env.tenant()
    ids = []
    for n in range(2):
        phone = f"+1305555050{n}"
        t.consent(phone)
        ids.append(t.send(phone).json()["id"])
    pump(env)
    statuses = sorted(message(env, i).status for i in ids)
    assert statuses == ["delivered", "queued"]
    run_until(env, env.clock.now() + timedelta(minutes=2), timedelta(seconds=30))
    assert [message(env, i).status for i in ids] == ["delivered", "delivered"]


def test_a_simulated_STOP_reply_goes_through_the_keyword_path(env: Env) -> None:
    t = env.tenant()
    with UnitOfWork(env.container.db) as uow:
        sms = InboundSms("simulator", "IN1", PATIENT, BUSINESS_NUMBER, "STOP")
        assert status.apply_inbound(uow, sms, env.clock.now()) == "opt_out"
        assert status.apply_inbound(uow, sms, env.clock.now()) == "duplicate"
        stranger = InboundSms("simulator", "IN2", PATIENT, "+14155550999", "STOP")
        assert status.apply_inbound(uow, stranger, env.clock.now()) == "unknown"
        uow.commit()
    assert suppression_reasons(env, t.id, PATIENT) == ["opt_out"]
