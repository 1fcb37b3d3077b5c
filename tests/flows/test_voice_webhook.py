"""Twilio's voice status callback (api.md, provider webhooks): a signed ``no-answer``
on an inbound call texts the caller once (R-C-06); a forged callback is 403 and
stores nothing. The carrier is the local fake Twilio server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.twilio_env import TwilioEnv, twilio_env
from tests.conftest import BUSINESS_NUMBER

CALLER = "+13055550142"
PATH = "/webhooks/twilio/voice"


@pytest.fixture
def tw(tmp_path: Path) -> Iterator[TwilioEnv]:
    with twilio_env(tmp_path) as e:
        yield e


def callback(
    sid: str, status: str, caller: str = CALLER, direction: str = "inbound"
) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": sid,
        "From": caller,
        "To": BUSINESS_NUMBER,
        "CallStatus": status,
        "Direction": direction,
        "ApiVersion": "2010-04-01",
    }


def test_R_C_06_a_signed_no_answer_callback_texts_the_caller_once(tw: TwilioEnv) -> None:
    t = tw.tenant()
    for status in ("ringing", "no-answer"):
        r = tw.webhook(PATH, callback("CA1", status))
        assert r.status_code == 200, r.text
    assert tw.webhook(PATH, callback("CA1", "no-answer")).status_code == 200  # Twilio retry
    assert tw.webhook(PATH, callback("CA2", "busy")).status_code == 200  # second call, 0 s later
    tw.step()
    sent = [r for r in tw.fake.sent() if r.get("To") == CALLER]
    assert len(sent) == 1
    body = sent[0].get("Body") or ""
    assert body.startswith("Bright Smile Dental:") and "Reply STOP to opt out" in body
    calls = tw.client.get("/v1/messages", headers=t.auth).json()["items"]
    assert [m["category"] for m in calls] == ["missed_call_followup"]


def test_an_outbound_or_answered_call_is_not_a_missed_call(tw: TwilioEnv) -> None:
    tw.tenant()
    assert tw.webhook(PATH, callback("CA3", "completed")).status_code == 200
    assert (
        tw.webhook(PATH, callback("CA4", "no-answer", direction="outbound-api")).status_code == 200
    )
    tw.step()
    assert tw.fake.sent() == []


def test_a_bad_signature_is_403_and_nothing_is_stored(tw: TwilioEnv) -> None:
    t = tw.tenant()
    form = callback("CA5", "no-answer")
    forged = tw.sign(PATH, form, token="not-the-auth-token")
    assert tw.webhook(PATH, form, signature=forged).status_code == 403
    assert tw.webhook(PATH, form, signature="").status_code == 403
    tw.step()
    assert tw.fake.sent() == []
    assert tw.client.get("/v1/messages", headers=t.auth).json()["items"] == []
    ledger = tw.client.get("/v1/consents", headers=t.auth, params={"phone": CALLER}).json()
    assert ledger["events"] == []
