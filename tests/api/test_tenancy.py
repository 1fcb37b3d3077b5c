"""A tenant key sees only its own tenant's data; another tenant's id answers 404 (api.md).

R-C-04 / T-19: consent collected by one tenant is not consent for another.
"""

from __future__ import annotations

from tests.conftest import Env

PHONE = "+13055550142"


def test_another_tenants_contact_and_message_are_404(env: Env) -> None:
    a = env.tenant("Bright Smile Dental", number="+14155550100")
    b = env.tenant("Ace Plumbing", number="+14155550101")
    a.consent(PHONE)
    msg = a.send(PHONE).json()
    assert b.get(f"/v1/messages/{msg['id']}").status_code == 404
    assert b.post(f"/v1/messages/{msg['id']}/cancel").status_code == 404
    assert b.get(f"/v1/contacts/{PHONE}").status_code == 404
    assert b.get("/v1/messages").json()["items"] == []
    assert b.get("/v1/consents", params={"phone": PHONE}).json()["events"] == []


def test_T_19_consent_of_one_tenant_does_not_cover_another(env: Env) -> None:
    a = env.tenant("Bright Smile Dental", number="+14155550100")
    b = env.tenant("Ace Plumbing", number="+14155550101")
    a.consent(PHONE)
    assert b.send(PHONE, body="Ace Plumbing: your visit is at 3. Reply STOP to opt out.").json()[
        "reasons"
    ] == ["no_consent"]


def test_a_stop_to_one_tenant_does_not_suppress_for_another(env: Env) -> None:
    a = env.tenant("Bright Smile Dental", number="+14155550100")
    b = env.tenant("Ace Plumbing", number="+14155550101")
    a.consent(PHONE)
    b.consent(PHONE)
    a.inbound(PHONE, "STOP")
    assert a.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is True
    assert b.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is False


def test_sending_from_a_number_the_tenant_does_not_own_is_refused(env: Env) -> None:
    a = env.tenant("Bright Smile Dental", number="+14155550100")
    env.tenant("Ace Plumbing", number="+14155550101")
    a.consent(PHONE)
    r = a.send(PHONE, **{"from": "+14155550101"}).json()
    assert r["status"] == "blocked" and "sender_not_owned" in r["reasons"]
