"""The SMS Messaging Policy and 10DLC registration through HTTP (api.md; R-R-01..R-R-03,
R-CT-05, R-B-03): brand, campaign with problems stays draft, a fixed campaign is
submitted, the operator approves it, a number is linked; tenancy and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.services.policy import POLICY_VERSION
from tests.conftest import Env, Tenant

BRAND: dict[str, Any] = {
    "legal_name": "Bright Smile Dental LLC",
    "ein": "12-3456789",
    "entity_type": "PRIVATE_PROFIT",
    "vertical": "HEALTHCARE",
    "website": "https://brightsmile.example",
    "email": "hello@brightsmile.example",
    "phone": "(415) 555-0199",
}
CAMPAIGN: dict[str, Any] = {
    "use_case": "MIXED",
    "sub_use_cases": ["CUSTOMER_CARE", "ACCOUNT_NOTIFICATION"],
    "description": (
        "Bright Smile Dental texts its patients appointment confirmations, reminders and "
        "follow-ups to missed calls."
    ),
    "message_flow": (
        "Patients opt in on the booking form at https://brightsmile.example/book by ticking an "
        "unticked SMS consent box, or by texting JOIN to our number."
    ),
    "sample_messages": [
        "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm. "
        "Reply STOP to opt out.",
        "Bright Smile Dental: sorry we missed your call! How can we help? Reply STOP to opt out.",
    ],
    "help_message": (
        "Bright Smile Dental: call (415) 555-0199 or email hello@brightsmile.example. "
        "Reply STOP to opt out."
    ),
    "optout_message": "Bright Smile Dental: you are unsubscribed and will not receive more texts.",
    "embedded_links": False,
    "embedded_phone": False,
    "age_gated": False,
    "direct_lending": False,
}


@pytest.fixture
def reg(env: Env) -> Env:
    """The shared app (the registry routes are part of it)."""
    return env


def _problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def _brand(t: Tenant, **change: Any) -> dict[str, Any]:
    r = t.post("/v1/brands", {**BRAND, **change})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _campaign(t: Tenant, brand_id: str, **change: Any) -> dict[str, Any]:
    r = t.post("/v1/campaigns", {**CAMPAIGN, "brand_id": brand_id, **change})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _audit_actions(t: Tenant) -> list[str]:
    return [e["action"] for e in t.get("/v1/audit").json()["items"]]


def test_registration_from_brand_to_a_linked_number(reg: Env) -> None:
    t = reg.tenant()
    brand = _brand(t)
    assert brand["status"] == "registered" and brand["problems"] == []
    assert brand["phone"] == "+14155550199"

    shortener = "Bright Smile Dental: book at bit.ly/bsd Reply STOP to opt out."
    draft = _campaign(t, brand["id"], sample_messages=[CAMPAIGN["sample_messages"][0], shortener])
    assert draft["status"] == "draft"
    assert {p["code"] for p in draft["problems"]} == {
        "sample_public_shortener",
        "embedded_links_undeclared",
    }
    assert all("R-CT-03" in p["message"] for p in draft["problems"])
    refused = _problem(t.post(f"/v1/campaigns/{draft['id']}/submit"), 409, "sample_messages.1")
    assert "sample_public_shortener" in [e["code"] for e in refused["errors"]]
    assert t.get(f"/v1/campaigns/{draft['id']}").json()["status"] == "draft"

    fixed = _campaign(t, brand["id"])
    assert fixed["status"] == "submitted" and fixed["problems"] == []
    assert _problem(t.post(f"/v1/campaigns/{fixed['id']}/submit"), 409)

    r = reg.client.post(
        f"/v1/campaigns/{fixed['id']}/review",
        headers=reg.admin,
        json={"decision": "approved", "note": "TCR vetted"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["review_note"] == "TCR vetted"

    r = t.post(f"/v1/campaigns/{fixed['id']}/numbers", {"number": "(415) 555-0100"})
    assert r.status_code == 200, r.text  # the tenant's existing number, now linked
    assert r.json() == {
        "id": r.json()["id"],
        "number": "+14155550100",
        "provider": "simulator",
        "campaign_id": fixed["id"],
        "carrier_account_id": None,
    }
    r = t.post(f"/v1/campaigns/{fixed['id']}/numbers", {"number": "+14155550102"})
    assert r.status_code == 201, r.text
    campaign = t.get(f"/v1/campaigns/{fixed['id']}").json()
    assert campaign["numbers"] == ["+14155550100", "+14155550102"]
    assert "+14155550102" in t.get("/v1/tenant").json()["numbers"]

    listed = t.get("/v1/campaigns", params={"brand_id": brand["id"]}).json()["items"]
    assert {c["id"]: c["status"] for c in listed} == {draft["id"]: "draft", fixed["id"]: "approved"}
    assert [b["id"] for b in t.get("/v1/brands").json()["items"]] == [brand["id"]]
    assert t.get(f"/v1/brands/{brand['id']}").json()["legal_name"] == BRAND["legal_name"]

    actions = _audit_actions(t)
    for action in ("brand.created", "campaign.created", "campaign.reviewed", "number.linked"):
        assert action in actions
    assert actions.count("number.linked") == 2
    assert t.get("/v1/audit/verify").json()["ok"] is True


def test_R_R_02_brand_identity_problems_leave_it_unverified_and_its_campaigns_draft(
    reg: Env,
) -> None:
    t = reg.tenant()
    brand = _brand(t, email="brightsmile@gmail.com")
    assert brand["status"] == "unverified"
    assert [p["code"] for p in brand["problems"]] == ["free_mail_domain"]
    campaign = _campaign(t, brand["id"])
    assert campaign["status"] == "draft"
    assert [p["code"] for p in campaign["problems"]] == ["brand_unverified"]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"entity_type": "LLC"}, "entity_type", "invalid_entity_type"),
        ({"vertical": "DENTAL"}, "vertical", "invalid_vertical"),
        ({"ein": "123-45-6789"}, "ein", "ein_invalid_format"),
        ({"ein": None}, "ein", "ein_required"),
        ({"phone": "12"}, "phone", "invalid_phone"),
        ({"website": "brightsmile"}, "website", "invalid_website"),
        ({"legal_name": 7}, "legal_name", "string_type"),
        ({"nickname": "BSD"}, "nickname", "extra_forbidden"),
    ],
)
def test_bad_brand_input_is_422_naming_the_field_and_stores_nothing(
    reg: Env, change: dict[str, Any], field: str, code: str
) -> None:
    t = reg.tenant()
    body = _problem(t.post("/v1/brands", {**BRAND, **change}), 422, field)
    assert code in [e["code"] for e in body["errors"]]
    assert t.get("/v1/brands").json()["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"use_case": "APPOINTMENTS"}, "use_case"),
        ({"sub_use_cases": ["CUSTOMER_CARE", "MIXED"]}, "sub_use_cases"),
        ({"sample_messages": "one sample"}, "sample_messages"),
        ({"embedded_links": "maybe"}, "embedded_links"),
        ({"brand_id": "brd_nope"}, "brand_id"),
    ],
)
def test_bad_campaign_input_is_422_naming_the_field(
    reg: Env, change: dict[str, Any], field: str
) -> None:
    t = reg.tenant()
    brand = _brand(t)
    _problem(t.post("/v1/campaigns", {**CAMPAIGN, "brand_id": brand["id"], **change}), 422, field)
    assert t.get("/v1/campaigns").json()["items"] == []


def test_review_is_admin_only(reg: Env) -> None:
    t = reg.tenant()
    campaign = _campaign(t, _brand(t)["id"])
    path = f"/v1/campaigns/{campaign['id']}/review"
    _problem(t.post(path, {"decision": "approved"}), 403)
    _problem(reg.client.post(path, json={"decision": "approved"}), 401)
    assert t.get(f"/v1/campaigns/{campaign['id']}").json()["status"] == "submitted"
    assert "campaign.reviewed" not in _audit_actions(t)


def test_review_follows_the_campaign_lifecycle(reg: Env) -> None:
    t = reg.tenant()
    brand = _brand(t)
    draft = _campaign(t, brand["id"], description="Too short.")
    assert draft["status"] == "draft"

    def review(cid: str, decision: str) -> Any:
        return reg.client.post(
            f"/v1/campaigns/{cid}/review", headers=reg.admin, json={"decision": decision}
        )

    _problem(review(draft["id"], "approved"), 409)  # a draft was never submitted
    campaign = _campaign(t, brand["id"])
    _problem(review(campaign["id"], "suspended"), 409)
    assert review(campaign["id"], "rejected").json()["status"] == "rejected"
    resubmitted = t.post(f"/v1/campaigns/{campaign['id']}/submit")
    assert resubmitted.status_code == 200 and resubmitted.json()["status"] == "submitted"
    assert review(campaign["id"], "approved").json()["status"] == "approved"
    assert review(campaign["id"], "suspended").json()["status"] == "suspended"
    _problem(review("cmp_unknown", "approved"), 404)
    _problem(review(campaign["id"], "maybe"), 422, "decision")


def test_another_tenants_brand_and_campaign_are_404(reg: Env) -> None:
    a = reg.tenant("Bright Smile Dental", number="+14155550100")
    b = reg.tenant("Ace Plumbing", number="+14155550101")
    brand = _brand(a)
    campaign = _campaign(a, brand["id"])
    _problem(b.get(f"/v1/brands/{brand['id']}"), 404)
    _problem(b.get(f"/v1/campaigns/{campaign['id']}"), 404)
    _problem(b.post(f"/v1/campaigns/{campaign['id']}/submit"), 404)
    _problem(b.post(f"/v1/campaigns/{campaign['id']}/numbers", {"number": "+14155550101"}), 404)
    assert b.get("/v1/brands").json()["items"] == []
    assert b.get("/v1/campaigns").json()["items"] == []
    # a brand id in a body is refused like an unknown one (no existence oracle)
    _problem(b.post("/v1/campaigns", {**CAMPAIGN, "brand_id": brand["id"]}), 422, "brand_id")


def test_R_R_02_numbers_are_not_shared_across_brands(reg: Env) -> None:
    a = reg.tenant("Bright Smile Dental", number="+14155550100")
    b = reg.tenant("Ace Plumbing", number="+14155550101")
    brand = _brand(
        b, legal_name="Ace Plumbing Inc", website="https://ace.example", email="office@ace.example"
    )
    sample = "Ace Plumbing: your plumber arrives at 10 am. Reply STOP to opt out."
    campaign = _campaign(
        b,
        brand["id"],
        sample_messages=[sample, "Ace Plumbing: we missed your call! Reply STOP to opt out."],
        description="Ace Plumbing texts customers about visits and missed calls, nothing else.",
        help_message="Ace Plumbing: call (415) 555-0101 for help. Reply STOP to opt out.",
        optout_message="Ace Plumbing: you are unsubscribed and will not receive more texts.",
    )
    assert campaign["problems"] == []
    _problem(b.post(f"/v1/campaigns/{campaign['id']}/numbers", {"number": a.number}), 409)


def test_policy_must_be_accepted_in_its_current_version(reg: Env) -> None:
    t = reg.tenant(accept_policy=False)
    policy = t.get("/v1/policy").json()
    assert policy["version"] == POLICY_VERSION and policy["accepted"] is False
    assert "accepted_at" not in policy
    for point in ("Consent first", "Opt-out", "Prohibited messaging", "Suspension"):
        assert point in policy["text"]

    stale = t.post("/v1/policy/accept", {"version": "2020-01-01", "accepted_by": "Dr. Lee"})
    _problem(stale, 409, "version")
    assert t.get("/v1/policy").json()["accepted"] is False

    r = t.post("/v1/policy/accept", {"version": POLICY_VERSION, "accepted_by": "Dr. Lee"})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] is True and r.json()["accepted_at"] == "2026-03-10T15:00:00Z"
    again = t.post("/v1/policy/accept", {"version": POLICY_VERSION, "accepted_by": "Dr. Lee"})
    assert again.status_code == 200 and again.json()["accepted_at"] == r.json()["accepted_at"]
    assert t.get("/v1/policy").json()["accepted_by"] == "Dr. Lee"
    assert _audit_actions(t).count("policy.accepted") == 1

    other = reg.tenant("Ace Plumbing", number="+14155550101", accept_policy=False)
    assert other.get("/v1/policy").json()["accepted"] is False
    _problem(other.post("/v1/policy/accept", {"version": POLICY_VERSION}), 422, "accepted_by")
    _problem(reg.client.get("/v1/policy"), 401)
    _problem(reg.client.get("/v1/policy", headers=reg.admin), 403)


# --------------------------------------------------------------------------- the gate

PHONE = "+13055550142"
def _enforce(env: Env, t: Tenant, **flags: bool) -> None:
    r = env.client.put(f"/v1/tenants/{t.id}/enforcement", headers=env.admin, json=flags)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in flags} == flags


def test_enforcement_is_the_operators_switch(reg: Env) -> None:
    t = reg.tenant()
    path = f"/v1/tenants/{t.id}/enforcement"
    # Deployment defaults for a new tenant on the simulator: policy required, registration not.
    assert reg.client.get(path, headers=reg.admin).json() == {
        "tenant_id": t.id,
        "require_registration": False,
        "require_policy": True,
    }
    _problem(reg.client.put(path, headers=t.auth, json={"require_registration": False}), 403)
    _problem(reg.client.put("/v1/tenants/ten_nope/enforcement", headers=reg.admin, json={}), 404)
    _enforce(reg, t, require_registration=True)
    assert reg.client.get(path, headers=reg.admin).json()["require_policy"] is True
    assert "tenant.enforcement_changed" in _audit_actions(t)


def test_R_R_01_a_number_sends_only_under_an_approved_campaign_within_its_use_case(
    reg: Env,
) -> None:
    t = reg.tenant()
    t.consent(PHONE)
    _enforce(reg, t, require_registration=True)
    assert t.send(PHONE).json()["reasons"] == ["campaign_not_approved"]

    campaign = _campaign(t, _brand(t)["id"])
    assert (
        t.post(f"/v1/campaigns/{campaign['id']}/numbers", {"number": t.number}).status_code == 200
    )
    assert t.send(PHONE).json()["reasons"] == ["campaign_not_approved"]  # submitted only
    linked = t.post(
        "/v1/numbers",
        {"number": "+14155550103", "provider": "simulator", "campaign_id": campaign["id"]},
    )
    assert linked.status_code == 201 and linked.json()["campaign_id"] == campaign["id"]
    unknown = t.post("/v1/numbers", {"number": "+14155550104", "campaign_id": "cmp_nope"})
    _problem(unknown, 422, "campaign_id")
    review = f"/v1/campaigns/{campaign['id']}/review"
    assert reg.client.post(review, headers=reg.admin, json={"decision": "approved"}).is_success
    sent = t.send(PHONE).json()
    assert sent["status"] == "queued", sent

    offer = (
        "Bright Smile Dental: your cleaning is Tue at 3 pm. Book a whitening for 20% off! "
        "Reply STOP to opt out."
    )
    t.consent(PHONE, scope="marketing")
    assert "category_not_in_campaign" in t.send(PHONE, body=offer).json()["reasons"]
    link = (
        "Bright Smile Dental: your cleaning is Tue at 3 pm. Details: "
        "https://brightsmile.example/v Reply STOP to opt out."
    )
    assert "embedded_link_not_in_campaign" in t.send(PHONE, body=link).json()["reasons"]

    # an MNO suspension stops the queued message at hand-off (the gate runs again there)
    assert reg.client.post(review, headers=reg.admin, json={"decision": "suspended"}).is_success
    reg.step()
    after = t.get(f"/v1/messages/{sent['id']}").json()
    assert after["status"] == "blocked" and after["reasons"] == ["campaign_not_approved"]

    # compliance replies still go out: HELP is answered
    assert "replied" in t.inbound(PHONE, "HELP").json()["actions"]


def test_R_B_03_a_business_sends_only_after_accepting_the_policy(reg: Env) -> None:
    t = reg.tenant(accept_policy=False)
    t.consent(PHONE)
    _enforce(reg, t, require_policy=True)
    assert t.send(PHONE).json()["reasons"] == ["policy_not_accepted"]
    t.post("/v1/policy/accept", {"version": POLICY_VERSION, "accepted_by": "Dr. Lee"})
    assert t.send(PHONE).json()["status"] == "queued"
