"""Export of everything held about a number, and erasure that still honours an opt-out.

Mission §6; R-D-04 (proof of consent and of each opt-out is kept), R-B-01 (proof
of consent per contact), R-D-02 (the suppression list is the DNC record), R-D-05
(no tenant sees another's data).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Env

PATIENT = "+13055550142"
OTHER = "+13055550143"


@pytest.fixture
def cenv(env: Env) -> Env:
    return env


def test_R_D_04_export_holds_the_consent_proof_of_each_message(cenv: Env) -> None:
    t = cenv.tenant()
    assert (
        cenv.client.put(
            f"/v1/contacts/{PATIENT}", headers=t.auth, json={"name": "Ana Ruiz", "state": "FL"}
        ).status_code
        == 200
    )
    grant = t.consent(PATIENT, form="https://brightsmile.example/book")
    sent = t.send(PATIENT).json()
    cenv.step()

    r = t.get(f"/v1/contacts/{PATIENT}/export")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["phone"] == PATIENT
    assert out["contact"]["name"] == "Ana Ruiz"
    assert [e["id"] for e in out["consent"]["events"]] == [grant["id"]]
    assert out["consent"]["events"][0]["evidence"]["ip"] == "203.0.113.9"

    # R-D-04: message -> the consent event in force when it left -> its capture evidence.
    [proof] = out["consent_proof"]
    assert proof["message_id"] == sent["id"]
    assert proof["covered"] is True
    assert proof["scope_needed"] == "informational"
    assert proof["consent_event_id"] == grant["id"]
    assert proof["consent"]["evidence"]["form"] == "https://brightsmile.example/book"
    assert proof["consent"]["method"] == "web_form"

    [msg] = out["messages"]
    assert msg["body"].startswith("Bright Smile Dental")
    assert [e["status"] for e in msg["events"]] == ["queued", "sending", "sent", "delivered"]
    actions = {a["action"] for a in out["audit"]}
    assert "consent.granted" in actions
    assert out["opted_out"] is False

    # A back-dated consent recorded after the message left does not prove it.
    cenv.clock.advance(timedelta(hours=2))
    late = t.consent(PATIENT, scope="marketing")  # captured a day ago, recorded now
    [proof] = t.get(f"/v1/contacts/{PATIENT}/export").json()["consent_proof"]
    assert proof["consent_event_id"] == grant["id"] != late["id"]


def test_export_includes_the_opt_out_and_the_inbound_text(cenv: Env) -> None:
    t = cenv.tenant()
    t.consent(PATIENT)
    reminder = t.send(PATIENT).json()
    cenv.step()
    cenv.clock.advance(timedelta(minutes=10))
    t.inbound(PATIENT, "STOP texting me please")
    cenv.step()
    out = t.get(f"/v1/contacts/{PATIENT}/export").json()
    [sent] = [p for p in out["consent_proof"] if p["message_id"] == reminder["id"]]
    assert sent["covered"] is True, "the opt-out came after the reminder left"
    assert out["opted_out"] is True
    assert [s["reason"] for s in out["suppressions"]] == ["opt_out"]
    assert [e["kind"] for e in out["consent"]["events"]] == ["granted", "revoked"]
    assert [i["body"] for i in out["inbound"]] == ["STOP texting me please"]
    confirmation = [p for p in out["consent_proof"] if p["scope_needed"] is None]
    assert len(confirmation) == 1 and confirmation[0]["covered"] is True


def test_mission_6_erasure_removes_bodies_but_the_number_stays_suppressed(cenv: Env) -> None:
    t = cenv.tenant()
    cenv.client.put(
        f"/v1/contacts/{PATIENT}",
        headers=t.auth,
        json={"name": "Ana Ruiz", "postal_code": "33101", "timezone": "America/New_York"},
    )
    t.consent(PATIENT)
    reminder = t.send(PATIENT).json()
    cenv.step()
    t.inbound(PATIENT, "STOP")
    cenv.step()
    ledger_before = t.get("/v1/consents", params={"phone": PATIENT}).json()["events"]

    r = cenv.client.delete(f"/v1/contacts/{PATIENT}", headers=t.auth)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["suppressed"] is True and out["opted_out"] is True
    assert out["kept"] == {"consent_events": 2, "suppressions": 1}
    assert "R-D-04" in out["retained"]

    contact = t.get(f"/v1/contacts/{PATIENT}").json()
    assert (contact["name"], contact["postal_code"], contact["timezone"]) == (None, None, None)
    assert contact["opted_out"] is True
    assert t.get(f"/v1/messages/{reminder['id']}").json()["body"] == "[erased]"
    export = t.get(f"/v1/contacts/{PATIENT}/export").json()
    assert {m["body"] for m in export["messages"]} == {"[erased]"}
    assert [i["body"] for i in export["inbound"]] == ["[erased]"]
    # The ledger is evidence: unchanged, evidence and all (R-D-04).
    assert t.get("/v1/consents", params={"phone": PATIENT}).json()["events"] == ledger_before

    again = t.send(PATIENT).json()
    assert again["status"] == "blocked" and again["reasons"] == ["opted_out"]
    erased = [
        a
        for a in t.get("/v1/audit", params={"limit": 500}).json()["items"]
        if a["action"] == "contact.erased"
    ]
    assert len(erased) == 1 and erased[0]["subject"] == PATIENT[-4:]
    assert erased[0]["data"]["suppressed"] is True
    assert t.get("/v1/audit/verify").json()["ok"] is True


def test_erasure_cancels_a_scheduled_message_and_removes_media(cenv: Env) -> None:
    t = cenv.tenant()
    t.consent(PATIENT)
    later = t.send(PATIENT, send_at=(cenv.clock.now() + timedelta(days=1)).isoformat()).json()
    assert later["status"] == "scheduled"
    card = "https://files.example/insurance-card.jpg"
    t.inbound(PATIENT, "Here is my insurance card", media_urls=[card])
    before = t.get(f"/v1/contacts/{PATIENT}/export").json()
    assert [i["media_urls"] for i in before["inbound"]] == [[card]]

    out = cenv.client.delete(f"/v1/contacts/{PATIENT}", headers=t.auth).json()
    assert out["canceled_pending"] >= 1
    assert out["suppressed"] is False
    msg = t.get(f"/v1/messages/{later['id']}").json()
    assert (msg["status"], msg["body"]) == ("canceled", "[erased]")
    assert "erased" in msg["reasons"]
    after = t.get(f"/v1/contacts/{PATIENT}/export").json()
    assert [(i["body"], i["media_urls"]) for i in after["inbound"]] == [("[erased]", [])]
    cenv.clock.advance(timedelta(days=2))
    cenv.step()
    assert cenv.simulator.sent_to(PATIENT) == []


def test_R_D_05_export_and_erasure_stay_inside_the_tenant(cenv: Env) -> None:
    a = cenv.tenant()
    b = cenv.tenant("Other Clinic", number="+14155550111")
    a.consent(PATIENT)
    assert b.get(f"/v1/contacts/{PATIENT}/export").status_code == 404
    assert cenv.client.delete(f"/v1/contacts/{PATIENT}", headers=b.auth).status_code == 404
    assert a.get(f"/v1/contacts/{PATIENT}/export").status_code == 200
    assert a.get(f"/v1/contacts/{OTHER}/export").status_code == 404

    r = a.get("/v1/contacts/12/export")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "phone"
