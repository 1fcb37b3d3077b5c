"""Batch fact gathering (issue 4): same facts as one message at a time, in-batch effects.

``facts.gather_many`` reads the gate's facts for many messages with a few
``IN (...)`` queries; it must answer exactly what ``facts.gather`` (the
reference, one message at a time) answers, and a batch must decide each item as
if the earlier items had been sent one by one (R-Q-04 frequency cap, R-C-06
first-message disclosures, R-FCC-06 one confirmation per opt-out).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from frontdesk.domain.messages import Category
from frontdesk.ids import new_id
from frontdesk.services import facts as facts_service
from frontdesk.services import messages as messages_service
from frontdesk.storage.models import Contact, Message, Suppression
from frontdesk.storage.uow import TenantScope, UnitOfWork
from tests.conftest import BUSINESS_NUMBER, T0, Env
from tests.services.carrier import set_settings

PATIENT = "+13055550142"
REMINDER = (
    "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm. Reply STOP to "
    "opt out."
)


def reminder(to: str) -> dict[str, str]:
    return {"to": to, "body": REMINDER, "category": "appointment_reminder"}


def codes(item: dict[str, object]) -> list[str]:
    reasons = item["reasons"]
    assert isinstance(reasons, list)
    return [r if isinstance(r, str) else str(r["code"]) for r in reasons]


def test_R_Q_04_a_batch_counts_its_own_earlier_items_toward_the_frequency_cap(env: Env) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    r = t.post("/v1/messages/batch", {"messages": [reminder(PATIENT)] * 5})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [m["status"] for m in results] == ["queued", "queued", "queued", "blocked", "blocked"]
    assert [codes(m) for m in results[3:]] == [["frequency_cap"], ["frequency_cap"]]


def test_R_Q_04_a_batch_decides_like_the_same_messages_sent_one_by_one(env: Env) -> None:
    t = env.tenant()
    others = [f"+1305555{i:04d}" for i in range(150, 154)]
    for phone in [PATIENT, *others]:
        t.consent(phone)
    items = [reminder(p) for p in [PATIENT, *others, PATIENT, PATIENT, others[0], PATIENT]]
    items.append({"to": "not a number", "body": REMINDER, "category": "appointment_reminder"})
    batch = t.post("/v1/messages/batch", {"messages": items}).json()["results"]
    t2 = env.tenant(number="+14155550101")  # same name: the body names it
    for phone in [PATIENT, *others]:
        t2.consent(phone)
    single = [t2.post("/v1/messages", item).json() for item in items]
    assert [m["status"] for m in batch[:-1]] == [m["status"] for m in single[:-1]]
    assert [codes(m) for m in batch[:-1]] == [codes(m) for m in single[:-1]]
    assert batch[-2]["status"] == "blocked", "the 4th reminder to PATIENT in 24 h"
    assert batch[-1]["error"]["status"] == single[-1]["status"] == 422


def test_R_C_06_the_second_message_of_a_batch_to_a_new_contact_is_not_a_first_message(
    env: Env,
) -> None:
    t = env.tenant()
    t.consent(PATIENT)
    cmd = messages_service.SendCommand(
        to=PATIENT, body=REMINDER, category=Category.APPOINTMENT_REMINDER
    )
    now = env.clock.now()
    with UnitOfWork(env.container.db) as uow:
        scope = uow.tenant(t.id)
        batch = messages_service.prepare_batch(scope, [cmd, cmd], now)
        first = messages_service.submit(scope, cmd, now, "test", batch=batch)
        request = facts_service.FactsRequest(PATIENT, now, None, BUSINESS_NUMBER)
        after = batch.facts(request)
        assert first.message.status == "queued"
        assert after.contact.first_message is False
        assert after.contact.recent == (), "one send is fewer than any cap (gate.fewest_that_cap)"
        uow.session.flush()
        assert after == facts_service.gather(
            scope, scope.tenant(), PATIENT, now, at=now, sender=BUSINESS_NUMBER
        ), "the in-memory update equals what the stored message gives"


STATUSES = ["scheduled", "queued", "sending", "sent", "delivered", "failed", "blocked", "canceled"]
CATEGORIES = [c.value for c in Category]


def test_gather_many_equals_gather_one_at_a_time_for_random_histories(env: Env) -> None:
    """The reference check for issue 4: random consents, opt-outs, suppressions, reviews,
    contacts and prior messages; every request's facts compared field by field."""
    rng = random.Random(20261128)
    t = env.tenant()
    covered = env.client.patch(
        "/v1/tenant/settings", headers=t.auth, json={"hipaa_exempt_mode": True}
    )
    assert covered.status_code == 200, covered.text  # so the R-C-07 history is gathered too
    now = env.clock.now()
    phones = [f"+1305555{i:04d}" for i in range(160, 184)]
    for phone in phones:
        roll = rng.random()
        if roll < 0.6:
            t.consent(phone, scope=rng.choice(["informational", "marketing"]))
        if rng.random() < 0.3:
            t.inbound(phone, rng.choice(["STOP", "STOP", "please stop texting me", "HELP"]))
            if rng.random() < 0.4:
                t.inbound(phone, "START")
    message_ids: list[str] = []
    with UnitOfWork(env.container.db) as uow:
        for phone in phones:
            if rng.random() < 0.3:
                uow.session.add(
                    Contact(
                        id=new_id("con"),
                        tenant_id=t.id,
                        phone=phone,
                        state=rng.choice([None, "FL", "CA"]),
                        postal_code=rng.choice([None, "33101"]),
                        timezone=rng.choice([None, "America/Chicago"]),
                        last_inbound_at=now - timedelta(minutes=rng.randint(1, 600)),
                        created_at=now,
                        updated_at=now,
                        version=0,
                    )
                ) if uow.tenant(t.id).contact(phone) is None else None
            if rng.random() < 0.15:
                uow.session.add(
                    Suppression(
                        id=new_id("sup"),
                        tenant_id=t.id,
                        phone=phone,
                        reason=rng.choice(["manual", "carrier_invalid"]),
                        scope=rng.choice(["all", "marketing"]),
                        source="test",
                        created_at=now - timedelta(hours=rng.randint(1, 50)),
                        lifted_at=rng.choice([None, now]),
                    )
                )
            for _ in range(rng.randint(0, 6)):
                mid = new_id("msg")
                message_ids.append(mid)
                send_at = now + timedelta(minutes=rng.randint(-60 * 50, 60 * 50))
                uow.session.add(
                    Message(
                        id=mid,
                        tenant_id=t.id,
                        to_phone=phone,
                        from_phone=BUSINESS_NUMBER,
                        body="x",
                        category=rng.choice(CATEGORIES),
                        subject=rng.choice([None, "cleaning", "promo"]),
                        status=rng.choice(STATUSES),
                        send_at=send_at,
                        attempts=0,
                        opt_out_notice=rng.random() < 0.3,
                        healthcare_exempt=rng.random() < 0.3,
                        created_at=now - timedelta(minutes=rng.randint(0, 60 * 72)),
                        updated_at=now,
                    )
                )
        uow.commit()
    with UnitOfWork(env.container.db) as uow:
        scope = uow.tenant(t.id)
        tenant = scope.tenant()
        requests = [
            facts_service.FactsRequest(
                rng.choice([*phones, None]),
                now + timedelta(minutes=rng.randint(-60 * 30, 60 * 30)),
                rng.choice([None, None, *message_ids]),
                rng.choice([None, BUSINESS_NUMBER, "+14155550177"]),
            )
            for _ in range(120)
        ]
        many = facts_service.gather_many(scope, tenant, requests, now)
        for request, got in zip(requests, many, strict=True):
            want = facts_service.gather(
                scope,
                tenant,
                request.e164,
                now,
                request.exclude_id,
                at=request.at,
                sender=request.sender,
            )
            assert got == want, request
        assert any(f.contact.recent for f in many), "the histories exercise the caps"
        assert any(f.contact.opted_out for f in many)
        assert any(f.contact.confirmations_for_revocation for f in many)
        assert any(not f.contact.first_message for f in many)
        assert any(f.contact.last_opt_out_notice_at for f in many), "R-K-08 notices exercised"
        assert any(f.contact.exempt_sends for f in many), "R-C-07 limits exercised"
        assert any(not f.sender_owned for f in many), "R-R-02 judged from the sender given"


