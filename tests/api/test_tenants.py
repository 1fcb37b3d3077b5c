"""Tenants and auth (api.md, Auth and tenancy): admin routes, tenant keys, suspension (R-R-06)."""

from __future__ import annotations

from tests.conftest import Env


def test_admin_creates_a_tenant_and_the_key_is_shown_once(env: Env) -> None:
    r = env.client.post(
        "/v1/tenants",
        headers=env.admin,
        json={"name": "Ace Plumbing", "timezone": "America/Chicago"},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "active" and body["api_key"].startswith("fd_live_")
    again = env.client.get(f"/v1/tenants/{body['id']}", headers=env.admin).json()
    assert "api_key" not in again and again["suspension"] is None


def test_admin_routes_answer_401_without_a_key_and_403_to_a_tenant_key(env: Env) -> None:
    t = env.tenant()
    assert env.client.post("/v1/tenants", json={"name": "X"}).status_code == 401
    r = env.client.post("/v1/tenants", headers=t.auth, json={"name": "X"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (
        env.client.post(
            "/v1/tenants", headers={"Authorization": "Bearer nope"}, json={"name": "X"}
        ).status_code
        == 401
    )


def test_tenant_reads_its_own_record(env: Env) -> None:
    t = env.tenant()
    me = t.get("/v1/tenant").json()
    assert me["id"] == t.id and me["numbers"] == [t.number]


def test_a_tenant_key_is_refused_a_wrong_scheme_and_an_unknown_key(env: Env) -> None:
    assert env.client.get("/v1/tenant").status_code == 401
    assert env.client.get("/v1/tenant", headers={"Authorization": "Basic abc"}).status_code == 401
    assert (
        env.client.get(
            "/v1/tenant", headers={"Authorization": "Bearer fd_live_unknown"}
        ).status_code
        == 401
    )
    assert env.client.get("/v1/tenant", headers=env.admin).status_code == 403


def test_R_R_06_suspended_tenant_is_blocked_and_reinstated(env: Env) -> None:
    t = env.tenant()
    t.consent("+13055550142")
    r = env.client.post(
        f"/v1/tenants/{t.id}/suspend", headers=env.admin, json={"reason": "carrier complaint"}
    )
    assert r.json()["status"] == "suspended"
    assert r.json()["suspension"]["automatic"] is False
    sent = t.send("+13055550142").json()
    assert sent["status"] == "blocked" and sent["reasons"] == ["tenant_suspended"]
    # Inbound and compliance replies keep working while suspended.
    help_ = t.inbound("+13055550142", "HELP").json()
    assert help_["classification"] == "help" and "replied" in help_["actions"]
    env.step()
    assert any("for help" in m.body for m in env.simulator.sent_to("+13055550142"))
    r = env.client.post(
        f"/v1/tenants/{t.id}/reinstate", headers=env.admin, json={"note": "reviewed"}
    )
    assert r.json()["status"] == "active"
    assert t.send("+13055550142").json()["status"] == "queued"


def test_reinstating_an_active_tenant_is_a_conflict(env: Env) -> None:
    t = env.tenant()
    r = env.client.post(f"/v1/tenants/{t.id}/reinstate", headers=env.admin, json={"note": "x"})
    assert r.status_code == 409


def test_unknown_tenant_is_404(env: Env) -> None:
    assert env.client.get("/v1/tenants/ten_missing", headers=env.admin).status_code == 404
