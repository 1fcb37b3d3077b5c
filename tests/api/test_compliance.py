"""Rolling health figures, automatic suspension and carrier complaints (R-E-04, R-R-06).

Traffic is real: consents through the import, sends through the batch endpoint,
the carrier simulator's verdicts (30005 unknown number, 30007 filtered, 21610
carrier opt-out) through the status path, STOP through the inbound endpoint.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from frontdesk.providers.simulator import SimulatorProfile
from frontdesk.services import health
from frontdesk.storage.uow import UnitOfWork
from tests.api.compliance_env import consent_all, numbers, send_all
from tests.conftest import Env, Tenant

FILTER_MARK = "ref 7"


@pytest.fixture
def cenv(env: Env) -> Env:
    return env


def enforce(env: Env) -> list[str]:
    with UnitOfWork(env.container.db) as uow:
        suspended = health.enforce(uow, env.clock.now())
        uow.commit()
    return suspended


def audit(t: Tenant, action: str) -> list[dict[str, Any]]:
    items = t.get("/v1/audit", params={"limit": 1000}).json()["items"]
    return [i for i in items if i["action"] == action]


def test_R_E_04_health_figures_after_mixed_traffic(cenv: Env) -> None:
    t = cenv.tenant()
    phones = numbers(20)
    consent_all(t, phones)
    unknown, carrier_stop, texter = phones[0], phones[1], phones[2]
    cenv.simulator.profile = SimulatorProfile(
        filter_spam=True,
        spam_markers=(FILTER_MARK,),
        unknown_numbers=frozenset({unknown}),
        block_after_stop=True,
    )
    cenv.simulator.opt_out_at_carrier(carrier_stop)
    send_all(t, phones[:17])
    send_all(
        t,
        phones[17:],
        f"Bright Smile Dental: your cleaning is Tue at 3:00 pm ({FILTER_MARK}). Reply STOP to "
        "opt out.",
    )
    blocked = t.send("+13055550199").json()
    assert blocked["status"] == "blocked" and blocked["reasons"] == ["no_consent"]
    cenv.step()
    assert t.inbound(texter, "STOP").json()["classification"] == "opt_out"
    cenv.step()  # the opt-out confirmation goes out too

    h = t.get("/v1/compliance/health").json()
    assert h["window"]["hours"] == 24
    # 20 reminders + 1 opt-out confirmation met the carrier.
    assert h["sent"] == 21
    assert h["unique_recipients"] == 20
    # unknown (30005), carrier opt-out (21610) and three filtered (30007) did not arrive.
    assert h["delivered"] == 16
    assert h["errors"] == 5
    assert h["filtered"] == 3
    assert h["filtered_rate"] == pytest.approx(3 / 21, abs=1e-6)
    assert h["error_rate"] == pytest.approx(5 / 21, abs=1e-6)
    assert (h["opt_outs"], h["opt_outs_inbound"], h["opt_outs_carrier"]) == (2, 1, 1)
    assert h["opt_out_rate"] == pytest.approx(2 / 20)
    assert h["blocked_by_reason"] == {"no_consent": 1}
    assert h["by_sender"][t.number]["sent"] == 21
    # Every rate is past its suspension threshold, but 21 messages are below the sample.
    assert h["level"] == "warn"
    assert h["sample_sufficient"] is False
    assert {f["metric"] for f in h["findings"]} == {"opt_out_rate", "error_rate", "filtered_rate"}
    assert h["status"] == "active" and h["suspension"] is None
    assert enforce(cenv) == []


def _stop(t: Tenant, phones: list[str]) -> None:
    for p in phones:
        assert t.inbound(p, "STOP").json()["classification"] == "opt_out"


def test_R_E_04_two_percent_opt_outs_suspend_at_the_minimum_sample_not_below_it(
    cenv: Env,
) -> None:
    t = cenv.tenant()
    phones = numbers(100)
    consent_all(t, phones)
    send_all(t, phones[:99])
    cenv.step()
    _stop(t, phones[:2])  # 2 of 99 recipients: 2.02 %, but on 99 messages

    h = t.get("/v1/compliance/health").json()
    assert (h["sent"], h["opt_outs"], h["level"]) == (99, 2, "warn")
    assert enforce(cenv) == []
    assert cenv.client.get(f"/v1/tenants/{t.id}", headers=cenv.admin).json()["status"] == "active"
    assert audit(t, "tenant.suspended") == []

    send_all(t, phones[99:])  # the 100th recipient: 2 of 100, 2.00 %
    cenv.step()  # with the two opt-out confirmations: 102 messages
    h = t.get("/v1/compliance/health").json()
    assert (h["sent"], h["unique_recipients"], h["level"]) == (102, 100, "suspend")

    assert enforce(cenv) == [t.id]

    tenant = cenv.client.get(f"/v1/tenants/{t.id}", headers=cenv.admin).json()
    assert tenant["status"] == "suspended"
    assert tenant["suspension"]["automatic"] is True
    assert "opt-out rate" in tenant["suspension"]["reason"]
    [suspended] = audit(t, "tenant.suspended")
    assert suspended["actor"] == "system"
    assert suspended["data"]["automatic"] is True
    [evidence] = audit(t, "compliance.auto_suspension")
    assert evidence["data"]["figures"]["opt_outs"] == 2
    assert evidence["data"]["figures"]["sent"] == 102
    assert evidence["data"]["findings"][0]["rule"] == "R-E-04"
    assert t.get("/v1/audit/verify").json()["ok"] is True

    # R-R-06: the kill switch stops new sends; the health view shows the suspension.
    assert t.send(phones[50]).json()["reasons"] == ["tenant_suspended"]
    assert t.get("/v1/compliance/health").json()["suspension"]["automatic"] is True
    assert enforce(cenv) == [], "a suspended tenant is not suspended twice"


def test_R_R_06_a_reinstated_tenant_is_not_suspended_again_for_the_same_figures(
    cenv: Env,
) -> None:
    t = cenv.tenant()
    r = cenv.client.post(
        "/v1/compliance/complaints",
        headers=cenv.admin,
        json={"tenant_id": t.id, "severity": "sev0", "source": "T-Mobile"},
    )
    assert r.json()["suspended"] is True
    cenv.clock.advance(timedelta(hours=1))
    ok = cenv.client.post(
        f"/v1/tenants/{t.id}/reinstate",
        headers=cenv.admin,
        json={"note": "proof of opt-in supplied to the carrier"},
    )
    assert ok.status_code == 200, ok.text
    assert enforce(cenv) == []
    assert cenv.client.get(f"/v1/tenants/{t.id}", headers=cenv.admin).json()["status"] == "active"


def test_R_R_06_a_sev0_complaint_suspends_at_once(cenv: Env) -> None:
    t = cenv.tenant()
    t.consent("+13055550142")
    r = cenv.client.post(
        "/v1/compliance/complaints",
        headers=cenv.admin,
        json={
            "tenant_id": t.id,
            "severity": "sev0",
            "source": "AT&T",
            "note": "Sev-0: SHAFT content reported",
            "sender": t.number,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["suspended"] is True
    assert body["tenant"]["suspension"]["automatic"] is True
    assert body["findings"][0]["rule"] == "R-R-06"

    tenant = cenv.client.get(f"/v1/tenants/{t.id}", headers=cenv.admin).json()
    assert tenant["status"] == "suspended"
    assert tenant["suspension"]["automatic"] is True
    [complaint] = audit(t, "compliance.complaint")
    assert complaint["data"]["severity"] == "sev0"
    [suspended] = audit(t, "tenant.suspended")
    assert suspended["data"]["automatic"] is True
    assert t.send("+13055550142").json()["reasons"] == ["tenant_suspended"]
    h = t.get("/v1/compliance/health").json()
    assert (h["complaints"], h["sev0_complaints"]) == (1, 1)
    operator = cenv.client.get(f"/v1/compliance/tenants/{t.id}/health", headers=cenv.admin)
    assert operator.json()["suspension"]["automatic"] is True
    assert operator.json()["findings"][0]["metric"] == "sev0_complaints"
    assert t.get(f"/v1/compliance/tenants/{t.id}/health").status_code == 403


def test_R_E_04_an_ordinary_complaint_is_counted_and_warns(cenv: Env) -> None:
    t = cenv.tenant()
    r = cenv.client.post(
        "/v1/compliance/complaints",
        headers=cenv.admin,
        json={"tenant_id": t.id, "severity": "complaint", "source": "7726 report"},
    )
    assert r.status_code == 201
    assert r.json()["suspended"] is False
    h = t.get("/v1/compliance/health").json()
    assert (h["complaints"], h["sev0_complaints"], h["level"]) == (1, 0, "warn")
    assert h["status"] == "active"

    # Only the platform operator records complaints; an unknown tenant is a 404.
    r = t.post("/v1/compliance/complaints", {"tenant_id": t.id, "severity": "sev0", "source": "x"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    missing = cenv.client.post(
        "/v1/compliance/complaints",
        headers=cenv.admin,
        json={"tenant_id": "ten_nope", "severity": "sev0", "source": "x"},
    )
    assert missing.status_code == 404

    # The window is a validated query parameter.
    r = t.get("/v1/compliance/health", params={"window_hours": 0})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "window_hours"
    wide = t.get("/v1/compliance/health", params={"window_hours": 72}).json()
    assert wide["window"]["hours"] == 72
