"""A tenant's own carrier account carries its numbers' texts and verifies their webhooks
(issue 12, "Carrier accounts per tenant").

The deployment is what ``frontdesk serve`` builds with ``FRONTDESK_PROVIDER=twilio``:
bootstrap's account router over the platform account, pointed at a local Twilio
stand-in that knows both the platform's and the tenant's subaccount. One tenant's
number is linked to its own subaccount; another's sends through the platform's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.secrets_box import ENV_VAR, generate_key_line
from tests.conftest import ADMIN, T0, Env, Tenant
from tests.support.twilio_standin import TwilioStandin

PLATFORM_SID = "AC" + "0" * 32
PLATFORM_TOKEN = "platform-token-0000"
TENANT_SID = "AC" + "b7" * 16
TENANT_TOKEN = "tenant-subaccount-token-b7"
PUBLIC = "https://sms.frontdesk.example"
OWN_NUMBER = "+14155550177"
SHARED_NUMBER = "+14155550100"
PATIENT = "+13055550142"


@pytest.fixture
def carrier() -> Iterator[TwilioStandin]:
    with TwilioStandin(
        PLATFORM_SID, PLATFORM_TOKEN, accounts={TENANT_SID: TENANT_TOKEN}
    ) as standin:
        yield standin


@pytest.fixture
def env(
    tmp_path: Path, carrier: TwilioStandin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    monkeypatch.setenv(ENV_VAR, generate_key_line("k1"))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'fd.db'}",
        admin_token=ADMIN,
        provider="twilio",
        twilio_account_sid=PLATFORM_SID,
        twilio_auth_token=PLATFORM_TOKEN,
        twilio_api_base=carrier.url,
        public_base_url=PUBLIC,
        require_registration=False,
    )
    clock = FixedClock(T0)
    container = build(settings, clock=clock)
    assert container.accounts is not None
    container.accounts.refresh_seconds = 0.0
    with TestClient(create_app(container, start_worker=False)) as client:
        yield Env(container, client, clock, None, tmp_path / "fd.db")  # type: ignore[arg-type]
    container.close()


def _tenant(env: Env, name: str, number: str, *, own_account: bool = False) -> Tenant:
    t = env.tenant(name=name, number=None)
    t.number = number
    body: dict[str, Any] = {"number": number, "provider": "twilio"}
    if own_account:
        body["carrier_account_id"] = _own_account(t)
    r = t.post("/v1/numbers", body)
    assert r.status_code == 201, r.text
    return t


def _own_account(t: Tenant) -> str:
    body = {
        "provider": "twilio",
        "label": "Subaccount",
        "account_sid": TENANT_SID,
        "auth_token": TENANT_TOKEN,
    }
    r = t.post("/v1/carrier-accounts", body)
    assert r.status_code == 201, r.text
    assert TENANT_TOKEN not in r.text
    return str(r.json()["id"])


def _signed_stop(env: Env, to: str, token: str) -> Any:
    form = {
        "MessageSid": f"SM{to[-4:]}{token[:4]}" + "0" * 22,
        "AccountSid": TENANT_SID,
        "From": PATIENT,
        "To": to,
        "Body": "STOP",
        "NumMedia": "0",
    }
    url = f"{PUBLIC}/webhooks/twilio/sms"
    signature = RequestValidator(token).compute_signature(url, form)
    return env.client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    )


def test_a_number_on_the_tenants_subaccount_sends_through_it_and_others_through_the_platform(
    env: Env, carrier: TwilioStandin
) -> None:
    own = _tenant(env, "Bright Smile Dental", OWN_NUMBER, own_account=True)
    shared = _tenant(env, "Oak Street Salon", SHARED_NUMBER)
    for t, name in ((own, "Bright Smile Dental"), (shared, "Oak Street Salon")):
        t.consent(PATIENT)
        r = t.send(PATIENT, f"{name}: your visit is Tue at 3:00 pm. Reply STOP to opt out.")
        assert r.status_code == 201 and r.json()["status"] == "queued", r.text

    env.step()

    by_account = {m["account"]: m for m in carrier.messages(to=PATIENT)}
    assert set(by_account) == {TENANT_SID, PLATFORM_SID}
    assert by_account[TENANT_SID]["from"] == OWN_NUMBER
    assert by_account[PLATFORM_SID]["from"] == SHARED_NUMBER
    for t in (own, shared):
        (msg,) = t.get("/v1/messages").json()["items"]
        assert msg["status"] in ("sending", "sent", "delivered"), msg


def test_webhooks_to_a_subaccount_number_are_verified_with_that_accounts_token(
    env: Env,
) -> None:
    own = _tenant(env, "Bright Smile Dental", OWN_NUMBER, own_account=True)

    forged = _signed_stop(env, OWN_NUMBER, PLATFORM_TOKEN)
    assert forged.status_code == 403, "the platform's token must not sign a subaccount's STOP"
    assert own.get(f"/v1/contacts/{PATIENT}").status_code == 404

    r = _signed_stop(env, OWN_NUMBER, TENANT_TOKEN)
    assert r.status_code == 200, r.text
    contact = own.get(f"/v1/contacts/{PATIENT}").json()
    assert contact["opted_out"] is True
