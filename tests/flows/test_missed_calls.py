"""Missed-call text-back (R-C-06): one informational text per missed call, per caller
per window, never to a withheld, short-code, toll-free or landline caller or to
someone who opted out; the call is the consent evidence, limited to this follow-up
and the conversation it starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import BUSINESS_NUMBER, Env, Tenant

CALLER = "+13055550142"


def missed(t: Tenant, caller: str = CALLER, **extra: Any) -> dict[str, Any]:
    r = t.post("/v1/calls/missed", {"from": caller, "to": BUSINESS_NUMBER, **extra})
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def test_R_C_06_two_calls_in_a_minute_get_one_text_back(env: Env) -> None:
    t = env.tenant()
    first = missed(t)
    assert first["outcome"] == "texted"
    assert first["message"]["status"] == "queued"
    assert first["message"]["category"] == "missed_call_followup"
    env.clock.advance(timedelta(seconds=40))
    second = missed(t)
    assert second["outcome"] == "deduplicated"
    assert second["message"] is None

    env.step()
    texts = env.simulator.sent_to(CALLER)
    assert len(texts) == 1
    body = texts[0].body
    assert body.startswith("Bright Smile Dental:") and "Reply STOP to opt out" in body
    assert "missed your call" in body


def test_R_C_06_a_call_after_the_window_gets_its_own_text(env: Env) -> None:
    t = env.tenant()
    assert missed(t)["outcome"] == "texted"
    env.clock.advance(timedelta(minutes=11))
    assert missed(t)["outcome"] == "texted"
    env.step()
    assert len(env.simulator.sent_to(CALLER)) == 2


def test_R_C_06_the_window_is_a_tenant_setting(env: Env) -> None:
    t = env.tenant()
    r = env.client.patch(
        "/v1/tenant/settings", headers=t.auth, json={"missed_call": {"dedupe_minutes": 60}}
    )
    assert r.status_code == 200, r.text
    assert missed(t)["outcome"] == "texted"
    env.clock.advance(timedelta(minutes=30))
    assert missed(t)["outcome"] == "deduplicated"


def test_R_C_06_the_call_is_consent_evidence_limited_to_the_follow_up(env: Env) -> None:
    t = env.tenant()
    call = missed(t)
    ledger = t.get("/v1/consents", params={"phone": CALLER}).json()
    [event] = ledger["events"]
    assert event["method"] == "inbound_call" and event["scope"] == "informational"
    assert sorted(event["limited_to"]) == ["conversation", "missed_call_followup"]
    assert event["evidence"]["call_id"] == call["id"]
    reminder = t.send(CALLER).json()
    assert reminder["status"] == "blocked" and "no_consent" in reminder["reasons"]


NOBODY_TO_TEXT = [
    ("anonymous", "withheld_caller_id"),
    ("+266696687", "withheld_caller_id"),  # ANONYMOUS on the keypad, as Twilio sends it
    ("Restricted", "withheld_caller_id"),
    ("", "withheld_caller_id"),
    ("72345", "short_code"),
    ("+18005550199", "toll_free"),
    ("+442079460000", "landline"),
]


def test_R_C_06_callers_nobody_can_text_get_nothing(env: Env) -> None:
    t = env.tenant()
    for caller, outcome in NOBODY_TO_TEXT:
        got = missed(t, caller)
        assert (caller, got["outcome"], got["message"]) == (caller, outcome, None)
    env.step()
    assert env.simulator.sent == []
    assert t.get("/v1/messages").json()["items"] == []


def test_R_C_06_a_caller_who_opted_out_gets_nothing(env: Env) -> None:
    t = env.tenant()
    t.consent(CALLER)
    assert t.inbound(CALLER, "STOP").json()["classification"] == "opt_out"
    env.step()
    got = missed(t)
    assert got["outcome"] == "opted_out" and got["message"] is None
    env.step()
    assert [m.body for m in env.simulator.sent_to(CALLER) if "missed" in m.body] == []


def test_R_C_06_after_hours_the_text_says_when_the_office_opens(env: Env) -> None:
    t = env.tenant()
    env.clock.set(datetime(2026, 3, 11, 3, 0, tzinfo=UTC))  # Tue 23:00 in New York
    got = missed(t)
    assert got["outcome"] == "texted"
    assert got["message"]["status"] == "queued"  # a reply to the caller's own contact
    assert "closed right now" in got["message"]["body"]
    assert "tomorrow at 8:00 am" in got["message"]["body"]


def test_R_C_06_the_same_call_reported_twice_is_one_call(env: Env) -> None:
    t = env.tenant()
    a = t.post("/v1/calls/missed", {"from": CALLER, "to": BUSINESS_NUMBER, "id": "call-1"})
    b = t.post("/v1/calls/missed", {"from": CALLER, "to": BUSINESS_NUMBER, "id": "call-1"})
    assert a.status_code == 201 and b.status_code == 200
    assert b.json()["duplicate"] is True and b.json()["id"] == a.json()["id"]


def test_missed_call_to_a_number_the_tenant_does_not_own_is_refused(env: Env) -> None:
    t = env.tenant()
    r = t.post("/v1/calls/missed", {"from": CALLER, "to": "+14155550111"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "sender_not_owned"
