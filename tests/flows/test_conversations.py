"""Conversations (receptionist.md §2.3): one thread per contact in time order; staff
replies pass the gate like everything else (blocked after STOP, R-FCC-02); a staff
takeover pauses automated replies (item 9); two unrecognised texts hand off (item 8)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Env, Tenant
from tests.receptionist.fake_openai import Answer, fake_openai, nlu

PATIENT = "+13055550142"
QUESTION = "what time do you open tomorrow"


def text(env: Env, t: Tenant, body: str) -> dict[str, Any]:
    env.clock.advance(timedelta(minutes=1))
    r = t.inbound(PATIENT, body)
    assert r.status_code == 200, r.text
    env.step()
    return r.json()  # type: ignore[no-any-return]


def test_the_receptionist_answers_a_question_and_the_thread_reads_in_order(env: Env) -> None:
    t = env.tenant()
    got = text(env, t, QUESTION)
    assert got["intent"] == "ask_hours" and got["actions"] == ["replied"]
    [answer] = env.simulator.sent_to(PATIENT)
    assert answer.body.startswith("Bright Smile Dental:")
    assert "Reply STOP" in answer.body  # R-K-08: first message to this contact
    ledger = t.get("/v1/consents", params={"phone": PATIENT}).json()["events"]
    assert [(e["method"], e["limited_to"]) for e in ledger] == [("inbound_sms", ["conversation"])]

    thread = t.get(f"/v1/conversations/{PATIENT}").json()
    assert [(m["direction"], m["body"]) for m in thread["messages"]] == [
        ("inbound", QUESTION),
        ("outbound", answer.body),
    ]
    assert thread["messages"][1]["automated"] is True
    listed = t.get("/v1/conversations").json()["items"]
    assert [c["phone"] for c in listed] == [PATIENT]


def test_staff_takeover_pauses_ai_replies_until_released(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    r = t.post(f"/v1/conversations/{PATIENT}/takeover")
    assert r.status_code == 200 and r.json()["ai_paused"] is True
    got = text(env, t, QUESTION)
    assert got["actions"] == ["routed_to_staff"]
    assert env.simulator.sent_to(PATIENT) == []

    r = t.post(f"/v1/conversations/{PATIENT}/release")
    assert r.status_code == 200 and r.json()["ai_paused"] is False
    assert "replied" in text(env, t, QUESTION)["actions"]
    assert len(env.simulator.sent_to(PATIENT)) == 1


def test_a_staff_reply_pauses_the_ai_and_passes_the_gate(env: Env) -> None:
    t = env.tenant()
    text(env, t, QUESTION)
    r = t.post(f"/v1/conversations/{PATIENT}/messages", {"body": "Hi, this is Dana. 8 am!"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "queued" and r.json()["category"] == "conversation"
    env.step()
    assert text(env, t, "thanks, and do you do whitening?")["actions"] == ["routed_to_staff"]
    assert [m.body for m in env.simulator.sent_to(PATIENT)][-1] == "Hi, this is Dana. 8 am!"


def test_R_FCC_02_a_staff_reply_after_STOP_is_blocked(env: Env) -> None:
    t = env.tenant()
    text(env, t, QUESTION)
    assert text(env, t, "STOP")["classification"] == "opt_out"
    sent_before = len(env.simulator.sent_to(PATIENT))
    r = t.post(f"/v1/conversations/{PATIENT}/messages", {"body": "Sorry to see you go!"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "blocked" and r.json()["reasons"] == ["opted_out"]
    env.step()
    assert len(env.simulator.sent_to(PATIENT)) == sent_before


def test_two_unrecognised_messages_in_a_row_hand_off(env: Env) -> None:
    t = env.tenant()
    first = text(env, t, "qwerty zxcv")
    assert first["intent"] == "other" and "handed_off" not in first["actions"]
    second = text(env, t, "blorp fnarg")
    assert "handed_off" in second["actions"]
    conv = t.get(f"/v1/conversations/{PATIENT}").json()
    assert conv["owner"] == "staff" and conv["state"] == "handed_off"
    third = text(env, t, QUESTION)
    assert third["actions"] == ["routed_to_staff"]


def test_no_ai_reply_to_an_opted_out_number(env: Env) -> None:
    t = env.tenant()
    text(env, t, "STOP")
    got = text(env, t, QUESTION)
    assert "replied" not in got["actions"]
    assert [m.body for m in env.simulator.sent_to(PATIENT) if "unsubscribed" not in m.body] == []


def test_an_unknown_thread_is_not_found(env: Env) -> None:
    t = env.tenant()
    assert t.get(f"/v1/conversations/{PATIENT}").status_code == 404
    assert t.post(f"/v1/conversations/{PATIENT}/release").status_code == 404
    assert t.get("/v1/conversations/not-a-number").status_code == 422


def test_an_optional_llm_reads_what_the_rules_do_not(env: Env) -> None:
    t = env.tenant()
    with fake_openai(lambda _: Answer(content=nlu("ask_hours"))) as server:
        r = env.client.patch(
            "/v1/tenant/settings",
            headers=t.auth,
            json={"llm": {"base_url": server.base_url, "model": "fake-model"}},
        )
        assert r.status_code == 200, r.text
        got = text(env, t, "yo when r u guys around")
        assert got["intent"] == "ask_hours" and "replied" in got["actions"]
        assert len(server.requests) == 1
        user = server.requests[0]["messages"][-1]["content"]
        assert user == '<sms>"yo when r u guys around"</sms>'  # quoted, untrusted data
        t.post(f"/v1/conversations/{PATIENT}/takeover")
        assert text(env, t, "zorp blat")["actions"] == ["routed_to_staff"]
        assert len(server.requests) == 1, "a paused thread never reaches the model"
