"""Every flow with 10DLC registration enforced, as on every carrier deployment (issue 12).

R-R-01: a US long code sends only under an ``approved`` campaign; R-R-05: a toll-free
number only once verified; R-CT-05: only the categories its use case carries. The
gate runs at accept and again at hand-off (design.md, guarantee 1), so a message a
registered number may send is accepted *and* handed off, and a refusal names the
same code, rule and sender at both. Compliance replies (HELP, STOP) always go out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.domain.campaigns import campaign_allows
from frontdesk.domain.messages import PUBLIC_CATEGORIES, Category
from frontdesk.providers.simulator import CarrierSimulator
from tests.api.test_registry import BRAND, CAMPAIGN
from tests.conftest import ADMIN, BUSINESS_NUMBER, T0, Env, Tenant

PHONE = "+13055550142"  # Miami: 11:00 local at T0, inside every quiet-hours window
SECOND_NUMBER = "+14155550102"
THIRD_NUMBER = "+14155550103"
TOLL_FREE = "+18885550100"

BODIES: dict[Category, str] = {
    Category.APPOINTMENT_CONFIRMATION: "Bright Smile Dental: your cleaning is booked for Tue at "
    "3:00 pm. Reply C to confirm. Reply STOP to opt out.",
    Category.APPOINTMENT_REMINDER: "Bright Smile Dental: your cleaning is Tue at 3:00 pm. "
    "Reply C to confirm. Reply STOP to opt out.",
    Category.SERVICE_NOTIFICATION: "Bright Smile Dental: our office is closed Monday for the "
    "holiday. Reply STOP to opt out.",
    Category.TRANSACTIONAL: "Bright Smile Dental: we received your payment for Tuesday's "
    "visit. Reply STOP to opt out.",
    Category.MISSED_CALL_FOLLOWUP: "Bright Smile Dental: sorry we missed your call! How can we "
    "help? Reply STOP to opt out.",
    Category.CONVERSATION: "Bright Smile Dental: yes, we open at 8 am tomorrow. Reply STOP to "
    "opt out.",
    Category.MARKETING: "Bright Smile Dental: whitening 20% off this week! Reply STOP to opt out.",
}

# (use case, sub-use-cases) as TCR registers them; every category each carries must send.
USE_CASES: list[tuple[str, tuple[str, ...]]] = [
    ("MIXED", ("CUSTOMER_CARE", "ACCOUNT_NOTIFICATION")),
    ("MIXED", ("MARKETING", "ACCOUNT_NOTIFICATION")),
    ("CUSTOMER_CARE", ()),
    ("ACCOUNT_NOTIFICATION", ()),
    ("DELIVERY_NOTIFICATION", ()),
    ("MARKETING", ()),
    ("LOW_VOLUME", ()),
]
CARRIED = [
    pytest.param(use_case, subs, category, id=f"{use_case}{'+'.join(('', *subs))}-{category}")
    for use_case, subs in USE_CASES
    for category in sorted(PUBLIC_CATEGORIES)
    if campaign_allows(category, use_case, subs)
]


@pytest.fixture
def enforced(tmp_path: Path) -> Iterator[Env]:
    """The app as a carrier deployment runs it: registration required for new tenants."""
    clock = FixedClock(T0)
    simulator = CarrierSimulator(seed=1)
    db_path = tmp_path / "frontdesk.db"
    settings = Settings(
        database_url=f"sqlite:///{db_path}", admin_token=ADMIN, require_registration=True
    )
    container = build(settings, clock=clock, provider=simulator)
    app = create_app(container, start_worker=False)
    with TestClient(app) as client:
        yield Env(container, client, clock, simulator, db_path)
    container.close()


# --------------------------------------------------------------------------- helpers


def review(env: Env, campaign_id: str, decision: str) -> None:
    r = env.client.post(
        f"/v1/campaigns/{campaign_id}/review", headers=env.admin, json={"decision": decision}
    )
    assert r.status_code == 200, r.text


def campaign(
    env: Env,
    t: Tenant,
    use_case: str = "MIXED",
    sub_use_cases: tuple[str, ...] = ("CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"),
    *,
    number: str = BUSINESS_NUMBER,
    approve: bool = True,
) -> str:
    """Register a campaign under the tenant's brand, approve it, link ``number`` to it."""
    brands = t.get("/v1/brands").json()["items"]
    brand_id = brands[0]["id"] if brands else t.post("/v1/brands", BRAND).json()["id"]
    r = t.post(
        "/v1/campaigns",
        {**CAMPAIGN, "brand_id": brand_id, "use_case": use_case, "sub_use_cases": sub_use_cases},
    )
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.text
    campaign_id: str = r.json()["id"]
    if approve:
        review(env, campaign_id, "approved")
    link(t, number, campaign_id)
    return campaign_id


