"""Hand-off: retries by error class (R-E-02, T-22), late cutoff, validity, throughput (R-R-04)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from frontdesk.domain.messages import Category
from frontdesk.services import delivery
from frontdesk.services import messages as messages_service
from frontdesk.storage.uow import UnitOfWork
from frontdesk.worker.loop import Worker
from tests.conftest import BUSINESS_NUMBER, Env
from tests.services.carrier import (
    audit_actions,
    edit_message,
    events,
    message,
    pump,
    run_until,
    set_settings,
    suppression_reasons,
    use_profile,
)

PATIENT = "+13055550142"
OTHER = "+13055550143"


def accepted(t: object, to: str = PATIENT, **kw: object) -> str:
    r = t.send(to, **kw)  # type: ignore[attr-defined]
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "queued", r.json()
    return str(r.json()["id"])


def test_R_E_02_T_22_a_carrier_opt_out_21610_is_never_retried_and_recorded(env: Env) -> None:
    use_profile(env, block_after_stop=True)
    t = env.tenant()
    t.consent(PATIENT)
    env.simulator.opt_out_at_carrier(PATIENT)
    ids = [accepted(t), accepted(t)]
    pump(env)
    got = sorted((message(env, i) for i in ids), key=lambda m: m.status)
    assert [(m.status, m.error_code, m.attempts) for m in got] == [
        ("blocked", None, 1),
        ("failed", "21610", 1),
    ], "the second one must not reach the carrier"
    assert suppression_reasons(env, t.id, PATIENT) == ["carrier_opt_out"]
    assert "consent.revoked" in audit_actions(env, t.id)
    assert len(env.simulator.refused) == 1
    env.clock.advance(timedelta(hours=3))
    pump(env)
    assert len(env.simulator.refused) == 1 and env.simulator.sent == []


def test_R_E_02_the_recipients_START_lifts_a_carrier_opt_out(env: Env) -> None:
    use_profile(env, block_after_stop=True)
    t = env.tenant()
    t.consent(PATIENT)
    env.simulator.opt_out_at_carrier(PATIENT)
    accepted(t)
    pump(env)
    env.clock.advance(timedelta(minutes=1))
    assert t.inbound(PATIENT, "START").status_code in (200, 201)
    assert suppression_reasons(env, t.id, PATIENT) == []


def test_R_E_02_T_22_filtered_30007_is_never_retried_and_escalates_at_three_recipients(
    env: Env,
) -> None:
    use_profile(env, filter_spam=True, spam_markers=("whitening",))
    t = env.tenant()
    body = "Bright Smile Dental: whitening days this week. Reply STOP to opt out."
    ids = []
    for n in range(3):
        phone = f"+1305555014{n}"
        t.consent(phone)
        ids.append(accepted(t, phone, body=body, category="service_notification"))
    run_until(env, env.clock.now() + timedelta(hours=3), timedelta(minutes=10))
    for mid in ids:
        got = message(env, mid)
        assert (got.status, got.error_code, got.attempts) == ("undelivered", "30007", 1)
    assert len(env.simulator.sent) == 3, "a filtered message went to the carrier again"
    actions = audit_actions(env, t.id)
    assert actions.count("carrier.filtered") == 3
    assert actions.count("carrier.filtering_escalation") == 1


@pytest.mark.parametrize("code", ["30032", "30034"])
def test_R_E_02_a_blocked_sender_is_not_retried_and_sends_nothing_more(env: Env, code: str) -> None:
    use_profile(env, sender_errors={BUSINESS_NUMBER: code})
    t = env.tenant()
    t.consent(PATIENT)
    t.consent(OTHER)
    first = accepted(t)
    pump(env)
    second = accepted(t, OTHER)
    pump(env)
    assert (message(env, first).status, message(env, first).error_code) == ("failed", code)
    got = message(env, second)
    assert (got.status, got.error_code) == ("failed", code)
    assert [r["code"] for r in got.reasons] == ["sender_blocked"]
    assert len(env.simulator.refused) == 1, "the carrier saw the blocked sender again"
    assert "sender.blocked" in audit_actions(env, t.id)


@pytest.mark.parametrize(
    ("trait", "code", "reason"),
    [("unknown_numbers", "30005", "carrier_invalid"), ("landlines", "30006", "carrier_landline")],
)
def test_R_E_03_invalid_and_landline_numbers_are_marked_and_blocked_after(
    env: Env, trait: str, code: str, reason: str
) -> None:
    use_profile(env, **{trait: frozenset({PATIENT})})
    t = env.tenant()
    t.consent(PATIENT)
    mid = accepted(t)
    pump(env)
    got = message(env, mid)
    assert (got.status, got.error_code, got.attempts) == ("undelivered", code, 1)
    assert suppression_reasons(env, t.id, PATIENT) == [reason]
    again = t.send(PATIENT).json()
    assert again["status"] == "blocked" and again["reasons"] == ["number_not_sms_capable"]
    # Re-verified: fresh consent from the person, captured after the report, lifts it.
    env.clock.advance(timedelta(minutes=1))
    r = t.post(
        "/v1/consents",
        {
            "phone": PATIENT,
            "scope": "informational",
            "method": "web_form",
            "captured_at": env.clock.now().isoformat(),
            "evidence": {"ip": "203.0.113.9", "user_agent": "x"},
        },
    )
    assert r.status_code == 201
    assert suppression_reasons(env, t.id, PATIENT) == []


def test_R_E_02_a_transient_failure_is_retried_with_backoff_then_delivered(env: Env) -> None:
    use_profile(env, transient_failure_rate=1.0)
    t = env.tenant()
    t.consent(PATIENT)
    mid = accepted(t)
    pump(env)
    got = message(env, mid)
    assert (got.status, got.error_code, got.attempts) == ("queued", "20503", 1)
    delay = got.send_at - env.clock.now()
    assert timedelta(seconds=30) <= delay <= timedelta(seconds=36), "30 s plus <= 20 % jitter"
    use_profile(env)
    pump(env)
    assert message(env, mid).status == "queued", "retried before its backoff"
    env.clock.advance(delay)
    pump(env)
    got = message(env, mid)
    assert (got.status, got.attempts) == ("delivered", 2)
    assert [e.status for e in events(env, mid)] == [
        "queued",
        "queued",
        "sending",
        "sent",
        "delivered",
    ]


def test_R_E_02_retries_are_bounded(env: Env) -> None:
    use_profile(env, transient_failure_rate=1.0)
    t = env.tenant()
    t.consent(PATIENT)
    mid = accepted(t)
    run_until(env, env.clock.now() + timedelta(hours=2), timedelta(minutes=1))
    got = message(env, mid)
    assert (got.status, got.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert len(env.simulator.refused) == delivery.MAX_ATTEMPTS
    assert events(env, mid)[-1].detail["gave_up"] == "attempts_exhausted"


def test_R_E_02_the_jitter_is_deterministic_per_message_and_attempt() -> None:
    assert delivery.jitter_draw("msg_a", 1) == delivery.jitter_draw("msg_a", 1)
    assert delivery.jitter_draw("msg_a", 1) != delivery.jitter_draw("msg_a", 2)
    assert 0 <= delivery.jitter_draw("msg_b", 3) < 1


def test_validity_period_a_message_due_too_long_ago_is_failed_not_sent(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    mid = accepted(t)
    env.clock.advance(delivery.VALIDITY + timedelta(minutes=1))
    pump(env)
    got = message(env, mid)
    assert got.status == "failed"
    assert [r["code"] for r in got.reasons] == ["validity_expired"]
    assert env.simulator.sent == []


def test_validity_period_bounds_the_retries_of_an_unreachable_handset(env: Env) -> None:
    use_profile(env, unreachable_numbers=frozenset({PATIENT}))
    t = env.tenant()
    set_settings(env, t.id, validity_hours=1)
    t.consent(PATIENT)
    mid = accepted(t)
    run_until(env, env.clock.now() + timedelta(hours=4), timedelta(minutes=5))
    got = message(env, mid)
    assert (got.status, got.error_code, got.attempts) == ("undelivered", "30003", 2)
    assert events(env, mid)[-1].detail["gave_up"] == "validity_expired"
    assert "number.unreachable" in audit_actions(env, t.id)


def _submit_reminder(env: Env, tenant_id: str, starts_at: datetime) -> str:
    with UnitOfWork(env.container.db) as uow:
        submitted = messages_service.submit(
            uow.tenant(tenant_id),
            messages_service.SendCommand(
                to=PATIENT,
                body="Bright Smile Dental: your cleaning is at 3:30 pm. Reply STOP to opt out.",
                category=Category.APPOINTMENT_REMINDER,
                appointment_starts_at=starts_at,
            ),
            env.clock.now(),
            actor="test",
        )
        uow.commit()
        return submitted.message.id


def test_late_cutoff_a_reminder_is_never_handed_off_after_the_appointment_began(
    env: Env,
) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    mid = _submit_reminder(env, t.id, env.clock.now() + timedelta(minutes=30))
    env.clock.advance(timedelta(minutes=30))
    pump(env)
    got = message(env, mid)
    assert got.status == "canceled"
    assert [r["code"] for r in got.reasons] == ["appointment_passed"]
    assert env.simulator.sent == []


def test_late_cutoff_no_retry_is_scheduled_past_the_appointment(env: Env) -> None:
    use_profile(env, unreachable_numbers=frozenset({PATIENT}))
    t = env.tenant()
    t.consent(PATIENT)
    mid = _submit_reminder(env, t.id, env.clock.now() + timedelta(minutes=10))
    pump(env)
    got = message(env, mid)
    assert (got.status, got.attempts) == ("undelivered", 1)
    assert events(env, mid)[-1].detail["gave_up"] == "appointment_passed"


def test_T_22_a_retry_is_a_new_send_at_that_the_gate_keeps_out_of_quiet_hours(env: Env) -> None:
    use_profile(env, transient_failure_rate=1.0)
    t = env.tenant()
    t.consent(PATIENT)
    mid = accepted(t)
    pump(env)
    retry_at = message(env, mid).send_at
    use_profile(env)
    night = datetime(2026, 3, 10, 22, 30, tzinfo=ZoneInfo("America/New_York"))
    edit_message(env, mid, send_at=night)
    env.clock.set(night)
    pump(env)
    got = message(env, mid)
    assert retry_at < night
    assert got.status == "scheduled" and got.send_at > night
    assert env.simulator.sent == []


def test_R_R_04_per_number_rate_reschedules_instead_of_tripping_30022(env: Env) -> None:
    use_profile(env, number_mps=1)
    t = env.tenant()
    set_settings(env, t.id, throughput={"number_mps": 1})
    ids = []
    for n in range(5):
        phone = f"+1305555020{n}"
        t.consent(phone)
        ids.append(accepted(t, phone))
    pump(env)
    statuses = [message(env, i).status for i in ids]
    assert statuses.count("delivered") == 1 and statuses.count("queued") == 4
    slots = sorted(message(env, i).send_at for i in ids if message(env, i).status == "queued")
    assert slots == [env.clock.now() + timedelta(seconds=s) for s in range(1, 5)]
    run_until(env, env.clock.now() + timedelta(seconds=5), timedelta(seconds=1))
    assert [message(env, i).status for i in ids] == ["delivered"] * 5
    assert all(message(env, i).attempts == 1 for i in ids), "a deferral is not an attempt"


def test_R_R_04_campaign_per_minute_and_brand_daily_caps(env: Env) -> None:
    t = env.tenant()
    set_settings(env, t.id, throughput={"campaign_mpm": 2, "brand_daily": 3})
    ids = []
    for n in range(4):
        phone = f"+1305555030{n}"
        t.consent(phone)
        ids.append(accepted(t, phone))
    pump(env)
    assert [message(env, i).status for i in ids].count("delivered") == 2
    env.clock.advance(timedelta(minutes=1))
    pump(env)
    got = [message(env, i) for i in ids]
    assert [m.status for m in got].count("delivered") == 3
    [held] = [m for m in got if m.status == "queued"]
    assert held.send_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC), "midnight Pacific"


def test_R_R_04_two_workers_on_one_database_share_the_cap(env: Env) -> None:
    use_profile(env, number_mps=1)
    t = env.tenant()
    set_settings(env, t.id, throughput={"number_mps": 1})
    ids = []
    for n in range(6):
        phone = f"+1305555040{n}"
        t.consent(phone)
        ids.append(accepted(t, phone))
    from frontdesk.storage.db import connect

    other_db = connect(env.container.db.url)
    try:
        a = env.container.worker
        b = Worker(db=other_db, provider=env.simulator, clock=env.clock, batch=2)
        for _ in range(8):
            a.step()
            b.step()
            env.clock.advance(timedelta(milliseconds=500))
    finally:
        other_db.dispose()
    assert len(env.simulator.sent) == 4, "one per second over four seconds"
    codes = [message(env, i).error_code for i in ids]
    assert "30022" not in codes and [message(env, i).status for i in ids].count("delivered") == 4
