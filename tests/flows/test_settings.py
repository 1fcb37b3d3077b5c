"""Tenant settings (``GET/PATCH /v1/tenant/settings``): defaults, validation, and
templates linted when saved — a missed-call text names the business and says how to
stop (R-CT-01, R-K-08), carries no offer (R-C-06) and never asks for an opt-out word
as a menu answer (receptionist.md §1.6)."""

from __future__ import annotations

from typing import Any

from tests.conftest import BUSINESS_NUMBER, Env, Tenant

CALLER = "+13055550142"


def patch(env: Env, t: Tenant, body: dict[str, Any]) -> Any:
    return env.client.patch("/v1/tenant/settings", headers=t.auth, json=body)


def test_defaults(env: Env) -> None:
    t = env.tenant()
    s = t.get("/v1/tenant/settings").json()
    assert s["keyword_mode"] == "balanced" and s["yes_is_opt_in"] is False
    assert s["missed_call"]["dedupe_minutes"] == 10
    assert s["reminders"] == ["P1D", "PT2H"]
    hours = s["knowledge"]["hours"]
    assert hours["mon"] == "08:00-17:00" and hours["sun"] is None
    assert s["llm"]["base_url"] is None


BAD_TEMPLATES = [
    ("{business}: sorry we missed your call!", "missing_opt_out_language"),
    ("Sorry we missed your call! Reply STOP to opt out.", "missing_business_name"),
    (
        "{business}: missed you! Get 20% off your next cleaning. Reply STOP to opt out.",
        "prohibited_content",
    ),
    (
        "{business}: sorry we missed you. Reply CANCEL to cancel your visit. Reply STOP to "
        "opt out.",
        "prohibited_content",
    ),
    ("{business}: hi {name}. Reply STOP to opt out.", "unknown_placeholder"),
]


def test_a_bad_missed_call_template_is_refused_and_nothing_changes(env: Env) -> None:
    t = env.tenant()
    before = t.get("/v1/tenant/settings").json()
    for template, code in BAD_TEMPLATES:
        r = patch(env, t, {"missed_call": {"business_hours_template": template}})
        assert r.status_code == 422, r.text
        assert code in [e["code"] for e in r.json()["errors"]], template
    assert t.get("/v1/tenant/settings").json() == before


def test_invalid_values_are_refused_with_the_field(env: Env) -> None:
    t = env.tenant()
    r = patch(env, t, {"knowledge": {"hours": {"mon": "17:00-08:00"}}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "knowledge.hours"
    r = patch(env, t, {"reminders": ["P1X"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reminders"
    r = patch(env, t, {"no_such_setting": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_setting"
    r = patch(env, t, {"knowledge": {"booking_url": "https://bit.ly/abc"}})
    assert r.status_code == 422


def test_a_custom_template_and_knowledge_are_used_by_the_text_back(env: Env) -> None:
    t = env.tenant()
    r = patch(
        env,
        t,
        {
            "allowed_link_domains": ["brightsmile.example"],
            "knowledge": {"booking_url": "https://brightsmile.example/book"},
            "missed_call": {
                "business_hours_template": (
                    "{business}: sorry we missed you! Book at {booking_url} or reply here. "
                    "Reply STOP to opt out."
                )
            },
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["knowledge"]["hours"]["tue"] == "08:00-17:00"  # untouched keys remain
    got = t.post("/v1/calls/missed", {"from": CALLER, "to": BUSINESS_NUMBER}).json()
    assert got["message"]["body"] == (
        "Bright Smile Dental: sorry we missed you! Book at https://brightsmile.example/book "
        "or reply here. Reply STOP to opt out."
    )
    assert got["message"]["status"] == "queued"


def test_strict_keyword_mode_makes_cancel_my_appointment_an_opt_out(env: Env) -> None:
    t = env.tenant()
    assert patch(env, t, {"keyword_mode": "strict"}).status_code == 200
    assert t.inbound(CALLER, "cancel my appointment").json()["classification"] == "opt_out"


def test_missed_calls_can_be_switched_off(env: Env) -> None:
    t = env.tenant()
    assert patch(env, t, {"missed_call": {"enabled": False}}).status_code == 200
    got = t.post("/v1/calls/missed", {"from": CALLER, "to": BUSINESS_NUMBER}).json()
    assert got["outcome"] == "disabled" and got["message"] is None


def test_R_Q_02_an_informational_window_narrows_when_reminders_go(env: Env) -> None:
    """T0 is 11:00 in New York: inside the law's window, outside the tenant's 12:00-18:00."""
    t = env.tenant()
    t.consent(CALLER)
    r = patch(env, t, {"informational_window": "12:00 - 18:00"})
    assert r.status_code == 200, r.text
    assert r.json()["informational_window"] == "12:00-18:00"

    got = t.send(CALLER).json()
    assert got["status"] == "scheduled" and got["reasons"] == ["quiet_hours"]
    assert got["send_at"].startswith("2026-03-10T16:00")  # 12:00 EDT
    [why] = got["explanations"]
    assert why["rule"].startswith("R-Q-02") and "12:00–18:00" in why["message"]

    chat = t.send(CALLER, "Bright Smile Dental: thanks, see you then!", category="conversation")
    assert chat.json()["status"] == "queued", "replies in a thread are not bound by it"

    assert patch(env, t, {"informational_window": None}).status_code == 200
    assert t.send(CALLER).json()["status"] == "queued"


def test_R_Q_01_an_informational_window_cannot_widen_the_law(env: Env) -> None:
    t = env.tenant()
    before = t.get("/v1/tenant/settings").json()
    for bad in ("07:00-20:00", "09:00-22:00", "18:00-09:00", "9am-5pm"):
        r = patch(env, t, {"informational_window": bad})
        assert r.status_code == 422, bad
        [err] = r.json()["errors"]
        assert err["field"] == "informational_window", err
    assert "08:00–21:00" in patch(env, t, {"informational_window": "07:00-20:00"}).text
    assert t.get("/v1/tenant/settings").json() == before


def test_emergency_texts_per_language_are_checked_and_used(env: Env) -> None:
    t = env.tenant()
    r = patch(env, t, {"knowledge": {"emergency_texts": {"fr": "Appelez le 911."}}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "knowledge.emergency_texts"
    spanish = "Si es una emergencia, llame al 911 o a la guardia (415) 555-0100."
    r = patch(
        env, t, {"knowledge": {"languages": ["en", "es"], "emergency_texts": {"ES": spanish}}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["knowledge"]["emergency_texts"] == {"es": spanish}
    got = t.inbound(CALLER, "tengo la cara hinchada y me duele mucho").json()
    assert got["intent"] == "urgent" and "staff_alerted" in got["actions"]
    env.step()
    [reply] = [m.body for m in env.simulator.sent_to(CALLER)]
    assert spanish in reply
