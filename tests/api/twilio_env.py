"""A Frontdesk deployment whose carrier is Twilio, played by the local fake server.

The app is reached as ``http://testserver`` (the TestClient's host) while
``public_base_url`` is ``https://sms.example.com``: the TLS-terminating proxy
case, in which Twilio signs the public URL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from frontdesk.api.app import create_app
from frontdesk.bootstrap import Container, build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.twilio import TwilioProvider
from tests.conftest import ADMIN, BUSINESS_NUMBER, T0
from tests.providers.fake_twilio_server import FakeTwilio

PUBLIC = "https://sms.example.com"


@dataclass
class TwilioTenant:
    id: str
    key: str
    number: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class TwilioEnv:
    container: Container
    client: TestClient
    clock: FixedClock
    fake: FakeTwilio
    provider: TwilioProvider

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN}"}

    def tenant(self, name: str = "Bright Smile Dental", number: str = BUSINESS_NUMBER) -> Any:
        r = self.client.post(
            "/v1/tenants",
            headers=self.admin,
            json={
                "name": name,
                "timezone": "America/New_York",
                "support_email": "hello@brightsmile.example",
                "support_phone": "+14155550199",
            },
        )
        assert r.status_code == 201, r.text
        t = TwilioTenant(r.json()["id"], r.json()["api_key"], number)
        rr = self.client.post(
            "/v1/numbers", headers=t.auth, json={"number": number, "provider": "twilio"}
        )
        assert rr.status_code == 201, rr.text
        version = self.client.get("/v1/policy", headers=t.auth).json()["version"]
        ok = self.client.post(
            "/v1/policy/accept", headers=t.auth, json={"version": version, "accepted_by": "Owner"}
        )
        assert ok.status_code == 200, ok.text
        return t

    def consent(self, t: TwilioTenant, phone: str) -> None:
        r = self.client.post(
            "/v1/consents",
            headers=t.auth,
            json={
                "phone": phone,
                "scope": "informational",
                "method": "web_form",
                "captured_at": (self.clock.now() - timedelta(days=1)).isoformat(),
                "evidence": {"form": "https://brightsmile.example/join", "ip": "203.0.113.9"},
            },
        )
        assert r.status_code == 201, r.text

    def sign(self, path: str, form: Mapping[str, str], token: str | None = None) -> str:
        validator = RequestValidator(token or self.fake.auth_token)
        return str(validator.compute_signature(PUBLIC + path, dict(form)))

    def webhook(self, path: str, form: Mapping[str, str], *, signature: str | None = None) -> Any:
        sig = self.sign(path, form) if signature is None else signature
        headers = {"X-Twilio-Signature": sig} if sig else {}
        return self.client.post(path, data=dict(form), headers=headers)

    def step(self) -> int:
        return self.container.worker.drain()


@contextmanager
def twilio_env(tmp_path: Path) -> Iterator[TwilioEnv]:
    fake = FakeTwilio().start()
    provider = TwilioProvider(
        fake.account_sid, fake.auth_token, api_base=fake.url, public_base_url=PUBLIC, timeout=5
    )
    clock = FixedClock(T0)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'frontdesk.db'}",
        admin_token=ADMIN,
        # These tests are about Twilio, not 10DLC (see tests/api/test_registry.py).
        require_registration=False,
    )
    container = build(settings, clock=clock, provider=provider)
    app = create_app(container, start_worker=False)
    try:
        with TestClient(app) as client:
            yield TwilioEnv(container, client, clock, fake, provider)
    finally:
        container.close()
        provider.close()
        fake.stop()
