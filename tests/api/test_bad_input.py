"""Bad input gets a 4xx problem+json naming the field and the fix, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Env

PHONE = "+13055550142"
GOOD = {
    "to": PHONE,
    "body": "Bright Smile Dental: see you Tue. Reply STOP to opt out.",
    "category": "appointment_reminder",
}


def _problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
        assert all(e["message"] for e in body["errors"])
    return body


def _nothing_stored(t: Any) -> None:
    assert t.get("/v1/messages").json()["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to": "12345"}, "to"),
        ({"to": "not a phone"}, "to"),
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 1601}, "body"),
        ({"category": "promo_blast"}, "category"),
        ({"surprise": True}, "surprise"),
        ({"send_at": "tomorrow"}, "send_at"),
        ({"send_at": "2026-03-10T15:00:00"}, "send_at"),
        ({"media_urls": ["https://x.example/a.jpg"] * 11}, "media_urls"),
        ({"from": "nope"}, "from"),
    ],
)
def test_bad_message_fields_are_422_naming_the_field(
    env: Env, change: dict[str, Any], field: str
) -> None:
    t = env.tenant()
    t.consent(PHONE)
    body = {**GOOD, **change}
    _problem(t.post("/v1/messages", body), 422, field)
    _nothing_stored(t)


def test_missing_fields_are_named(env: Env) -> None:
    t = env.tenant()
    body = _problem(t.post("/v1/messages", {"to": PHONE}), 422)
    assert {"body", "category"} <= {e["field"] for e in body["errors"]}


def test_malformed_json_is_422(env: Env) -> None:
    t = env.tenant()
    r = env.client.post(
        "/v1/messages",
        headers={**t.auth, "Content-Type": "application/json"},
        content=b'{"to": "+1305555',
    )
    _problem(r, 422)
    _nothing_stored(t)


def test_a_json_array_instead_of_an_object_is_422(env: Env) -> None:
    t = env.tenant()
    _problem(t.post("/v1/messages", [1, 2]), 422)


def test_missing_or_wrong_key_is_401(env: Env) -> None:
    t = env.tenant()
    _problem(env.client.post("/v1/messages", json=GOOD), 401)
    _problem(
        env.client.post("/v1/messages", json=GOOD, headers={"Authorization": "Bearer wrong"}), 401
    )
    _nothing_stored(t)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {
                "phone": "123",
                "scope": "informational",
                "method": "web_form",
                "captured_at": "2026-03-09T10:00:00Z",
                "evidence": {},
            },
            "phone",
        ),
        (
            {
                "phone": PHONE,
                "scope": "everything",
                "method": "web_form",
                "captured_at": "2026-03-09T10:00:00Z",
                "evidence": {},
            },
            "scope",
        ),
        (
            {
                "phone": PHONE,
                "scope": "informational",
                "method": "carrier_pigeon",
                "captured_at": "2026-03-09T10:00:00Z",
                "evidence": {},
            },
            "method",
        ),
        (
            {
                "phone": PHONE,
                "scope": "informational",
                "method": "web_form",
                "captured_at": "2030-01-01T00:00:00Z",
                "evidence": {},
            },
            "captured_at",
        ),
        (
            {
                "phone": PHONE,
                "scope": "marketing",
                "method": "verbal",
                "captured_at": "2026-03-09T10:00:00Z",
                "evidence": {"disclosure": "d"},
            },
            "method",
        ),
        (
            {
                "phone": PHONE,
                "scope": "marketing",
                "method": "web_form",
                "captured_at": "2026-03-09T10:00:00Z",
                "evidence": {"ip": "1.2.3.4", "user_agent": "x"},
            },
            "evidence.disclosure",
        ),
        (
            {
                "phone": PHONE,
                "scope": "informational",
                "method": "web_form",
                "captured_at": "2026-03-09T10:00:00Z",
                "evidence": {"checkbox_default": "checked"},
            },
            "evidence.checkbox_default",
        ),
        (
            {
                "phone": PHONE,
                "scope": "informational",
                "method": "import",
                "captured_at": "2026-03-09T10:00:00Z",
                "evidence": {"source": "purchased"},
            },
            "evidence.source",
        ),
    ],
)
def test_bad_consent_is_refused_and_nothing_is_recorded(
    env: Env, payload: dict[str, Any], field: str
) -> None:
    t = env.tenant()
    _problem(t.post("/v1/consents", payload), 422, field)
    assert t.get("/v1/consents", params={"phone": PHONE}).json()["events"] == []


def test_bad_contact_input(env: Env) -> None:
    t = env.tenant()
    _problem(env.client.put("/v1/contacts/nope", headers=t.auth, json={}), 422, "phone")
    _problem(
        env.client.put(f"/v1/contacts/{PHONE}", headers=t.auth, json={"state": "ZZ"}), 422, "state"
    )
    _problem(
        env.client.put(f"/v1/contacts/{PHONE}", headers=t.auth, json={"timezone": "Mars/Olympus"}),
        422,
        "timezone",
    )
    assert t.get(f"/v1/contacts/{PHONE}").status_code == 404


def test_bad_tenant_input(env: Env) -> None:
    _problem(env.client.post("/v1/tenants", headers=env.admin, json={"name": ""}), 422, "name")
    _problem(
        env.client.post(
            "/v1/tenants", headers=env.admin, json={"name": "A", "timezone": "Nowhere/City"}
        ),
        422,
        "timezone",
    )


def test_bad_inbound_input(env: Env) -> None:
    t = env.tenant()
    _problem(t.post("/v1/inbound", {"from": "x", "to": t.number, "body": "STOP"}), 422, "from")
    _problem(
        t.post("/v1/inbound", {"from": PHONE, "to": "+14155550109", "body": "STOP"}), 422, "to"
    )


def test_bad_list_filters(env: Env) -> None:
    t = env.tenant()
    _problem(t.get("/v1/messages", params={"status": "weird"}), 422, "status")
    _problem(t.get("/v1/messages", params={"limit": 0}), 422, "limit")
    _problem(t.get("/v1/messages", params={"since": "yesterday"}), 422, "since")


def test_unknown_route_and_method_are_problems(env: Env) -> None:
    t = env.tenant()
    _problem(t.get("/v1/nothing-here"), 404)
    _problem(env.client.delete("/v1/messages", headers=t.auth), 405)