def link(t: Tenant, number: str, campaign_id: str) -> None:
    r = t.post(
        "/v1/numbers", {"number": number, "provider": "simulator", "campaign_id": campaign_id}
    )
    assert r.status_code in (200, 201), r.text
    assert r.json()["campaign_id"] == campaign_id


def registered(env: Env, **kw: Any) -> Tenant:
    """A tenant whose one number is linked to an approved campaign, and a consented patient."""
    t = env.tenant()
    campaign(env, t, **kw)
    t.consent(PHONE)
    return t


def message(t: Tenant, message_id: str) -> dict[str, Any]:
    got: dict[str, Any] = t.get(f"/v1/messages/{message_id}").json()
    return got


def handed_off(env: Env, t: Tenant, *message_ids: str) -> list[dict[str, Any]]:
    env.step()
    got = [message(t, mid) for mid in message_ids]
    assert all(m["status"] in ("sent", "delivered") for m in got), got
    return got


def check(t: Tenant, category: Category, to: str = PHONE, **extra: Any) -> dict[str, Any]:
    """What accept would decide now for the same message (nothing stored)."""
    r = t.post(
        "/v1/messages/check",
        {"to": to, "body": BODIES[category], "category": category.value, **extra},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


# --------------------------------------------------------------------------- the API paths


def test_the_deployment_default_requires_registration(enforced: Env) -> None:
    t = enforced.tenant()
    path = f"/v1/tenants/{t.id}/enforcement"
    assert enforced.client.get(path, headers=enforced.admin).json()["require_registration"]


@pytest.mark.parametrize("sender", [BUSINESS_NUMBER, None], ids=["from", "no-from"])
def test_R_R_01_a_single_send_from_an_approved_number_is_accepted_and_handed_off(
    enforced: Env, sender: str | None
) -> None:
    t = registered(enforced)
    extra = {"from": sender} if sender else {}
    sent = t.send(PHONE, **extra).json()
    assert sent["status"] == "queued", sent
    assert sent["from"] == BUSINESS_NUMBER
    [after] = handed_off(enforced, t, sent["id"])
    assert after["reasons"] == []
    assert [m.sender for m in enforced.simulator.sent_to(PHONE)] == [BUSINESS_NUMBER]


def test_R_R_01_a_batch_from_an_approved_number_is_accepted_and_handed_off(enforced: Env) -> None:
    t = registered(enforced)
    other = "+13055550143"
    t.consent(other)
    items = [
        {
            "to": PHONE,
            "body": BODIES[Category.APPOINTMENT_REMINDER],
            "category": "appointment_reminder",
        },
        {
            "to": other,
            "from": BUSINESS_NUMBER,
            "body": BODIES[Category.SERVICE_NOTIFICATION],
            "category": "service_notification",
        },
    ]
    r = t.post("/v1/messages/batch", {"messages": items})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [m["status"] for m in results] == ["queued", "queued"], results
    assert {m["from"] for m in results} == {BUSINESS_NUMBER}
    handed_off(enforced, t, *(m["id"] for m in results))
    assert len(enforced.simulator.sent_to(PHONE)) == len(enforced.simulator.sent_to(other)) == 1


@pytest.mark.parametrize(("use_case", "subs", "category"), CARRIED)
def test_R_CT_05_every_category_the_use_case_carries_is_accepted_and_handed_off(
    enforced: Env, use_case: str, subs: tuple[str, ...], category: Category
) -> None:
    t = registered(enforced, use_case=use_case, sub_use_cases=subs)
    t.consent(PHONE, scope="marketing")
    for sender in (BUSINESS_NUMBER, None):
        extra = {"from": sender} if sender else {}
        sent = t.send(PHONE, BODIES[category], category.value, **extra).json()
        assert sent["status"] == "queued", sent
        handed_off(enforced, t, sent["id"])
        enforced.clock.advance(timedelta(hours=25))  # out of the R-Q-04 cap's window


def test_R_CT_05_a_category_the_use_case_does_not_carry_is_refused_at_accept(
    enforced: Env,
) -> None:
    t = registered(enforced)  # MIXED: CUSTOMER_CARE + ACCOUNT_NOTIFICATION
    t.consent(PHONE, scope="marketing")
    sent = t.send(PHONE, BODIES[Category.MARKETING], "marketing").json()
    assert sent["status"] == "blocked" and sent["reasons"] == ["category_not_in_campaign"]
    [why] = sent["explanations"]
    assert why["rule"] == "R-CT-05" and "MIXED" in why["message"]
    enforced.step()
    assert enforced.simulator.sent_to(PHONE) == []


# --------------------------------------------------------------------------- same refusal twice


def test_R_R_01_a_campaign_not_yet_approved_is_refused_at_accept_naming_the_sender(
    enforced: Env,
) -> None:
    t = enforced.tenant()
    campaign(enforced, t, approve=False)
    t.consent(PHONE)
    for extra in ({"from": BUSINESS_NUMBER}, {}):
        sent = t.send(PHONE, **extra).json()
        assert sent["status"] == "blocked" and sent["reasons"] == ["campaign_not_approved"]
        [why] = sent["explanations"]
        assert why["rule"] == "R-R-01"
        assert BUSINESS_NUMBER[-4:] in why["message"] and "submitted" in why["message"]


def test_R_R_01_a_number_moved_to_an_unapproved_campaign_is_blocked_at_hand_off_as_at_accept(
    enforced: Env,
) -> None:
    t = registered(enforced)
    sent = t.send(PHONE).json()
    assert sent["status"] == "queued", sent
    pending = campaign(enforced, t, approve=False)  # relinks the number to a submitted campaign
    at_accept = check(t, Category.APPOINTMENT_REMINDER)
    assert at_accept["reasons"] == ["campaign_not_approved"]

    enforced.step()
    after = message(t, sent["id"])
    assert after["status"] == "blocked"
    assert after["explanations"] == at_accept["explanations"]
    assert "submitted" in after["explanations"][0]["message"]
    assert enforced.simulator.sent_to(PHONE) == []
    review(enforced, pending, "approved")
    assert check(t, Category.APPOINTMENT_REMINDER)["status"] == "queued"


@pytest.mark.parametrize("sender", [BUSINESS_NUMBER, None], ids=["from", "no-from"])
def test_R_R_01_a_campaign_suspended_after_accept_blocks_at_hand_off_as_accept_would(
    enforced: Env, sender: str | None
) -> None:
    t = enforced.tenant()
    campaign_id = campaign(enforced, t)
    t.consent(PHONE)
    extra = {"from": sender} if sender else {}
    sent = t.send(PHONE, **extra).json()
    assert sent["status"] == "queued", sent

    review(enforced, campaign_id, "suspended")  # an MNO suspension (TCR event)
    at_accept = check(t, Category.APPOINTMENT_REMINDER, **extra)
    assert at_accept["reasons"] == ["campaign_not_approved"]
    enforced.step()
    after = message(t, sent["id"])
    assert after["status"] == "blocked" and after["reasons"] == ["campaign_not_approved"]
    assert after["explanations"] == at_accept["explanations"]
    [why] = after["explanations"]
    assert why["rule"] == "R-R-01" and BUSINESS_NUMBER[-4:] in why["message"]
    assert "suspended" in why["message"]
    assert enforced.simulator.sent_to(PHONE) == []


def test_R_R_01_a_suspension_after_a_batch_is_accepted_blocks_every_item_at_hand_off(
    enforced: Env,
) -> None:
    """Many claimed at once read their facts together (services.facts.BatchFacts)."""
    t = enforced.tenant()
    campaign_id = campaign(enforced, t)
    others = ["+13055550143", "+13055550144"]
    for phone in others:
        t.consent(phone)
    body = BODIES[Category.APPOINTMENT_REMINDER]
    items = [{"to": p, "body": body, "category": "appointment_reminder"} for p in others]
    results = t.post("/v1/messages/batch", {"messages": items}).json()["results"]
    assert [m["status"] for m in results] == ["queued", "queued"], results

    review(enforced, campaign_id, "suspended")
    at_accept = check(t, Category.APPOINTMENT_REMINDER, others[0])
    assert at_accept["reasons"] == ["campaign_not_approved"]
    enforced.step()
    for item in results:
        after = message(t, item["id"])
        assert after["status"] == "blocked"
        assert after["explanations"] == at_accept["explanations"]
    assert all(enforced.simulator.sent_to(p) == [] for p in others)


def test_R_CT_05_a_number_moved_to_a_narrower_campaign_is_blocked_at_hand_off_as_at_accept(
    enforced: Env,
) -> None:
    t = registered(enforced)
    sent = t.send(PHONE, BODIES[Category.MISSED_CALL_FOLLOWUP], "missed_call_followup").json()
    assert sent["status"] == "queued", sent
    campaign(enforced, t, "ACCOUNT_NOTIFICATION", ())  # no CUSTOMER_CARE: no follow-ups
    at_accept = check(t, Category.MISSED_CALL_FOLLOWUP)
    assert at_accept["reasons"] == ["category_not_in_campaign"]
    enforced.step()
    after = message(t, sent["id"])
    assert after["status"] == "blocked"
    assert after["explanations"] == at_accept["explanations"]


def test_R_R_05_a_toll_free_number_sends_once_verified(enforced: Env) -> None:
    t = enforced.tenant(number=TOLL_FREE)
    campaign_id = campaign(enforced, t, number=TOLL_FREE, approve=False)
    t.consent(PHONE)
    refused = t.send(PHONE).json()
    assert refused["reasons"] == ["campaign_not_approved"]
    assert refused["explanations"][0]["rule"] == "R-R-05"
    review(enforced, campaign_id, "approved")
    sent = t.send(PHONE).json()
    assert sent["status"] == "queued" and sent["from"] == TOLL_FREE
    handed_off(enforced, t, sent["id"])


# --------------------------------------------------------------------------- the sender chosen


def test_R_R_01_without_from_the_sender_is_a_number_whose_approved_campaign_carries_it(
    enforced: Env,
) -> None:
    t = enforced.tenant()  # BUSINESS_NUMBER first, on a campaign still under review
    campaign(enforced, t, approve=False)
    campaign(enforced, t, "ACCOUNT_NOTIFICATION", (), number=SECOND_NUMBER)
    campaign(enforced, t, "MARKETING", (), number=THIRD_NUMBER)
    t.consent(PHONE)
    t.consent(PHONE, scope="marketing")

    reminder = t.send(PHONE).json()
    offer = t.send(PHONE, BODIES[Category.MARKETING], "marketing").json()
    assert (reminder["status"], reminder["from"]) == ("queued", SECOND_NUMBER), reminder
    assert (offer["status"], offer["from"]) == ("queued", THIRD_NUMBER), offer
    handed_off(enforced, t, reminder["id"], offer["id"])
    assert [m.sender for m in enforced.simulator.sent_to(PHONE)] == [SECOND_NUMBER, THIRD_NUMBER]

    # no approved campaign carries follow-ups: refused for the category, not the approval
    followup = t.send(PHONE, BODIES[Category.MISSED_CALL_FOLLOWUP], "missed_call_followup")
    assert followup.json()["reasons"] == ["category_not_in_campaign"]


def test_R_R_01_a_tenant_with_no_approved_campaign_is_refused_naming_its_number(
    enforced: Env,
) -> None:
    t = enforced.tenant()
    t.consent(PHONE)
    sent = t.send(PHONE).json()
    assert sent["reasons"] == ["campaign_not_approved"]
    assert "linked to no campaign" in sent["explanations"][0]["message"]


# --------------------------------------------------------------------------- the other flows


def test_R_C_06_a_missed_call_text_back_goes_out_with_registration_on(enforced: Env) -> None:
    t = enforced.tenant()
    campaign(enforced, t)
    r = t.post("/v1/calls/missed", {"from": PHONE, "to": BUSINESS_NUMBER})
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["outcome"] == "texted" and call["message"]["status"] == "queued", call
    handed_off(enforced, t, call["message"]["id"])
    [text] = enforced.simulator.sent_to(PHONE)
    assert text.sender == BUSINESS_NUMBER and "missed your call" in text.body


def test_an_appointment_confirmation_and_reminder_go_out_with_registration_on(
    enforced: Env,
) -> None:
    t = registered(enforced)
    starts = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)  # Fri 14:00 in Miami
    r = t.post("/v1/appointments", {"phone": PHONE, "starts_at": starts.isoformat()})
    assert r.status_code == 201, r.text
    texts = r.json()["messages"]
    assert [m["status"] for m in texts] == ["queued", "scheduled", "scheduled"], texts
    assert {m["from"] for m in texts} == {BUSINESS_NUMBER}
    handed_off(enforced, t, texts[0]["id"])
    enforced.clock.set(datetime.fromisoformat(texts[1]["send_at"].replace("Z", "+00:00")))
    handed_off(enforced, t, texts[1]["id"])
    bodies = [m.body for m in enforced.simulator.sent_to(PHONE)]
    assert len(bodies) == 2 and "reminder of your visit" in bodies[1]


def test_receptionist_and_staff_replies_go_out_with_registration_on(enforced: Env) -> None:
    t = enforced.tenant()
    campaign(enforced, t)
    got = t.inbound(PHONE, "what time do you open tomorrow").json()
    assert got["actions"] == ["replied"], got
    handed_off(enforced, t, *got["replies"])
    r = t.post(f"/v1/conversations/{PHONE}/messages", {"body": "Hi, this is Dana. 8 am!"})
    assert r.status_code == 201 and r.json()["status"] == "queued", r.text
    handed_off(enforced, t, r.json()["id"])
    assert [m.sender for m in enforced.simulator.sent_to(PHONE)] == [BUSINESS_NUMBER] * 2


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "not-approved"])
def test_R_K_03_a_HELP_and_a_STOP_are_answered_with_registration_on(
    enforced: Env, approved: bool
) -> None:
    t = enforced.tenant()
    campaign(enforced, t, approve=approved)
    for word in ("HELP", "STOP"):
        got = t.inbound(PHONE, word).json()
        assert "replied" in got["actions"], got
        handed_off(enforced, t, *got["replies"])
    assert len(enforced.simulator.sent_to(PHONE)) == 2