def test_audit_chain_head_is_memoised_per_transaction_only(env: Env) -> None:
    """Guarantee 3: a chain head remembered in one transaction is never reused in the
    next, where another writer may have extended the chain; ``verify`` stays ok."""
    t = env.tenant()
    now = env.clock.now()
    first = UnitOfWork(env.container.db).__enter__()
    try:
        for i in range(3):
            first.tenant(t.id).audit(now, "test", "test.first", str(i), {})
        first.commit()
        with UnitOfWork(env.container.db) as other:
            other.tenant(t.id).audit(now, "test", "test.other", None, {})
            other.commit()
        first.tenant(t.id).audit(now, "test", "test.first", "again", {})
        first.commit()
    finally:
        first.__exit__(None, None, None)
    with UnitOfWork(env.container.db, write=False) as uow:
        check = uow.tenant(t.id).verify_audit()
        actions = [e.action for e in uow.tenant(t.id).audit_entries(None, 1000, 0)]
    assert check.ok and check.checked == len(actions)
    assert actions[-5:] == ["test.first"] * 3 + ["test.other", "test.first"]


def _stored_reminders(env: Env, tenant_id: str, phone: str, count: int) -> None:
    now = env.clock.now()
    with UnitOfWork(env.container.db) as uow:
        for i in range(count):
            uow.session.add(
                Message(
                    id=new_id("msg"),
                    tenant_id=tenant_id,
                    to_phone=phone,
                    from_phone=BUSINESS_NUMBER,
                    body=REMINDER,
                    category="appointment_reminder",
                    status="delivered",
                    send_at=now - timedelta(hours=1 + i),
                    attempts=1,
                    created_at=now - timedelta(hours=1 + i),
                    updated_at=now,
                )
            )
        uow.commit()


