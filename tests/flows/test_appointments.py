"""Appointments through the API: a confirmation now, reminders at offsets in the
contact's time zone, each re-gated at hand-off (design.md guarantee 1); quiet hours
defer (R-Q-01..03), the late cutoff drops (R-Q-02 policy), cancel/move/opt-out stop
what is waiting (R-FCC-02)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Env, Tenant

PATIENT = "+13055550142"  # Miami: Florida allows texts 08:00-20:00 (R-Q-03)


def book(t: Tenant, starts_at: datetime, **extra: Any) -> dict[str, Any]:
    r = t.post("/v1/appointments", {"phone": PATIENT, "starts_at": starts_at.isoformat(), **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def reminders(appt: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in appt["messages"] if m["category"] == "appointment_reminder"]


def bodies(env: Env) -> list[str]:
    return [m.body for m in env.simulator.sent_to(PATIENT)]


def test_booking_sends_a_confirmation_and_schedules_default_reminders(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    starts = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)  # Fri 14:00 in Miami
    appt = book(t, starts)
    assert appt["status"] == "booked" and appt["reminders"] == ["P1D", "PT2H"]
    [confirmation] = [m for m in appt["messages"] if m["category"] == "appointment_confirmation"]
    assert confirmation["status"] == "queued"
    assert "Reply C to confirm or R to reschedule" in confirmation["body"]
    assert [m["send_at"] for m in reminders(appt)] == [
        "2026-03-12T18:00:00Z",
        "2026-03-13T16:00:00Z",
    ]
    assert all(m["status"] == "scheduled" for m in reminders(appt))
    env.step()
    assert bodies(env) == [confirmation["body"]]
    listed = t.get("/v1/appointments", params={"phone": PATIENT}).json()["items"]
    assert [a["id"] for a in listed] == [appt["id"]]


def test_R_Q_03_a_reminder_due_at_2130_in_florida_moves_to_0800_next_morning(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    starts = datetime(2026, 3, 12, 13, 30, tzinfo=UTC)  # Thu 09:30 EDT in Miami
    appt = book(t, starts, reminders=["PT12H"])  # due Wed 21:30 EDT
    [reminder] = reminders(appt)
    assert reminder["status"] == "scheduled"
    assert reminder["reasons"] == ["quiet_hours"]
    assert reminder["send_at"] == "2026-03-12T12:00:00Z"  # Thu 08:00 EDT

    env.step()
    env.clock.set(datetime(2026, 3, 12, 11, 59, tzinfo=UTC))
    env.step()
    assert len(bodies(env)) == 1, "only the confirmation before 08:00"
    env.clock.set(datetime(2026, 3, 12, 12, 0, tzinfo=UTC))
    env.step()
    assert len(bodies(env)) == 2 and "reminder of your visit" in bodies(env)[1]


def test_a_reminder_whose_appointment_was_canceled_is_never_sent(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    appt = book(t, datetime(2026, 3, 13, 18, 0, tzinfo=UTC))
    env.step()
    r = env.client.delete(f"/v1/appointments/{appt['id']}", headers=t.auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "canceled"
    assert sorted(r.json()["canceled_messages"]) == sorted(m["id"] for m in reminders(appt))
    for m in reminders(appt):
        got = t.get(f"/v1/messages/{m['id']}").json()
        assert got["status"] == "canceled" and "appointment_canceled" in got["reasons"]
    env.clock.set(datetime(2026, 3, 13, 17, 0, tzinfo=UTC))
    env.step()
    assert len(bodies(env)) == 1 and "is booked for" in bodies(env)[0]


def test_moving_an_appointment_moves_its_reminders(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    appt = book(t, datetime(2026, 3, 13, 18, 0, tzinfo=UTC))
    env.step()
    r = env.client.patch(
        f"/v1/appointments/{appt['id']}",
        headers=t.auth,
        json={"starts_at": "2026-03-16T14:00:00-04:00"},
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["starts_at"] == "2026-03-16T18:00:00Z"
    live = [m for m in moved["messages"] if m["status"] in ("scheduled", "queued")]
    assert sorted(m["send_at"] for m in live if m["category"] == "appointment_reminder") == [
        "2026-03-15T18:00:00Z",
        "2026-03-16T16:00:00Z",
    ]
    assert all(
        t.get(f"/v1/messages/{m['id']}").json()["status"] == "canceled" for m in reminders(appt)
    )
    env.step()
    assert "has been moved to Mon Mar 16 at 2:00 pm" in bodies(env)[-1]
    env.clock.set(datetime(2026, 3, 13, 16, 30, tzinfo=UTC))  # after both old reminder times
    env.step()
    assert len(bodies(env)) == 2
    env.clock.set(datetime(2026, 3, 15, 18, 0, tzinfo=UTC))
    env.step()
    assert len(bodies(env)) == 3 and "Mon Mar 16 at 2:00 pm" in bodies(env)[-1]


def test_R_FCC_02_an_opt_out_stops_the_reminders(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    appt = book(t, datetime(2026, 3, 13, 18, 0, tzinfo=UTC))
    env.step()
    assert t.inbound(PATIENT, "STOP").json()["classification"] == "opt_out"
    env.step()
    assert "unsubscribed" in bodies(env)[-1]
    for m in reminders(appt):
        assert t.get(f"/v1/messages/{m['id']}").json()["status"] == "canceled"
    env.clock.set(datetime(2026, 3, 13, 17, 0, tzinfo=UTC))
    env.step()
    assert not any("reminder" in b for b in bodies(env))
    assert len(bodies(env)) == 2


def test_R_Q_02_late_cutoff_a_reminder_is_never_sent_after_the_visit_starts(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    appt = book(t, datetime(2026, 3, 10, 18, 0, tzinfo=UTC), reminders=["PT2H"])
    [reminder] = reminders(appt)
    env.step()
    env.clock.set(datetime(2026, 3, 10, 18, 5, tzinfo=UTC))  # the worker was down until now
    env.step()
    got = t.get(f"/v1/messages/{reminder['id']}").json()
    assert got["status"] in ("blocked", "canceled") and got["provider_message_id"] is None
    assert {"appointment_started", "appointment_passed"} & set(got["reasons"])
    assert not any("reminder" in b for b in bodies(env))


def test_offsets_already_past_are_skipped_and_bad_offsets_refused(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    soon = book(t, datetime(2026, 3, 10, 20, 0, tzinfo=UTC))  # in 5 hours
    assert soon["skipped_reminders"] == ["P1D"]
    assert len(reminders(soon)) == 1
    r = t.post(
        "/v1/appointments",
        {"phone": PATIENT, "starts_at": "2026-03-20T15:00:00Z", "reminders": ["tomorrow"]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reminders[0]"
    r = t.post("/v1/appointments", {"phone": PATIENT, "starts_at": "2026-03-01T15:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "in_the_past"
    assert t.get("/v1/appointments/apt_nope").status_code == 404


def test_another_tenants_appointment_is_not_found(env: Env) -> None:
    a = env.tenant()
    a.consent(PATIENT)
    appt = book(a, datetime(2026, 3, 13, 18, 0, tzinfo=UTC))
    b = env.tenant("Other Salon", number="+14155550123")
    assert b.get(f"/v1/appointments/{appt['id']}").status_code == 404
    assert env.client.delete(f"/v1/appointments/{appt['id']}", headers=b.auth).status_code == 404
    assert a.get(f"/v1/appointments/{appt['id']}").json()["status"] == "booked"
    env.clock.advance(timedelta(0))


def test_R_K_08_templates_never_ask_for_an_opt_out_word_as_a_menu_answer(env: Env) -> None:
    """receptionist.md §1.6: "Reply C to confirm or R to reschedule", never "Reply
    CANCEL"; every template names the business and says how to stop (R-CT-01)."""
    from frontdesk.domain import content
    from frontdesk.domain.messages import Category
    from frontdesk.services import appointments, settings
    from frontdesk.storage.models import Tenant as TenantRow

    row = TenantRow(name="Bright Smile Dental", timezone="America/New_York", settings={})
    fields = settings.template_fields(row, settings.load(row))
    texts = [
        (Category.APPOINTMENT_CONFIRMATION, appointments.confirmation_text(row, "Fri Mar 13")),
        (Category.APPOINTMENT_REMINDER, appointments.reminder_text(row, "Fri Mar 13")),
        *(
            (Category.MISSED_CALL_FOLLOWUP, settings.render(template, fields))
            for template in (
                settings.DEFAULT_BUSINESS_HOURS_TEMPLATE,
                settings.DEFAULT_AFTER_HOURS_TEMPLATE,
            )
        ),
    ]
    for category, body in texts:
        ctx = content.ContentContext(row.name, category, first_message_to_contact=True)
        assert content.screen(body, ctx).reasons == (), body
    paths = env.client.get("/openapi.json").json()["paths"]
    assert {"/v1/appointments", "/v1/calls/missed", "/v1/conversations/{phone}"} <= set(paths)
