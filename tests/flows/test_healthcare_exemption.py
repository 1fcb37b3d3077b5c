"""R-C-07 through the API: a declared covered entity's healthcare texts go without
consent only when asked for, only within 1 a day and 3 a week per patient, and never
after an opt-out — at accept time, in a batch, and again at hand-off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Env, Tenant

PATIENT = "+12125550142"
OTHER = "+12125550143"
GOOD = (
    "Bright Smile Dental: your cleaning is Tue at 3 pm. Questions? Call (415) 555-0199. "
    "Reply STOP to opt out."
)


def covered(env: Env) -> Tenant:
    t = env.tenant()
    r = env.client.patch("/v1/tenant/settings", headers=t.auth, json={"hipaa_exempt_mode": True})
    assert r.status_code == 200, r.text
    return t


def exempt(t: Tenant, to: str = PATIENT, **extra: Any) -> dict[str, Any]:
    r = t.send(to, GOOD, healthcare_exempt=True, **extra)
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def warning_codes(got: dict[str, Any]) -> list[str]:
    return [w["code"] for w in got["warnings"]]


def test_R_C_07_without_consent_once_a_day_then_refused_with_the_reason(env: Env) -> None:
    t = covered(env)
    first = exempt(t)
    assert first["status"] == "queued" and "healthcare_exempt" in warning_codes(first)
    env.step()
    assert [m.body for m in env.simulator.sent_to(PATIENT)] == [GOOD]
    assert t.get(f"/v1/messages/{first['id']}").json()["status"] == "delivered"

    again = exempt(t)
    assert again["status"] == "blocked" and again["reasons"] == ["no_consent"]
    assert "1 exempt message in 24 hours" in again["explanations"][0]["message"]

    env.clock.advance(timedelta(days=2))
    assert exempt(t)["status"] == "queued"


def test_R_C_07_three_a_week(env: Env) -> None:
    t = covered(env)
    statuses = []
    for _ in range(4):
        statuses.append(exempt(t)["status"])
        env.step()
        env.clock.advance(timedelta(days=1, hours=1))
    assert statuses == ["queued", "queued", "queued", "blocked"]


def test_R_C_07_a_batch_counts_its_own_exempt_texts(env: Env) -> None:
    t = covered(env)
    item = {"to": OTHER, "body": GOOD, "category": "appointment_reminder"}
    r = t.post("/v1/messages/batch", {"messages": [{**item, "healthcare_exempt": True}] * 2})
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["queued", "blocked"]


def test_R_FCC_02_a_STOP_before_hand_off_stops_an_exempt_text(env: Env) -> None:
    t = covered(env)
    queued = exempt(t)
    assert t.inbound(PATIENT, "STOP").status_code == 200
    env.step()
    assert t.get(f"/v1/messages/{queued['id']}").json()["status"] == "blocked"
    assert all(m.body != GOOD for m in env.simulator.sent_to(PATIENT))
    assert exempt(t)["reasons"] == ["opted_out"]


def test_R_C_07_not_for_a_tenant_that_did_not_declare_itself_covered(env: Env) -> None:
    t = env.tenant()
    got = exempt(t)
    assert got["status"] == "blocked" and got["reasons"] == ["no_consent"]
    assert "covered entity" in got["explanations"][0]["message"]
    item = {"to": PATIENT, "body": GOOD, "category": "appointment_reminder"}
    check = t.post("/v1/messages/check", {**item, "healthcare_exempt": True})
    assert check.status_code == 200, check.text
    assert check.json()["allowed"] is False and check.json()["reasons"] == ["no_consent"]
    bad = t.post("/v1/messages/check", {**item, "healthcare_exempt": "maybe"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "healthcare_exempt"
