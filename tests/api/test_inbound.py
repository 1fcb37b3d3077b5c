"""Inbound keywords (R-K-01, R-K-03, R-K-06, R-FCC-03, T-07, T-09) through POST /v1/inbound."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Env

PHONE = "+13055550142"


def test_R_K_01_stop_opts_out_suppresses_cancels_scheduled_and_confirms_once(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    later = t.send(PHONE, send_at=(env.clock.now() + timedelta(days=1)).isoformat()).json()
    assert later["status"] == "scheduled"
    r = t.inbound(PHONE, "  Stop. ")
    assert r.status_code == 200
    out = r.json()
    assert out["classification"] == "opt_out"
    assert {"suppressed", "scheduled_canceled", "replied"} <= set(out["actions"])
    assert t.get(f"/v1/messages/{later['id']}").json()["status"] == "canceled"
    env.step()
    sent = env.simulator.sent_to(PHONE)
    assert len(sent) == 1 and sent[0].body.startswith("Bright Smile Dental:")
    assert "START" in sent[0].body


def test_T_09_a_second_stop_gets_no_second_confirmation(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "STOP")
    again = t.inbound(PHONE, "stop").json()
    assert again["classification"] == "opt_out" and "replied" not in again["actions"]
    env.step()
    assert len(env.simulator.sent_to(PHONE)) == 1


def test_T_10_a_confirmation_not_handed_off_within_5_minutes_is_dropped(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "STOP")
    env.clock.advance(timedelta(minutes=6))
    env.step()
    assert env.simulator.sent_to(PHONE) == []
    conf = t.get("/v1/messages", params={"to": PHONE}).json()["items"][0]
    assert conf["status"] == "blocked" and conf["reasons"] == ["confirmation_too_late"]


def test_R_K_03_help_is_answered_with_name_and_contact_and_changes_nothing(env: Env) -> None:
    t = env.tenant()
    out = t.inbound(PHONE, "HELP").json()  # not even a subscriber (T-07)
    assert out["classification"] == "help" and out["actions"] == ["replied"]
    env.step()
    (reply,) = env.simulator.sent_to(PHONE)
    assert "Bright Smile Dental" in reply.body and "hello@brightsmile.example" in reply.body
    assert "STOP" in reply.body
    contact = t.get(f"/v1/contacts/{PHONE}").json()
    assert (
        contact["opted_out"] is False and contact["consents"]["informational"]["granted"] is False
    )


def test_R_K_06_start_opts_back_in_with_a_confirmation(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "STOP")
    env.step()
    out = t.inbound(PHONE, "START").json()
    assert out["classification"] == "opt_in" and "opted_in" in out["actions"]
    assert t.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is False
    env.step()
    assert "subscribed" in env.simulator.sent_to(PHONE)[-1].body
    assert t.send(PHONE).json()["status"] == "queued"


def test_R_K_06_unstop_never_opts_out(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    assert t.inbound(PHONE, "UNSTOP").json()["classification"] == "opt_in"
    assert t.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is False


def test_R_K_02_an_ambiguous_reply_holds_proactive_sends_until_a_person_decides(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    out = t.inbound(PHONE, "Not interested").json()
    assert out["classification"] == "review" and out["actions"] == ["held_for_review"]
    assert t.send(PHONE).json()["reasons"] == ["under_review"]
    contact = t.get(f"/v1/contacts/{PHONE}").json()
    assert contact["under_review"] is True


def test_a_review_decided_keep_releases_the_hold(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "Who gave you my number?")
    review_id = _review_id(env, t.id)
    r = t.post(f"/v1/reviews/{review_id}", {"decision": "keep"})
    assert r.status_code == 200 and r.json()["status"] == "keep"
    assert t.send(PHONE).json()["status"] == "queued"
    assert t.post(f"/v1/reviews/{review_id}", {"decision": "keep"}).status_code == 409


def test_a_review_nobody_decides_becomes_an_opt_out_at_its_deadline(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    t.inbound(PHONE, "Not interested")
    env.clock.advance(timedelta(hours=25))
    env.step()
    assert t.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is True


def test_ordinary_reply_is_classified_none_and_changes_nothing(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    out = t.inbound(PHONE, "Can I stop by at 3 to drop off the forms?").json()
    assert out["classification"] == "none"
    assert not {"suppressed", "held_for_review", "opted_in"} & set(out["actions"])
    assert t.get(f"/v1/contacts/{PHONE}").json()["opted_out"] is False


def test_inbound_with_a_provider_id_is_idempotent(env: Env) -> None:
    t = env.tenant()
    t.consent(PHONE)
    first = t.inbound(PHONE, "STOP", id="SM123").json()
    again = t.inbound(PHONE, "STOP", id="SM123").json()
    assert again["duplicate"] is True and again["id"] == first["id"]
    env.step()
    assert len(env.simulator.sent_to(PHONE)) == 1


def test_T_23_empty_inbound_does_not_crash(env: Env) -> None:
    t = env.tenant()
    out = t.inbound(PHONE, "").json()
    assert out["classification"] == "none"


def _review_id(env: Env, tenant_id: str) -> str:
    from frontdesk.storage.uow import UnitOfWork

    with UnitOfWork(env.container.db) as uow:
        (review,) = uow.tenant(tenant_id).pending_reviews(PHONE)
        return review.id
