"""R-K-08 monthly re-notice: a recurring program repeats "Reply STOP to opt out" at least
every 30 days (CTIA practice), on every path that decides a message.

The last notice is the latest live message to the contact whose body says how to
opt out: a blocked or canceled one never reached them and does not count.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Env, Tenant

PATIENT = "+13055550142"
WITH_STOP = (
    "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm. "
    "Reply STOP to opt out."
)
NO_STOP = "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm."
ALLOWED = ("queued", "scheduled")


def send(t: Tenant, body: str, **extra: Any) -> dict[str, Any]:
    r = t.send(PATIENT, body, **extra)
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def codes(got: dict[str, Any]) -> list[str]:
    return list(got["reasons"])


def test_R_K_08_after_30_days_a_reminder_must_say_how_to_opt_out_again(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    assert send(t, WITH_STOP)["status"] in ALLOWED
    env.step()
    env.clock.advance(timedelta(days=10))
    assert send(t, NO_STOP)["status"] in ALLOWED

    env.clock.advance(timedelta(days=25))
    stale = send(t, NO_STOP)
    assert stale["status"] == "blocked"
    assert codes(stale) == ["missing_opt_out_language"]
    [reason] = stale["explanations"]
    assert reason["rule"] == "R-K-08" and "30 days" in reason["message"]

    assert send(t, WITH_STOP)["status"] in ALLOWED
    assert send(t, NO_STOP)["status"] in ALLOWED, "the notice just queued counts"


def test_R_K_08_a_batch_counts_its_own_notice(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    send(t, WITH_STOP)
    env.step()
    env.clock.advance(timedelta(days=40))

    def batch(*bodies: str) -> list[str]:
        items = [{"to": PATIENT, "body": b, "category": "appointment_reminder"} for b in bodies]
        r = t.post("/v1/messages/batch", {"messages": items})
        assert r.status_code == 200, r.text
        return [item["status"] for item in r.json()["results"]]

    first, second = batch(NO_STOP, WITH_STOP)
    assert first == "blocked" and second in ALLOWED
    [after] = batch(NO_STOP)
    assert after in ALLOWED


def test_R_K_08_a_canceled_notice_does_not_count_at_hand_off(env: Env) -> None:
    """Accepted against a notice that was canceled later: the hand-off re-check blocks it."""
    t = env.tenant()
    t.consent(PATIENT)
    send(t, WITH_STOP)
    env.step()
    env.clock.advance(timedelta(days=20))
    soon = env.clock.now() + timedelta(days=1)
    notice = send(t, WITH_STOP, send_at=soon.isoformat())
    later = env.clock.now() + timedelta(days=20)
    plain = send(t, NO_STOP, send_at=later.isoformat())
    assert plain["status"] == "scheduled", plain

    r = t.post(f"/v1/messages/{notice['id']}/cancel")
    assert r.status_code == 200, r.text
    env.clock.advance(timedelta(days=20, minutes=1))
    env.step()

    got = t.get(f"/v1/messages/{plain['id']}").json()
    assert got["status"] == "blocked"
    assert "missing_opt_out_language" in codes(got)
    assert all(m.body != NO_STOP for m in env.simulator.sent_to(PATIENT))
