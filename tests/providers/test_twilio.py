"""The Twilio adapter against a local server that speaks Twilio's Messages API.

R-E-02: Twilio's own refusals keep their code (21610 is never retried); faults
that say nothing about the message (timeouts, refused connections, 5xx) get
codes that ``domain.carrier_errors`` retries. Signatures are produced by
the official ``twilio`` package's ``RequestValidator``, as Twilio computes them.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator

import pytest
from twilio.request_validator import HMAC_SHA256, RequestValidator

from frontdesk.domain.carrier_errors import is_permanent
from frontdesk.providers.base import OutboundSms, Provider
from frontdesk.providers.twilio import NETWORK_ERROR, MultiParams, TwilioProvider
from tests.providers.fake_twilio_server import HANG, SERVER_ERROR, FakeTwilio, error

PATIENT = "+13055550142"
BUSINESS = "+14155550100"
PUBLIC = "https://sms.example.com"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    yield server
    server.stop()


def provider_for(fake: FakeTwilio, **kw: object) -> TwilioProvider:
    return TwilioProvider(
        fake.account_sid,
        fake.auth_token,
        api_base=fake.url,
        public_base_url=PUBLIC,
        **kw,  # type: ignore[arg-type]
    )


def sms(to: str = PATIENT, media: tuple[str, ...] = ()) -> OutboundSms:
    return OutboundSms("msg_1", to, BUSINESS, "Bright Smile Dental: see you Tue.", media)


def test_provider_satisfies_the_port() -> None:
    p: Provider = TwilioProvider("AC1", "token")
    assert p.name == "twilio" and p.supports_mms is True
    assert p.drain_inbound() == [] and p.drain_status_updates() == []


def test_send_posts_twilio_form_with_basic_auth_and_status_callback(fake: FakeTwilio) -> None:
    provider = provider_for(fake)
    media = ("https://cdn.example.com/a.jpg", "https://cdn.example.com/b.png")
    result = provider.send(sms(media=media))

    assert result.accepted is True
    assert result.provider_message_id and result.provider_message_id.startswith("SM")
    [got] = fake.sent()
    assert got.path == f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    assert got.get("To") == PATIENT and got.get("From") == BUSINESS
    assert got.get("Body") == "Bright Smile Dental: see you Tue."
    assert got.getlist("MediaUrl") == list(media)
    assert got.get("StatusCallback") == f"{PUBLIC}/webhooks/twilio/status"


def test_R_E_02_twilio_21610_is_kept_as_a_permanent_refusal(fake: FakeTwilio) -> None:
    fake.behaviours[PATIENT] = error(400, 21610, "Attempt to send to unsubscribed recipient")
    result = provider_for(fake).send(sms())
    assert result.accepted is False
    assert result.error_code == "21610"
    assert result.error_message == "Attempt to send to unsubscribed recipient"
    assert is_permanent(result.error_code)


def test_R_E_02_server_error_without_twilio_body_is_retryable(fake: FakeTwilio) -> None:
    fake.behaviours[PATIENT] = SERVER_ERROR
    result = provider_for(fake).send(sms())
    assert result.accepted is False
    assert result.error_code == "20500"
    assert not is_permanent(result.error_code)


def test_R_E_02_timeout_is_a_retryable_network_error(fake: FakeTwilio) -> None:
    fake.behaviours[PATIENT] = HANG
    result = provider_for(fake, timeout=0.3).send(sms())
    fake.release.set()
    assert result.accepted is False
    assert result.error_code == NETWORK_ERROR
    assert result.error_message == "ReadTimeout"
    assert not is_permanent(result.error_code)


def test_R_E_02_refused_connection_is_a_retryable_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = TwilioProvider("AC1", "token", api_base=f"http://127.0.0.1:{port}", timeout=2)
    result = provider.send(sms())
    assert result.accepted is False
    assert result.error_code == NETWORK_ERROR
    assert not is_permanent(result.error_code)


def test_wrong_auth_token_keeps_twilio_code_20003(fake: FakeTwilio) -> None:
    provider = TwilioProvider(fake.account_sid, "wrong", api_base=fake.url)
    result = provider.send(sms())
    assert result.accepted is False and result.error_code == "20003"
    assert result.error_message == "Authenticate"


# ----------------------------------------------------------------------------- signatures
FORM = {
    "MessageSid": "SM" + "1" * 32,
    "From": PATIENT,
    "To": BUSINESS,
    "Body": "STOP",
    "NumMedia": "0",
}


def test_signature_from_the_official_validator_is_accepted() -> None:
    provider = TwilioProvider("AC1", "secret-token")
    url = "https://sms.example.com/webhooks/twilio/sms"
    signature = RequestValidator("secret-token").compute_signature(url, FORM)
    assert provider.verify_signature(url, FORM, signature)


def test_tampered_parameter_or_wrong_token_is_refused() -> None:
    provider = TwilioProvider("AC1", "secret-token")
    url = "https://sms.example.com/webhooks/twilio/sms"
    signature = RequestValidator("secret-token").compute_signature(url, FORM)
    assert not provider.verify_signature(url, {**FORM, "Body": "START"}, signature)
    assert not provider.verify_signature(url, FORM, "")
    other = RequestValidator("other-token").compute_signature(url, FORM)
    assert not provider.verify_signature(url, FORM, other)


def test_behind_a_tls_proxy_the_public_base_url_is_what_was_signed() -> None:
    provider = TwilioProvider("AC1", "secret-token", public_base_url=PUBLIC + "/")
    signed = f"{PUBLIC}/webhooks/twilio/sms?tenant=bright"
    signature = RequestValidator("secret-token").compute_signature(signed, FORM)
    seen_by_app = "http://127.0.0.1:8000/webhooks/twilio/sms?tenant=bright"
    assert provider.verify_signature(seen_by_app, FORM, signature)
    assert not TwilioProvider("AC1", "secret-token").verify_signature(seen_by_app, FORM, signature)


def test_signature_with_explicit_default_port_is_accepted() -> None:
    provider = TwilioProvider("AC1", "secret-token", public_base_url=PUBLIC)
    signature = RequestValidator("secret-token").compute_signature(
        "https://sms.example.com:443/webhooks/twilio/sms", FORM
    )
    assert provider.verify_signature("http://testserver/webhooks/twilio/sms", FORM, signature)


def test_repeated_keys_are_signed_in_sorted_order() -> None:
    provider = TwilioProvider("AC1", "secret-token")
    url = "https://sms.example.com/hook"
    items = [("A", "2"), ("A", "1"), ("B", "x")]
    signature = RequestValidator("secret-token").compute_signature(url, MultiParams(items))
    assert provider.verify_signature(url, MultiParams(items), signature)
    assert not provider.verify_signature(url, {"A": "1", "B": "x"}, signature)


def test_hmac_sha256_with_a_webhook_shared_key() -> None:
    provider = TwilioProvider("AC1", "auth-token", webhook_shared_key="shared-secret")
    url = "https://sms.example.com/webhooks/twilio/status"
    signature = RequestValidator("shared-secret").compute_signature(url, FORM, HMAC_SHA256)
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    assert provider.verify_signature(url, FORM, signature, settings_header=header)
    assert not provider.verify_signature(url, FORM, signature)
    bad = "key=webhooks_sharedkey_1,algorithm=HMAC_MD5"
    assert not provider.verify_signature(url, FORM, signature, settings_header=bad)


def test_json_body_is_checked_by_its_body_sha256() -> None:
    provider = TwilioProvider("AC1", "secret-token", public_base_url=PUBLIC)
    body = json.dumps({"MessageSid": "SM1", "MessageStatus": "delivered"})
    digest = hashlib.sha256(body.encode()).hexdigest()
    signed = f"{PUBLIC}/webhooks/twilio/status?bodySHA256={digest}"
    signature = RequestValidator("secret-token").compute_signature(signed, {})
    seen = f"http://127.0.0.1:9/webhooks/twilio/status?bodySHA256={digest}"
    assert provider.verify_signature(seen, {}, signature, raw_body=body)
    assert not provider.verify_signature(seen, {}, signature, raw_body=body + " ")


# ------------------------------------------------------------------------------- parsing
def test_parse_inbound_reads_twilio_fields_and_media() -> None:
    provider = TwilioProvider("AC1", "token")
    form = {
        **FORM,
        "Body": "",
        "NumMedia": "2",
        "MediaUrl0": "https://api.twilio.com/media/0",
        "MediaUrl1": "https://api.twilio.com/media/1",
    }
    got = provider.parse_inbound(form)
    assert (got.provider, got.sender, got.to, got.body) == ("twilio", PATIENT, BUSINESS, "")
    assert got.provider_message_id == FORM["MessageSid"]
    assert got.media_urls == ("https://api.twilio.com/media/0", "https://api.twilio.com/media/1")


def test_parse_status_reads_sid_status_and_error_code() -> None:
    provider = TwilioProvider("AC1", "token")
    got = provider.parse_status(
        {"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    )
    assert (got.provider, got.provider_message_id, got.status, got.error_code) == (
        "twilio",
        "SM9",
        "undelivered",
        "30003",
    )
    assert provider.parse_status({"MessageSid": "SM9", "MessageStatus": "sent"}).error_code is None
