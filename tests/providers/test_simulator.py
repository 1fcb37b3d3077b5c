"""The carrier simulator's fault model (R-E-01, R-E-02, R-R-04): seeded, clock-driven."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from frontdesk.clock import FixedClock
from frontdesk.providers.base import OutboundSms
from frontdesk.providers.simulator import CarrierSimulator, SimulatorProfile

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
BIZ = "+14155550100"
OK_BODY = "Bright Smile Dental: your cleaning is Tue at 3 pm. Reply STOP to opt out."


def sms(to: str, body: str = OK_BODY, n: int = 0, sender: str = BIZ) -> OutboundSms:
    return OutboundSms(message_id=f"msg_{n}", to=to, sender=sender, body=body)


def sim(clock: FixedClock | None = None, seed: int = 3, **profile: object) -> CarrierSimulator:
    return CarrierSimulator(
        seed=seed,
        profile=replace(SimulatorProfile(), **profile),  # type: ignore[arg-type]
        clock=clock or FixedClock(T0),
    )


def test_R_E_01_default_profile_reports_sent_then_delivered_at_once() -> None:
    s = sim()
    r = s.send(sms("+13055550142"))
    assert r.accepted and r.provider_message_id
    updates = s.drain_status_updates()
    assert [(u.provider_message_id, u.status) for u in updates] == [
        (r.provider_message_id, "sent"),
        (r.provider_message_id, "delivered"),
    ]
    assert s.drain_status_updates() == []
    assert [m.to for m in s.sent_to("+13055550142")] == ["+13055550142"]


def test_provider_ids_differ_across_simulator_instances_sharing_a_database() -> None:
    a, b = sim(seed=1), sim(seed=1)
    assert (
        a.send(sms("+13055550142")).provider_message_id
        != b.send(sms("+13055550142")).provider_message_id
    )


def test_R_E_01_receipts_wait_for_their_simulated_time_on_the_injected_clock() -> None:
    clock = FixedClock(T0)
    s = sim(clock, sent_delay=(1.0, 2.0), delivered_delay=(3.0, 4.0))
    s.send(sms("+13055550142"))
    assert s.drain_status_updates() == []
    clock.advance(timedelta(seconds=2))
    assert [u.status for u in s.drain_status_updates()] == ["sent"]
    clock.advance(timedelta(seconds=4))
    assert [u.status for u in s.drain_status_updates()] == ["delivered"]
    assert s.pending() == 0


def test_R_E_01_receipts_can_arrive_duplicated_and_out_of_order() -> None:
    s = sim(duplicate_rate=1.0, reorder_rate=1.0, sent_delay=(1, 1), delivered_delay=(1, 1))
    s.send(sms("+13055550142"))
    s.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    statuses = [u.status for u in s.drain_status_updates()]
    assert statuses.count("sent") == 2 and statuses.count("delivered") == 2
    assert statuses.index("delivered") < statuses.index("sent")


def test_multi_part_message_reports_one_receipt_per_part_under_one_id() -> None:
    s = sim(per_part_receipts=True)
    r = s.send(sms("+13055550142", body="a" * 400))  # 3 GSM-7 segments
    delivered = [u for u in s.drain_status_updates() if u.status == "delivered"]
    assert len(delivered) == 3
    assert {u.provider_message_id for u in delivered} == {r.provider_message_id}


def test_R_E_02_carrier_filters_spam_like_content_with_30007() -> None:
    s = sim(filter_spam=True)
    s.send(sms("+13055550142", body="You have WON! Claim at bit.ly/x"))
    final = s.drain_status_updates()[-1]
    assert (final.status, final.error_code) == ("undelivered", "30007")
    s.send(sms("+13055550143"))
    assert s.drain_status_updates()[-1].status == "delivered"


def test_R_E_02_unknown_unreachable_and_landline_numbers() -> None:
    s = sim(
        unknown_numbers=frozenset({"+13055550001"}),
        unreachable_numbers=frozenset({"+13055550002"}),
        landlines=frozenset({"+13055550003"}),
    )
    codes = []
    for to in ("+13055550001", "+13055550002", "+13055550003"):
        s.send(sms(to))
        codes.append(s.drain_status_updates()[-1].error_code)
    assert codes == ["30005", "30003", "30006"]


def test_number_traits_by_share_are_a_function_of_seed_and_number() -> None:
    a = sim(seed=5, unknown_share=0.1, landline_share=0.1)
    b = sim(seed=5, unknown_share=0.1, landline_share=0.1)
    numbers = [f"+1305555{i:04d}" for i in range(1000)]
    traits = [a.number_trait(n) for n in numbers]
    assert traits == [b.number_trait(n) for n in numbers]
    assert 50 < traits.count("unknown") < 150 and 50 < traits.count("landline") < 150


def test_R_R_04_per_number_limit_answers_30022_over_the_rate() -> None:
    clock = FixedClock(T0)
    s = sim(clock, number_mps=2)
    for n in range(3):
        s.send(sms("+13055550142", n=n))
    finals = [u for u in s.drain_status_updates() if u.status in ("delivered", "failed")]
    assert [(u.status, u.error_code) for u in finals] == [
        ("delivered", None),
        ("delivered", None),
        ("failed", "30022"),
    ]
    clock.advance(timedelta(seconds=1))
    s.send(sms("+13055550142", n=4))
    assert s.drain_status_updates()[-1].status == "delivered"


def test_a_share_of_recipients_texts_stop_or_help_after_delivery() -> None:
    clock = FixedClock(T0)
    s = sim(clock, stop_share=0.1, help_share=0.1, reply_delay=(5, 10), block_after_stop=True)
    numbers = [f"+1305555{i:04d}" for i in range(500)]
    for n, to in enumerate(numbers):
        s.send(sms(to, n=n))
    assert s.drain_inbound() == []
    clock.advance(timedelta(seconds=11))
    replies = s.drain_inbound()
    stops = [r for r in replies if r.body == "STOP"]
    helps = [r for r in replies if r.body == "HELP"]
    assert 25 < len(stops) < 80 and 25 < len(helps) < 80
    assert all(r.to == BIZ for r in replies)
    refused = s.send(sms(stops[0].sender, n=999))
    assert (refused.accepted, refused.error_code) == (False, "21610")


def test_transient_failure_rate_is_seeded_and_near_its_share() -> None:
    def outcomes(seed: int) -> list[bool]:
        s = sim(seed=seed, transient_failure_rate=0.2)
        return [s.send(sms(f"+1305555{i:04d}", n=i)).accepted for i in range(1000)]

    first = outcomes(11)
    assert first == outcomes(11)
    assert 150 < first.count(False) < 250
    assert first != outcomes(12)


def test_reply_is_released_to_drain_inbound() -> None:
    s = sim()
    s.reply("+13055550142", BIZ, "C")
    [got] = s.drain_inbound()
    assert (got.sender, got.to, got.body) == ("+13055550142", BIZ, "C")


def test_realistic_profile_is_faulty_and_default_is_clean() -> None:
    assert SimulatorProfile().transient_failure_rate == 0
    real = SimulatorProfile.realistic()
    assert real.filter_spam and real.number_mps and real.stop_share > 0