def test_R_Q_04_a_history_that_cannot_reach_the_cap_is_counted_not_read(
    env: Env, monkeypatch: Any
) -> None:
    """Issue 4: a number with fewer capped sends than the cap, even counting this batch's
    own, costs an aggregate row, not its history; one that could reach it is read."""
    t = env.tenant()
    near, far = PATIENT, "+13055550143"
    for phone in (near, far):
        t.consent(phone)
    _stored_reminders(env, t.id, near, 2)  # + 1 in the batch = 3, the default cap
    _stored_reminders(env, t.id, far, 1)  # + 1 in the batch = 2
    read: list[set[str]] = []
    original = TenantScope.live_sends_for

    def spy(self: TenantScope, phones: Any, **kw: Any) -> Any:
        read.append(set(phones))
        return original(self, phones, **kw)

    monkeypatch.setattr(TenantScope, "live_sends_for", spy)
    r = t.post("/v1/messages/batch", {"messages": [reminder(near), reminder(far)]})
    assert [m["status"] for m in r.json()["results"]] == ["queued", "queued"]
    assert read == [{near}], "only the number that could reach the cap had its history read"
    r = t.post("/v1/messages/batch", {"messages": [reminder(near), reminder(far)]})
    statuses = [(m["status"], codes(m)) for m in r.json()["results"]]
    assert statuses == [("blocked", ["frequency_cap"]), ("queued", [])]


def test_R_Q_03_a_state_subject_cap_lowers_the_count_that_reads_the_history(env: Env) -> None:
    """FL allows 3 solicitations a day on one subject (R-Q-03): with the platform cap
    raised to 20, a Florida number's history is still read from its third send, and a
    fourth marketing message on the same subject is blocked."""
    t = env.tenant()
    fl = "+13055550144"  # 305: Miami
    t.consent(fl, scope="marketing")
    set_settings(env, t.id, frequency_cap=20)
    promo = {
        "to": fl,
        "body": "Bright Smile Dental: whitening is 20% off this week. Reply STOP to opt out.",
        "category": "marketing",
        "subject": "whitening",
    }
    first = t.post("/v1/messages/batch", {"messages": [promo] * 2}).json()["results"]
    results = first + t.post("/v1/messages/batch", {"messages": [promo] * 2}).json()["results"]
    assert [m["status"] for m in results] == ["queued"] * 3 + ["blocked"], results
    assert [r["rule"] for r in results[3]["explanations"]] == ["R-Q-03"]


def test_R_Q_04_a_cap_lowered_inside_the_transaction_reads_the_history_late(env: Env) -> None:
    """The batch counted a number's history against the cap it saw; when the cap is
    lowered afterwards in the same transaction, the decision still sees every send."""
    t = env.tenant()
    t.consent(PATIENT)
    set_settings(env, t.id, frequency_cap=20)
    _stored_reminders(env, t.id, PATIENT, 2)
    now = env.clock.now()
    cmd = messages_service.SendCommand(
        to=PATIENT, body=REMINDER, category=Category.APPOINTMENT_REMINDER
    )
    with UnitOfWork(env.container.db) as uow:
        scope = uow.tenant(t.id)
        batch = messages_service.prepare_batch(scope, [cmd], now)
        tenant = scope.tenant()
        tenant.settings = {**(tenant.settings or {}), "frequency_cap": 2}
        decision, _ = messages_service.decide(scope, tenant, cmd, now, batch=batch)
        assert decision.codes == ("frequency_cap",)
        request = facts_service.FactsRequest(PATIENT, now, None, BUSINESS_NUMBER)
        assert len(batch.facts(request).contact.recent) == 2
        assert batch.facts(request) == facts_service.gather(
            scope, tenant, PATIENT, now, at=now, sender=BUSINESS_NUMBER
        )


def test_R_FCC_06_a_folded_ledger_is_remembered_by_its_rows_not_by_the_number() -> None:
    """The batch reads fold a number's consent rows once per distinct ledger: a
    revocation appended later is a different ledger, so it is never missed."""
    from types import SimpleNamespace

    from frontdesk.services.consents import folded

    now = T0

    def row(event_id: str, kind: str, at_minutes: int) -> SimpleNamespace:
        return SimpleNamespace(
            id=event_id,
            kind=kind,
            scope="informational" if kind == "granted" else None,
            method="web_form" if kind == "granted" else "sms_keyword",
            written=True,
            recipient_act=kind != "granted",
            limited_to=["appointment_reminder"] if kind == "granted" else None,
            captured_at=now + timedelta(minutes=at_minutes),
        )

    granted = [row("cev_1", "granted", 0)]
    assert folded(granted).informational.granted
    assert folded(granted) is folded([row("cev_1", "granted", 0)]), "same rows, same fold"
    revoked = folded([*granted, row("cev_2", "revoked", 5)])
    assert revoked.revoked_at == now + timedelta(minutes=5)
    assert not revoked.informational.granted
