"""Twilio as bootstrap builds it from the settings, not as a test injects it (issue 12).

The webhooks take the verifier the composition root chose for the number they are
addressed to (``Container.webhook_verifier``), so a deployment configured with
``FRONTDESK_PROVIDER=twilio`` verifies and stores a signed STOP, refuses an unsigned
one (api.md, provider webhooks; R-FCC-02), and names its status callback on every
send. The last test runs ``frontdesk serve`` itself: an adapter the composition root
does not build does not exist for a user (design.md).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from frontdesk.api.app import create_app
from frontdesk.bootstrap import TwilioWebhooks, build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.accounts import AccountRouter
from frontdesk.providers.twilio import TwilioProvider
from frontdesk.seed import DEMO_CONTACTS, DEMO_NUMBER
from frontdesk.storage.uow import UnitOfWork
from tests.api.test_twilio_webhooks import PATIENT, SMS, STATUS, inbound_form, status_form
from tests.api.twilio_env import PUBLIC, TwilioEnv
from tests.conftest import ADMIN, BUSINESS_NUMBER, T0
from tests.providers.fake_twilio_server import FakeTwilio

CALLBACK = f"{PUBLIC}/webhooks/twilio/status"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    try:
        yield server
    finally:
        server.stop()


def twilio_settings(fake: FakeTwilio, tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'frontdesk.db'}",
        admin_token=ADMIN,
        require_registration=False,
        provider="twilio",
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=fake.auth_token,
        twilio_api_base=fake.url,
        public_base_url=PUBLIC,
    )


@pytest.fixture
def tw(fake: FakeTwilio, tmp_path: Path) -> Iterator[TwilioEnv]:
    clock = FixedClock(T0)
    container = build(twilio_settings(fake, tmp_path), clock=clock)
    router = container.provider
    assert isinstance(router, AccountRouter), "tenants' own accounts are routed"
    provider = router.default
    assert isinstance(provider, TwilioProvider), "bootstrap built the Twilio adapter"
    try:
        with TestClient(create_app(container, start_worker=False)) as client:
            yield TwilioEnv(container, client, clock, fake, provider)
    finally:
        container.close()


def stored_inbound(tw: TwilioEnv, tenant_id: str) -> bool:
    sid = inbound_form("")["MessageSid"]
    with UnitOfWork(tw.container.db) as uow:
        return uow.tenant(tenant_id).inbound_by_provider_id("twilio", sid) is not None


def opted_out(tw: TwilioEnv, t: object) -> bool:
    r = tw.client.get(f"/v1/contacts/{PATIENT}", headers=t.auth)  # type: ignore[attr-defined]
    return r.status_code == 200 and r.json()["opted_out"] is True


def test_the_built_provider_verifies_the_webhooks_of_every_number(tw: TwilioEnv) -> None:
    assert tw.container.webhook_verifier(BUSINESS_NUMBER) is tw.provider
    assert tw.container.webhook_verifier("+12125550100") is tw.provider


def test_R_FCC_02_a_signed_stop_reaches_the_service_and_its_confirmation_names_the_callback(
    tw: TwilioEnv,
) -> None:
    t = tw.tenant()
    r = tw.webhook(SMS, inbound_form("STOP"))

    assert r.status_code == 200, r.text
    assert stored_inbound(tw, t.id)
    assert opted_out(tw, t)
    tw.step()
    [confirmation] = tw.fake.sent()
    assert confirmation.authorized, "sent with the configured account SID and auth token"
    assert confirmation.get("To") == PATIENT
    assert confirmation.get("StatusCallback") == CALLBACK


def test_an_unsigned_or_forged_stop_is_refused_and_changes_nothing(tw: TwilioEnv) -> None:
    t = tw.tenant()
    unsigned = tw.webhook(SMS, inbound_form("STOP"), signature="")
    forged = tw.webhook(
        SMS, inbound_form("STOP"), signature=tw.sign(SMS, inbound_form("STOP"), token="guess")
    )

    for r in (unsigned, forged):
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
    assert not stored_inbound(tw, t.id)
    assert not opted_out(tw, t)


def test_a_signed_status_callback_moves_the_message(tw: TwilioEnv) -> None:
    t = tw.tenant()
    tw.consent(t, PATIENT)
    sent = tw.client.post(
        "/v1/messages",
        headers=t.auth,
        json={
            "to": PATIENT,
            "body": "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply STOP to opt out.",
            "category": "appointment_reminder",
        },
    )
    assert sent.status_code == 201, sent.text
    tw.step()
    [handed_off] = tw.fake.sent()
    assert handed_off.get("StatusCallback") == CALLBACK
    path = f"/v1/messages/{sent.json()['id']}"
    sid = tw.client.get(path, headers=t.auth).json()["provider_message_id"]

    assert tw.webhook(STATUS, status_form(sid, "delivered")).status_code == 204
    assert tw.client.get(path, headers=t.auth).json()["status"] == "delivered"


class Recording:
    """A verifier seam that knows one number, as one carrier account per tenant will."""

    def __init__(self, verifier: TwilioWebhooks, number: str) -> None:
        self.verifier = verifier
        self.number = number
        self.asked: list[str] = []

    def __call__(self, number: str) -> TwilioWebhooks | None:
        self.asked.append(number)
        return self.verifier if number == self.number else None


def test_the_edge_asks_for_the_verifier_of_the_number_the_webhook_concerns(
    tw: TwilioEnv,
) -> None:
    tw.tenant()
    seam = Recording(tw.provider, BUSINESS_NUMBER)
    tw.container.webhook_verifier = seam

    assert tw.webhook(SMS, inbound_form("HELP")).status_code == 200
    assert tw.webhook(STATUS, status_form("SM" + "f" * 32, "delivered")).status_code == 204
    other = tw.webhook(SMS, inbound_form("STOP", to="+12125550100"))

    assert other.status_code == 404, "a number no account takes webhooks for"
    assert seam.asked == [BUSINESS_NUMBER, BUSINESS_NUMBER, "+12125550100"], (
        "inbound is addressed To the business number, a status callback From it"
    )


# ---------------------------------------------------------------------- frontdesk serve
def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def wait_until_up(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"frontdesk serve exited {proc.returncode}: {err}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("frontdesk serve did not answer /healthz within 60 s")


def test_frontdesk_serve_with_twilio_settings_takes_signed_webhooks_and_sends_through_twilio(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    port = unused_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(
        FRONTDESK_DATABASE_URL=f"sqlite:///{tmp_path / 'frontdesk.db'}",
        FRONTDESK_PROVIDER="twilio",
        FRONTDESK_TWILIO_ACCOUNT_SID=fake.account_sid,
        FRONTDESK_TWILIO_AUTH_TOKEN=fake.auth_token,
        FRONTDESK_TWILIO_API_BASE=fake.url,
        FRONTDESK_PUBLIC_BASE_URL=PUBLIC,
        FRONTDESK_ENV="production",
        FRONTDESK_ADMIN_TOKEN=ADMIN,
    )
    script = Path(sys.executable).with_name("frontdesk")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "frontdesk.cli.main"]
    proc = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_up(base, proc)
        patient = DEMO_CONTACTS[0][0]
        form = {**inbound_form("STOP", to=DEMO_NUMBER), "From": patient}
        signature = RequestValidator(fake.auth_token).compute_signature(PUBLIC + SMS, form)

        unsigned = httpx.post(base + SMS, data=form, timeout=10)
        signed = httpx.post(
            base + SMS, data=form, headers={"X-Twilio-Signature": signature}, timeout=10
        )

        assert unsigned.status_code == 403
        assert signed.status_code == 200, signed.text
        deadline = time.monotonic() + 30
        while not fake.sent() and time.monotonic() < deadline:
            time.sleep(0.1)
        [confirmation] = fake.sent()
        assert confirmation.authorized
        assert (confirmation.get("To"), confirmation.get("From")) == (patient, DEMO_NUMBER)
        assert confirmation.get("StatusCallback") == CALLBACK
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert "Traceback" not in err, err
