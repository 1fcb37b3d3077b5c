"""Messages: send, batch, check, read, list, cancel (api.md) and the first gate rules."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Env

PHONE = "+13055550142"
OTHER = "+12125550187"


def test_R_C_01_consented_send_is_queued_then_delivered(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    r = t.send(PHONE)
    assert r.status_code == 201
    msg = r.json()
    assert msg["status"] == "queued" and msg["reasons"] == []
    assert msg["to"] == PHONE and msg["from"] == t.number
    assert msg["segments"] == 1 and msg["encoding"] == "GSM-7"
    env.step()
    assert t.get(f"/v1/messages/{msg['id']}").json()["status"] == "delivered"


def test_numbers_are_accepted_in_national_format_and_returned_in_e164(env: Env) -> None:
    t = env.tenant()
    t.consent("(305) 555-0142")
    assert t.send("305.555.0142").json()["to"] == PHONE


def test_R_C_01_send_without_consent_is_blocked_and_kept(env: Env) -> None:
    t = env.tenant()
    msg = t.send(PHONE).json()
    assert msg["status"] == "blocked" and msg["reasons"] == ["no_consent"]
    assert msg["explanations"][0]["rule"] == "R-C-01" and msg["explanations"][0]["fix"]
    env.step()
    assert env.simulator.sent_to(PHONE) == []
    assert t.get(f"/v1/messages/{msg['id']}").json()["status"] == "blocked"


def test_R_C_02_marketing_needs_written_consent(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    body = "Bright Smile Dental: whitening 20% off this week! Reply STOP to opt out."
    assert t.send(PHONE, body, category="marketing").json()["reasons"] == [
        "marketing_requires_written_consent"
    ]
    t.consent(PHONE, scope="marketing")
    assert t.send(PHONE, body, category="marketing").json()["status"] == "queued"


def test_future_send_at_is_scheduled_and_sent_when_due(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    at = env.clock.now() + timedelta(hours=2)
    msg = t.send(PHONE, send_at=at.isoformat()).json()
    assert msg["status"] == "scheduled"
    env.step()
    assert env.simulator.sent_to(PHONE) == []
    env.clock.advance(timedelta(hours=2))
    env.step()
    assert t.get(f"/v1/messages/{msg['id']}").json()["status"] == "delivered"


def test_idempotency_key_returns_the_same_message_with_200(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    first = t.send(PHONE, idempotency_key="rem-1")
    again = t.send(PHONE, idempotency_key="rem-1")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    clash = t.send(
        PHONE,
        body="Bright Smile Dental: other text. Reply STOP to opt out.",
        idempotency_key="rem-1",
    )
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "idempotency_key"
    assert len(t.get("/v1/messages").json()["items"]) == 1


def test_check_decides_and_explains_without_storing(env: Env) -> None:
    t = env.tenant()
    r = t.post(
        "/v1/messages/check",
        {
            "to": PHONE,
            "body": "Bright Smile Dental: hi. Reply STOP to opt out.",
            "category": "appointment_reminder",
        },
    ).json()
    assert r["allowed"] is False and r["reasons"] == ["no_consent"]
    assert r["segments"] == 1 and r["encoding"] == "GSM-7"
    bad = t.post(
        "/v1/messages/check", {"to": "555", "body": "hi", "category": "transactional"}
    ).json()
    assert bad["allowed"] is False and "invalid_number" in bad["reasons"]
    t.consent(PHONE)
    ok = t.post(
        "/v1/messages/check",
        {
            "to": PHONE,
            "body": "Bright Smile Dental: hi. Reply STOP to opt out.",
            "category": "appointment_reminder",
        },
    )
    assert ok.json()["allowed"] is True and ok.json()["status"] == "queued"
    assert t.get("/v1/messages").json()["items"] == []


def test_batch_keeps_order_and_one_refused_item_never_refuses_the_others(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    body = "Bright Smile Dental: see you Tue. Reply STOP to opt out."
    r = t.post(
        "/v1/messages/batch",
        {
            "messages": [
                {"to": PHONE, "body": body, "category": "appointment_reminder"},
                {"to": "12", "body": body, "category": "appointment_reminder"},
                {"to": OTHER, "body": body, "category": "appointment_reminder"},
                {"to": PHONE, "body": body, "category": "nonsense"},
                {"to": PHONE, "body": body, "category": "appointment_reminder", "extra": 1},
            ]
        },
    )
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 5
    assert results[0]["status"] == "queued"
    assert results[1]["error"]["errors"][0]["field"] == "messages[1].to"
    assert results[2]["status"] == "blocked" and results[2]["reasons"] == ["no_consent"]
    assert results[3]["error"]["errors"][0]["field"] == "messages[3].category"
    assert results[4]["error"]["errors"][0]["field"] == "messages[4].extra"
    assert len(t.get("/v1/messages").json()["items"]) == 2


def test_batch_over_1000_items_is_refused(env: Env) -> None:
    t = env.tenant()
    item = {"to": PHONE, "body": "x", "category": "transactional"}
    r = t.post("/v1/messages/batch", {"messages": [item] * 1001})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "messages"


def test_cancel_only_while_scheduled_or_queued(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    msg = t.send(PHONE).json()
    r = t.post(f"/v1/messages/{msg['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    env.step()
    assert env.simulator.sent_to(PHONE) == []
    assert t.post(f"/v1/messages/{msg['id']}/cancel").status_code == 409
    assert t.post("/v1/messages/msg_missing/cancel").status_code == 404


def test_list_filters_by_recipient_status_and_time(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.send(PHONE)
    t.send(OTHER)
    assert len(t.get("/v1/messages", params={"to": PHONE}).json()["items"]) == 1
    assert len(t.get("/v1/messages", params={"status": "blocked"}).json()["items"]) == 1
    later = (env.clock.now() + timedelta(minutes=1)).isoformat()
    assert t.get("/v1/messages", params={"since": later}).json()["items"] == []
    page = t.get("/v1/messages", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_offset"] == 1


def test_message_detail_has_its_event_history(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    msg = t.send(PHONE).json()
    env.step()
    got = t.get(f"/v1/messages/{msg['id']}").json()
    assert [e["status"] for e in got["events"]][-1] == "delivered"
    assert t.get("/v1/messages/msg_missing").status_code == 404


def test_openapi_is_served(env: Env) -> None:
    spec = env.client.get("/openapi.json").json()
    assert "/v1/messages" in spec["paths"] and "/v1/inbound" in spec["paths"]


def test_healthz_reports_db_and_worker(env: Env) -> None:
    r = env.client.get("/healthz").json()
    assert r["db"] == "ok"
    env.container.worker.start()
    try:
        assert env.client.get("/healthz").json() == {"status": "ok", "db": "ok", "worker": "ok"}
    finally:
        env.container.worker.stop()
