"""Shared fixtures: a fresh embedded database per test, built by running the migrations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from frontdesk.api.app import create_app
from frontdesk.bootstrap import Container, build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.simulator import CarrierSimulator

ADMIN = "test-admin-token"
# Tuesday 2026-03-10 15:00 UTC = 11:00 in New York, 08:00 in Los Angeles.
T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
BUSINESS_NUMBER = "+14155550100"


@dataclass
class Env:
    container: Container
    client: TestClient
    clock: FixedClock
    simulator: CarrierSimulator
    db_path: Path

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN}"}

    def tenant(
        self,
        name: str = "Bright Smile Dental",
        number: str | None = BUSINESS_NUMBER,
        accept_policy: bool = True,
        **extra: Any,
    ) -> Tenant:
        r = self.client.post(
            "/v1/tenants",
            headers=self.admin,
            json={
                "name": name,
                "timezone": "America/New_York",
                "support_email": "hello@brightsmile.example",
                "support_phone": "+14155550199",
                **extra,
            },
        )
        assert r.status_code == 201, r.text
        data = r.json()
        t = Tenant(self, data["id"], data["api_key"], number)
        if accept_policy:
            t.accept_policy()
        if number:
            rr = self.client.post(
                "/v1/numbers", headers=t.auth, json={"number": number, "provider": "simulator"}
            )
            assert rr.status_code == 201, rr.text
        return t

    def step(self) -> int:
        return self.container.worker.drain()


@dataclass
class Tenant:
    env: Env
    id: str
    key: str
    number: str | None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.env.client.post(path, headers=self.auth, json=json, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.env.client.get(path, headers=self.auth, **kw)

    def accept_policy(self) -> None:
        """R-B-03: a tenant accepts the current SMS Messaging Policy before sending."""
        version = self.get("/v1/policy").json()["version"]
        r = self.post("/v1/policy/accept", {"version": version, "accepted_by": "Owner"})
        assert r.status_code == 200, r.text

    def consent(self, phone: str, scope: str = "informational", **evidence: Any) -> Any:
        ev: dict[str, Any] = {
            "form": "https://brightsmile.example/join",
            "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0",
        }
        if scope == "marketing":
            ev["disclosure"] = (
                "By signing up you agree to receive marketing texts from Bright "
                "Smile Dental. Consent is not a condition of purchase."
            )
        ev.update(evidence)
        r = self.post(
            "/v1/consents",
            {
                "phone": phone,
                "scope": scope,
                "method": "web_form",
                "captured_at": (self.env.clock.now() - timedelta(days=1)).isoformat(),
                "evidence": ev,
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    def send(
        self, to: str, body: str | None = None, category: str = "appointment_reminder", **extra: Any
    ) -> Any:
        body = body or (
            "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to "
            "confirm. Reply STOP to opt out."
        )
        return self.post("/v1/messages", {"to": to, "body": body, "category": category, **extra})

    def inbound(self, sender: str, body: str, **extra: Any) -> Any:
        return self.post("/v1/inbound", {"from": sender, "to": self.number, "body": body, **extra})


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    clock = FixedClock(T0)
    simulator = CarrierSimulator(seed=1)
    db_path = tmp_path / "frontdesk.db"
    settings = Settings(database_url=f"sqlite:///{db_path}", admin_token=ADMIN)
    container = build(settings, clock=clock, provider=simulator)
    app = create_app(container, start_worker=False)
    with TestClient(app) as client:
        yield Env(container, client, clock, simulator, db_path)
    container.close()
