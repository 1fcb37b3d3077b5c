"""Drop-in compliance: the official Twilio SDK, pointed at Frontdesk, gets the gate.

api.md (Twilio-compatible Messages endpoint): an application that already uses
``twilio.rest.Client`` sends through Frontdesk by changing only its base URL;
a refused message raises the SDK's usual ``TwilioRestException`` with Twilio's
code (21610 for an opted-out recipient, R-FCC-02). The app runs under uvicorn
on 127.0.0.1 in a thread and the SDK talks to it over real HTTP.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from frontdesk.api.app import create_app
from frontdesk.bootstrap import Container, build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.simulator import CarrierSimulator
from tests.conftest import ADMIN, BUSINESS_NUMBER, T0

PATIENT = "+13055550142"
REMINDER = "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply STOP to opt out."


class FrontdeskHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's own HTTP client, sending to Frontdesk instead of api.twilio.com."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        if self.session is not None:
            self.session.trust_env = False

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        return super().request(method, f"{self.base_url}{parts.path}{query}", *args, **kwargs)


@dataclass
class Served:
    url: str
    container: Container
    http: httpx.Client

    def tenant(self, name: str = "Bright Smile Dental", number: str = BUSINESS_NUMBER) -> Any:
        r = self.http.post(
            "/v1/tenants",
            headers={"Authorization": f"Bearer {ADMIN}"},
            json={
                "name": name,
                "timezone": "America/New_York",
                "support_email": "hello@brightsmile.example",
                "support_phone": "+14155550199",
            },
        )
        assert r.status_code == 201, r.text
        tid, key = r.json()["id"], r.json()["api_key"]
        auth = {"Authorization": f"Bearer {key}"}
        rr = self.http.post("/v1/numbers", headers=auth, json={"number": number})
        assert rr.status_code == 201, rr.text
        version = self.http.get("/v1/policy", headers=auth).json()["version"]
        ok = self.http.post(
            "/v1/policy/accept", headers=auth, json={"version": version, "accepted_by": "Owner"}
        )
        assert ok.status_code == 200, ok.text
        return tid, key, auth

    def consent(self, auth: dict[str, str], phone: str = PATIENT) -> None:
        r = self.http.post(
            "/v1/consents",
            headers=auth,
            json={
                "phone": phone,
                "scope": "informational",
                "method": "web_form",
                "captured_at": (T0 - timedelta(days=1)).isoformat(),
                "evidence": {"form": "https://brightsmile.example/join", "ip": "203.0.113.9"},
            },
        )
        assert r.status_code == 201, r.text

    def sdk(self, account_sid: str, key: str) -> Client:
        return Client(account_sid, key, http_client=FrontdeskHttpClient(self.url))

    def messages(self, auth: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.http.get("/v1/messages", headers=auth).json()["items"]
        return items


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'frontdesk.db'}",
        admin_token=ADMIN,
        # These tests are about Twilio, not 10DLC (see tests/api/test_registry.py).
        require_registration=False,
    )
    container = build(settings, clock=FixedClock(T0), provider=CarrierSimulator(seed=1))
    app = create_app(container, start_worker=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started or not thread.is_alive():
            break
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as http:
            yield Served(url, container, http)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        container.close()


def test_sdk_send_is_accepted_rendered_like_twilio_and_delivered(served: Served) -> None:
    tid, key, auth = served.tenant()
    served.consent(auth)
    client = served.sdk(tid, key)

    msg = client.messages.create(to=PATIENT, from_=BUSINESS_NUMBER, body=REMINDER)

    assert msg.sid is not None and msg.sid.startswith("msg_")
    assert (msg.to, msg.from_, msg.body) == (PATIENT, BUSINESS_NUMBER, REMINDER)
    assert msg.status == "queued"
    assert msg.num_segments == "1" and msg.account_sid == tid
    assert msg.direction == "outbound-api" and msg.error_code is None
    assert msg.date_created == T0

    served.container.worker.drain()
    fetched = client.messages(msg.sid).fetch()
    assert fetched.status == "delivered"
    assert fetched.date_sent == T0


def test_R_FCC_02_sdk_send_to_opted_out_number_raises_21610(served: Served) -> None:
    tid, key, auth = served.tenant()
    served.consent(auth)
    stop = served.http.post(
        "/v1/inbound", headers=auth, json={"from": PATIENT, "to": BUSINESS_NUMBER, "body": "STOP"}
    )
    assert stop.json()["classification"] == "opt_out"
    client = served.sdk(tid, key)

    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=PATIENT, from_=BUSINESS_NUMBER, body=REMINDER)

    assert raised.value.code == 21610
    assert raised.value.status == 400
    details: Any = raised.value.details
    assert details["reasons"][0]["code"] == "opted_out"
    refused = client.messages(details["frontdesk_message_id"]).fetch()
    assert (refused.status, refused.error_code) == ("failed", 21610)
    served.container.worker.drain()
    bodies = [m["body"] for m in served.messages(auth) if m["status"] == "delivered"]
    assert all("cleaning" not in b for b in bodies)


def test_R_C_01_no_consent_raises_frontdesk_code(served: Served) -> None:
    tid, key, _ = served.tenant()
    with pytest.raises(TwilioRestException) as raised:
        served.sdk(tid, key).messages.create(to=PATIENT, from_=BUSINESS_NUMBER, body=REMINDER)
    assert (raised.value.status, raised.value.code) == (400, 99101)


@pytest.mark.parametrize(
    ("to", "body", "code"),
    [
        ("12", REMINDER, 21211),
        (PATIENT, "   ", 21602),
        (PATIENT, "Bright Smile Dental: " + "x" * 1600 + " Reply STOP to opt out.", 21617),
    ],
    ids=["invalid_number", "empty_body", "body_too_long"],
)
def test_R_S_01_invalid_requests_raise_twilios_codes(
    served: Served, to: str, body: str, code: int
) -> None:
    tid, key, auth = served.tenant()
    served.consent(auth)
    with pytest.raises(TwilioRestException) as raised:
        served.sdk(tid, key).messages.create(to=to, from_=BUSINESS_NUMBER, body=body)
    assert (raised.value.status, raised.value.code) == (400, code)


def test_R_C_02_marketing_category_field_needs_written_consent(served: Served) -> None:
    tid, key, auth = served.tenant()
    served.consent(auth)
    r = served.http.post(
        f"/2010-04-01/Accounts/{tid}/Messages.json",
        auth=(tid, key),
        data={
            "To": PATIENT,
            "From": BUSINESS_NUMBER,
            "Body": "Bright Smile Dental: 20% off whitening this week! Reply STOP to opt out.",
            "FrontdeskCategory": "marketing",
        },
    )
    assert r.status_code == 400
    assert r.json()["code"] == 99102
    assert r.json()["more_info"] == "urn:frontdesk:reason:marketing_requires_written_consent"
    assert set(r.json()) >= {"code", "message", "more_info", "status"}


def test_R_S_02_media_over_plain_http_is_refused_and_not_stored(served: Served) -> None:
    tid, key, auth = served.tenant()
    served.consent(auth)
    with pytest.raises(TwilioRestException) as raised:
        served.sdk(tid, key).messages.create(
            to=PATIENT,
            from_=BUSINESS_NUMBER,
            body=REMINDER,
            media_url=["http://cdn.example.com/x-ray.jpg"],
        )
    assert (raised.value.status, raised.value.code) == (400, 21620)
    assert served.messages(auth) == []


def test_wrong_key_or_other_account_is_401_in_twilio_shape(served: Served) -> None:
    tid, _, _ = served.tenant()
    other_tid, other_key, _ = served.tenant("Other Clinic", "+14155550111")
    form = {"To": PATIENT, "From": BUSINESS_NUMBER, "Body": REMINDER}
    url = f"/2010-04-01/Accounts/{tid}/Messages.json"
    for creds in ((tid, "fd_live_wrong"), (other_tid, other_key), (tid, other_key)):
        r = served.http.post(url, auth=creds, data=form)
        assert r.status_code == 401
        assert r.json()["code"] == 20003
    assert served.http.post(url, data=form).status_code == 401

    with pytest.raises(TwilioRestException) as raised:
        served.sdk(tid, "fd_live_wrong").messages.create(
            to=PATIENT, from_=BUSINESS_NUMBER, body=REMINDER
        )
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_a_tenant_cannot_fetch_another_tenants_message(served: Served) -> None:
    tid, key, auth = served.tenant()
    served.consent(auth)
    sid = served.sdk(tid, key).messages.create(to=PATIENT, from_=BUSINESS_NUMBER, body=REMINDER).sid
    other_tid, other_key, _ = served.tenant("Other Clinic", "+14155550111")
    with pytest.raises(TwilioRestException) as raised:
        served.sdk(other_tid, other_key).messages(sid).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_idempotency_token_header_returns_the_same_message(served: Served) -> None:
    tid, key, auth = served.tenant()
    served.consent(auth)
    form = {"To": PATIENT, "From": BUSINESS_NUMBER, "Body": REMINDER}
    url = f"/2010-04-01/Accounts/{tid}/Messages.json"
    headers = {"I-Twilio-Idempotency-Token": "retry-1"}
    first = served.http.post(url, auth=(tid, key), data=form, headers=headers)
    again = served.http.post(url, auth=(tid, key), data=form, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["sid"] == again.json()["sid"]
    assert len(served.messages(auth)) == 1
