"""Guarantee 1 (design.md): a STOP committed before the hand-off stops a queued message.

R-FCC-02 (honour revocation before the next send decision) and trap T-11 (queued
messages must be re-checked at dispatch time, not only at scheduling time).
"""

from __future__ import annotations

from tests.conftest import Env

PATIENT = "+13055550142"


def test_R_FCC_02_queued_reminder_is_blocked_at_handoff_after_stop(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    queued = t.send(PATIENT).json()
    assert queued["status"] == "queued"

    stop = t.inbound(PATIENT, "STOP")
    assert stop.json()["classification"] == "opt_out"

    env.step()

    msg = t.get(f"/v1/messages/{queued['id']}").json()
    assert msg["status"] == "blocked"
    assert msg["reasons"] == ["opted_out"]
    bodies = [m.body for m in env.simulator.sent_to(PATIENT)]
    assert all("cleaning" not in b for b in bodies), "the carrier saw the stopped reminder"
    assert len(bodies) == 1 and "unsubscribed" in bodies[0]


def test_R_FCC_02_manual_suppression_also_blocks_a_queued_message(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    queued = t.send(PATIENT).json()
    r = t.post("/v1/suppressions", {"phone": PATIENT, "reason": "asked by phone"})
    assert r.status_code == 201
    env.step()
    assert t.get(f"/v1/messages/{queued['id']}").json()["status"] == "blocked"
    assert env.simulator.sent_to(PATIENT) == []


def test_consented_message_is_delivered_through_the_status_path(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    sent = t.send(PATIENT).json()
    env.step()
    got = t.get(f"/v1/messages/{sent['id']}").json()
    assert got["status"] == "delivered"
    assert [e["status"] for e in got["events"]] == ["queued", "sending", "sent", "delivered"]
    assert got["provider_message_id"]
