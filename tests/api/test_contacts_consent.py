"""Contacts, the consent ledger (R-C-01..05, R-FCC-07) and the suppression list (R-D-02, R-B-02)."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Env

PHONE = "+13055550142"


def test_contact_is_created_and_updated_with_only_the_fields_given(env: Env) -> None:
    t = env.tenant()
    r = env.client.put(f"/v1/contacts/{PHONE}", headers=t.auth, json={"name": "Sam", "state": "fl"})
    assert r.status_code == 200
    assert r.json()["state"] == "FL" and r.json()["opted_out"] is False
    r = env.client.put(f"/v1/contacts/{PHONE}", headers=t.auth, json={"postal_code": "33101"})
    assert r.json()["name"] == "Sam" and r.json()["postal_code"] == "33101"
    assert t.get("/v1/contacts/(305) 555-0142").json()["phone"] == PHONE


def test_R_C_02_written_marketing_consent_shows_in_the_contacts_state(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE, scope="marketing")
    c = t.get(f"/v1/contacts/{PHONE}").json()
    assert c["consents"]["marketing"]["granted"] and c["consents"]["marketing"]["written"]


def test_the_ledger_is_append_only_oldest_first(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "STOP")
    t.inbound(PHONE, "START")
    events = t.get("/v1/consents", params={"phone": PHONE}).json()["events"]
    assert [e["kind"] for e in events] == ["granted", "revoked", "granted"]
    assert events[1]["method"] == "inbound_sms" and events[2]["method"] == "sms_keyword"


def test_R_FCC_07_new_web_consent_after_a_stop_lifts_it_but_a_verbal_note_does_not(
    env: Env,
) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "STOP")
    env.clock.advance(timedelta(hours=1))
    r = t.post(
        "/v1/consents",
        {
            "phone": PHONE,
            "scope": "informational",
            "method": "verbal",
            "captured_at": env.clock.now().isoformat(),
            "evidence": {},
        },
    )
    assert r.status_code == 201
    assert t.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is True
    # A form captured *before* the STOP does not lift it either.
    t.post(
        "/v1/consents",
        {
            "phone": PHONE,
            "scope": "informational",
            "method": "web_form",
            "captured_at": (env.clock.now() - timedelta(days=2)).isoformat(),
            "evidence": {"ip": "1.2.3.4", "user_agent": "x"},
        },
    )
    assert t.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is True
    t.post(
        "/v1/consents",
        {
            "phone": PHONE,
            "scope": "informational",
            "method": "web_form",
            "captured_at": env.clock.now().isoformat(),
            "evidence": {"ip": "1.2.3.4", "user_agent": "x"},
        },
    )
    assert t.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is False
    assert t.send(PHONE).json()["status"] == "queued"


def test_R_B_02_manual_suppression_is_listed_and_removable(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    r = t.post("/v1/suppressions", {"phone": PHONE, "reason": "asked at the desk"})
    assert r.status_code == 201 and r.json()["removable"] is True
    listed = t.get("/v1/suppressions").json()
    assert listed["total"] == 1 and listed["items"][0]["phone"] == PHONE
    assert t.send(PHONE).json()["reasons"] == ["opted_out"]
    r = env.client.delete(f"/v1/suppressions/{PHONE}", headers=t.auth)
    assert r.status_code == 200 and r.json()["lifted"] == 1
    assert t.send(PHONE).json()["status"] == "queued"


def test_R_FCC_07_a_recipients_opt_out_cannot_be_deleted_by_the_business(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "STOP")
    r = env.client.delete(f"/v1/suppressions/{PHONE}", headers=t.auth)
    assert r.status_code == 409
    assert t.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is True
    assert env.client.delete("/v1/suppressions/+12125550187", headers=t.auth).status_code == 404


def test_marketing_only_suppression_keeps_reminders(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE, scope="marketing")
    t.post("/v1/suppressions", {"phone": PHONE, "reason": "no promos", "scope": "marketing"})
    assert t.send(PHONE).json()["status"] == "queued"
    promo = "Bright Smile Dental: 20% off whitening! Reply STOP to opt out."
    assert t.send(PHONE, promo, category="marketing").json()["reasons"] == ["opted_out"]


def test_consent_and_contact_changes_are_in_the_verified_audit_chain(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "STOP")
    actions = [e["action"] for e in t.get("/v1/audit").json()["items"]]
    assert "consent.granted" in actions and "consent.revoked" in actions
    assert "suppression.added" in actions
    assert t.get("/v1/audit/verify").json()["ok"] is True
