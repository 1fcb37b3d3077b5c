"""Twilio's webhooks: a signed STOP suppresses, a forged one changes nothing.

api.md (provider webhooks): ``X-Twilio-Signature`` is checked against the
account token, a bad signature is 403 and nothing is stored. R-FCC-02: a STOP
from the webhook is honoured like any other. R-E-01: status callbacks arrive
out of order and duplicated, and never move a message backwards. Signatures
come from the official ``twilio`` package's ``RequestValidator`` over the
public URL, while the app itself is reached as ``http://testserver``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.storage.uow import UnitOfWork
from tests.api.twilio_env import TwilioEnv, twilio_env
from tests.conftest import BUSINESS_NUMBER, Env

PATIENT = "+13055550142"
SID = "SM" + "a1" * 16
SMS = "/webhooks/twilio/sms"
STATUS = "/webhooks/twilio/status"


@pytest.fixture
def tw(tmp_path: Path) -> Iterator[TwilioEnv]:
    with twilio_env(tmp_path) as e:
        yield e


def inbound_form(body: str, sid: str = SID, to: str = BUSINESS_NUMBER) -> dict[str, str]:
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": PATIENT,
        "ApiVersion": "2010-04-01",
    }


def stored_inbound(tw: TwilioEnv, tenant_id: str, sid: str = SID) -> bool:
    with UnitOfWork(tw.container.db) as uow:
        return uow.tenant(tenant_id).inbound_by_provider_id("twilio", sid) is not None


def contact(tw: TwilioEnv, t: object) -> dict[str, object]:
    r = tw.client.get(f"/v1/contacts/{PATIENT}", headers=t.auth)  # type: ignore[attr-defined]
    return r.json() if r.status_code == 200 else {}


def test_R_FCC_02_signed_stop_behind_tls_proxy_suppresses_and_confirms(tw: TwilioEnv) -> None:
    t = tw.tenant()
    r = tw.webhook(SMS, inbound_form("STOP"))

    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert r.text.endswith("<Response/>"), "replies go through the gate, never as TwiML"
    assert stored_inbound(tw, t.id)
    assert contact(tw, t)["opted_out"] is True

    tw.step()
    [confirmation] = tw.fake.sent()
    assert confirmation.get("To") == PATIENT and confirmation.get("From") == BUSINESS_NUMBER
    assert "unsubscribed" in (confirmation.get("Body") or "")
    assert confirmation.get("StatusCallback") == "https://sms.example.com/webhooks/twilio/status"


def test_tampered_parameter_is_403_and_nothing_is_stored(tw: TwilioEnv) -> None:
    t = tw.tenant()
    signature = tw.sign(SMS, inbound_form("Hello"))
    r = tw.webhook(SMS, inbound_form("STOP"), signature=signature)

    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert not stored_inbound(tw, t.id)
    assert contact(tw, t).get("opted_out") in (None, False)
    assert tw.step() == 0 and tw.fake.sent() == []


def test_missing_or_wrong_token_signature_is_403(tw: TwilioEnv) -> None:
    t = tw.tenant()
    assert tw.webhook(SMS, inbound_form("STOP"), signature="").status_code == 403
    forged = tw.sign(SMS, inbound_form("STOP"), token="not-the-auth-token")
    assert tw.webhook(SMS, inbound_form("STOP"), signature=forged).status_code == 403
    assert not stored_inbound(tw, t.id)


def test_signature_over_the_internal_url_is_refused_when_public_url_is_set(
    tw: TwilioEnv,
) -> None:
    """The proxy case cuts both ways: only the URL Twilio called is trusted."""
    from twilio.request_validator import RequestValidator

    t = tw.tenant()
    form = inbound_form("STOP")
    internal = RequestValidator(tw.fake.auth_token).compute_signature(
        "http://testserver" + SMS, form
    )
    assert tw.webhook(SMS, form, signature=internal).status_code == 403
    assert not stored_inbound(tw, t.id)


def test_unknown_to_number_is_200_and_nothing_is_stored(tw: TwilioEnv) -> None:
    t = tw.tenant()
    r = tw.webhook(SMS, inbound_form("STOP", to="+12125550123"))
    assert r.status_code == 200 and r.text.endswith("<Response/>")
    assert not stored_inbound(tw, t.id)
    assert contact(tw, t).get("opted_out") in (None, False)


def test_duplicate_message_sid_is_handled_once(tw: TwilioEnv) -> None:
    t = tw.tenant()
    for _ in range(3):
        assert tw.webhook(SMS, inbound_form("STOP")).status_code == 200
    tw.step()
    assert len(tw.fake.sent()) == 1, "one STOP, one confirmation (R-FCC-03)"
    with UnitOfWork(tw.container.db) as uow:
        rows = uow.tenant(t.id).messages(to=PATIENT, status=None, since=None, limit=10, offset=0)
    assert len(rows) == 1


def test_webhooks_are_404_when_the_deployment_does_not_use_twilio(env: Env) -> None:

    for path in (SMS, STATUS):
        r = env.client.post(path, data=inbound_form("STOP"), headers={"X-Twilio-Signature": "x"})
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


# --------------------------------------------------------------------------- status path
def handed_off(tw: TwilioEnv) -> tuple[object, str, str]:
    t = tw.tenant()
    tw.consent(t, PATIENT)
    r = tw.client.post(
        "/v1/messages",
        headers=t.auth,
        json={
            "to": PATIENT,
            "body": "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply STOP to opt out.",
            "category": "appointment_reminder",
        },
    )
    assert r.status_code == 201, r.text
    tw.step()
    msg = tw.client.get(f"/v1/messages/{r.json()['id']}", headers=t.auth).json()
    assert msg["status"] == "sending" and msg["provider"] == "twilio"
    return t, msg["id"], msg["provider_message_id"]


def status_form(sid: str, status: str, error: str | None = None) -> dict[str, str]:
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "To": PATIENT,
        "From": BUSINESS_NUMBER,
        "ApiVersion": "2010-04-01",
    }
    if error:
        form["ErrorCode"] = error
    return form


def test_R_E_01_status_moves_forward_and_a_late_sent_does_not_move_it_back(
    tw: TwilioEnv,
) -> None:
    t, message_id, sid = handed_off(tw)
    assert sid.startswith("SM"), "the sid the fake Twilio answered with"

    for status in ("sent", "delivered", "sent", "delivered"):
        r = tw.webhook(STATUS, status_form(sid, status))
        assert r.status_code == 204

    got = tw.client.get(f"/v1/messages/{message_id}", headers=t.auth).json()  # type: ignore[attr-defined]
    assert got["status"] == "delivered"
    statuses = [e["status"] for e in got["events"]]
    assert statuses[:3] == ["queued", "sending", "sent"]
    assert statuses.count("delivered") == 1


def test_R_E_01_undelivered_keeps_twilio_error_code(tw: TwilioEnv) -> None:
    t, message_id, sid = handed_off(tw)
    assert tw.webhook(STATUS, status_form(sid, "undelivered", "30005")).status_code == 204
    got = tw.client.get(f"/v1/messages/{message_id}", headers=t.auth).json()  # type: ignore[attr-defined]
    assert (got["status"], got["error_code"]) == ("undelivered", "30005")


def test_forged_status_is_403_and_changes_nothing(tw: TwilioEnv) -> None:
    t, message_id, sid = handed_off(tw)
    forged = tw.sign(STATUS, status_form(sid, "delivered"), token="guess")
    assert tw.webhook(STATUS, status_form(sid, "failed"), signature=forged).status_code == 403
    got = tw.client.get(f"/v1/messages/{message_id}", headers=t.auth).json()  # type: ignore[attr-defined]
    assert got["status"] == "sending"


def test_status_for_an_unknown_sid_is_acknowledged(tw: TwilioEnv) -> None:
    tw.tenant()
    assert tw.webhook(STATUS, status_form("SM" + "f" * 32, "delivered")).status_code == 204
