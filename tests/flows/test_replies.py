"""Replies to appointment texts (receptionist.md §1.6, §2.2): C/YES confirm, R asks to
move it and hands off with the proposed time, "cancel my appointment" cancels without
opting out, and a bare CANCEL is always an opt-out whose one confirmation says the
visit still stands (R-FCC-03)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Env, Tenant

PATIENT = "+13055550142"
STARTS = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)  # Fri 2:00 pm in Miami


def booked(env: Env) -> tuple[Tenant, dict[str, Any]]:
    t = env.tenant()
    t.consent(PATIENT)
    r = t.post("/v1/appointments", {"phone": PATIENT, "starts_at": STARTS.isoformat()})
    assert r.status_code == 201, r.text
    env.step()
    env.clock.advance(timedelta(minutes=5))
    return t, r.json()


def reply(env: Env, t: Tenant, body: str) -> dict[str, Any]:
    r = t.inbound(PATIENT, body)
    assert r.status_code == 200, r.text
    env.step()
    return r.json()  # type: ignore[no-any-return]


def appointment(t: Tenant, appt: dict[str, Any]) -> dict[str, Any]:
    return t.get(f"/v1/appointments/{appt['id']}").json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("answer", ["C", "YES", "see you then"])
def test_a_short_answer_confirms_the_appointment(env: Env, answer: str) -> None:
    t, appt = booked(env)
    got = reply(env, t, answer)
    assert got["classification"] == "none"
    assert "appointment_confirmed" in got["actions"] and "replied" in got["actions"]
    after = appointment(t, appt)
    assert after["status"] == "confirmed" and after["confirmed_at"] is not None
    last = env.simulator.sent_to(PATIENT)[-1].body
    assert last.startswith("Bright Smile Dental:") and "confirmed" in last


def test_R_with_a_time_requests_a_reschedule_and_hands_off(env: Env) -> None:
    t, appt = booked(env)
    got = reply(env, t, "R, can we do Thursday at 4?")
    assert got["classification"] == "none"
    assert {"reschedule_requested", "handed_off"} <= set(got["actions"])
    after = appointment(t, appt)
    assert after["status"] == "reschedule_requested"
    assert after["proposed_time"] == "Thu Mar 12 4:00 pm"
    conv = t.get(f"/v1/conversations/{PATIENT}").json()
    assert conv["owner"] == "staff" and conv["ai_paused"] is True
    assert conv["handoff"]["reason"] == "reschedule"
    assert conv["handoff"]["proposed_time"] == "Thu Mar 12 4:00 pm"
    # the reminders still stand until staff move the visit
    assert any(m["status"] == "scheduled" for m in after["messages"])


def test_can_we_move_it_without_a_time_still_reaches_staff(env: Env) -> None:
    t, appt = booked(env)
    got = reply(env, t, "can we move it")
    assert {"reschedule_requested", "handed_off"} <= set(got["actions"])
    assert appointment(t, appt)["proposed_time"] is None


def test_cancel_my_appointment_cancels_and_does_not_opt_out(env: Env) -> None:
    t, appt = booked(env)
    got = reply(env, t, "cancel my appointment")
    assert got["classification"] == "none"
    assert "appointment_canceled" in got["actions"]
    after = appointment(t, appt)
    assert after["status"] == "canceled"
    assert all(m["status"] != "scheduled" for m in after["messages"])
    assert t.get(f"/v1/contacts/{PATIENT}").json()["opted_out"] is False
    last = env.simulator.sent_to(PATIENT)[-1].body
    assert "cancel" in last.lower() and "Reply STOP" in last


def test_R_FCC_03_bare_CANCEL_opts_out_and_the_confirmation_says_the_visit_stands(
    env: Env,
) -> None:
    t, appt = booked(env)
    got = reply(env, t, "CANCEL")
    assert got["classification"] == "opt_out"
    assert "staff_task_appointment_may_need_canceling" in got["actions"]
    after = appointment(t, appt)
    assert after["status"] == "booked"
    assert all(m["status"] != "scheduled" for m in after["messages"])
    confirmation = env.simulator.sent_to(PATIENT)[-1].body
    assert "unsubscribed" in confirmation and "still booked" in confirmation
    assert t.get(f"/v1/contacts/{PATIENT}").json()["opted_out"] is True


def test_a_reply_held_for_review_is_not_continued_by_the_ai(env: Env) -> None:
    t, appt = booked(env)
    got = reply(env, t, "cancel it")
    assert got["classification"] == "review"
    assert got["intent"] is None and got["actions"] == ["held_for_review"]
    assert appointment(t, appt)["status"] == "booked"
    env.clock.advance(timedelta(minutes=1))
    follow = reply(env, t, "what time do you open tomorrow")
    assert "replied" not in follow["actions"]
    assert len(env.simulator.sent_to(PATIENT)) == 1
