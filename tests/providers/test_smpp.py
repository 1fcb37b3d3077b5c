"""The SMPP provider against a real SMSC on loopback (npm ``smpp`` server mode).

R-E-01: a message has one status that only moves forward (sent → delivered /
undelivered / failed), even when it travelled as several parts and even when the
receipt overtakes the ``submit_sm_resp`` (design.md). R-E-02: SMSC refusals map to
Twilio-style codes, throttling to the transient 30022. R-S-01 / T-17: the body is split
at the segment boundaries ``domain.segments.count`` bills, GSM-7 or UCS-2, never through
an escape pair or a surrogate pair. The SMSC (``smsc_server.js``) decodes what we send
with its own GSM 03.38 / UTF-16 coders, so the checks do not trust our codec.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.api.app import create_app
from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.domain.segments import count
from frontdesk.providers.base import (
    InboundSms,
    OutboundSms,
    Provider,
    StatusLookup,
    StatusUpdate,
    fetch_status,
)
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.providers.smpp import SUBMIT_ERRORS, SmppConfig, SmppError, SmppProvider
from frontdesk.providers.smpp_pdu import decode_text, encode_text
from frontdesk.services import reconcile
from tests.conftest import ADMIN, BUSINESS_NUMBER, T0, Env
from tests.providers.smsc_harness import HarnessUnavailable, Smsc, install_smpp_package

PATIENT = "+13055550142"
TO = "+15551234567"
FROM = "+15550001111"
POLL_SECONDS = 15.0


@pytest.fixture(scope="session")
def smpp_package() -> Path:
    try:
        return install_smpp_package()
    except HarnessUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def smsc(smpp_package: Path) -> Iterator[Smsc]:
    server = Smsc(smpp_package)
    yield server
    server.stop()


def _config(smsc: Smsc, **overrides: object) -> SmppConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": smsc.port,
        "system_id": "frontdesk",
        "password": "s3cret",
        "system_type": "fd",
        "enquire_link_interval": 60.0,
        "reconnect_initial": 0.05,
        "reconnect_factor": 2.0,
        "reconnect_max": 1.0,
        "throttle_pause": 0.05,
    }
    values.update(overrides)
    return SmppConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def provider(smsc: Smsc) -> Iterator[SmppProvider]:
    carrier = SmppProvider(_config(smsc))
    assert carrier.wait_bound(POLL_SECONDS)
    yield carrier
    carrier.close()


def _sms(body: str, message_id: str = "msg_1") -> OutboundSms:
    return OutboundSms(message_id=message_id, to=TO, sender=FROM, body=body)


def _updates_until(
    carrier: SmppProvider, want: int, collected: list[StatusUpdate] | None = None
) -> list[StatusUpdate]:
    """Drain status updates until ``want`` have arrived (bounded wait, not a timing check)."""
    out = collected if collected is not None else []
    deadline = time.monotonic() + POLL_SECONDS
    while len(out) < want and time.monotonic() < deadline:
        out += carrier.drain_status_updates()
        if len(out) < want:
            time.sleep(0.02)
    return out


def _inbound_until(carrier: SmppProvider, want: int) -> list[InboundSms]:
    out: list[InboundSms] = []
    deadline = time.monotonic() + POLL_SECONDS
    while len(out) < want and time.monotonic() < deadline:
        out += carrier.drain_inbound()
        time.sleep(0.02)
    return out


def test_provider_port_shape() -> None:
    """SMPP is SMS only: the caller refuses MMS before handing off (supports_mms False)."""
    carrier: Provider = SmppProvider(SmppConfig("127.0.0.1", 1, "x", "y"))
    assert carrier.name == "smpp"
    assert carrier.supports_mms is False
    assert carrier.verify_signature("https://x", {}, "sig") is False
    assert isinstance(carrier, StatusLookup)


def test_binds_as_transceiver_with_system_id_password_and_system_type(
    smsc: Smsc, provider: SmppProvider
) -> None:
    bind = smsc.wait("bind")
    assert bind["system_id"] == "frontdesk"
    assert bind["password"] == "s3cret"
    assert bind["system_type"] == "fd"
    assert bind["interface_version"] == 0x34
    assert provider.stats.binds == 1


def test_short_gsm_message_is_one_submit_sm_with_receipt_requested(
    smsc: Smsc, provider: SmppProvider
) -> None:
    """R-S-01: GSM-7 goes as data_coding 0; extension characters survive the escape."""
    body = "Hi Ana {table 4} is ready: 10€ off [today] ~ see you^"
    assert count(body).segments == 1
    result = provider.send(_sms(body))

    submit = smsc.wait("submit_sm")
    assert result.accepted
    assert result.provider_message_id == submit["message_id"]
    assert submit["text"] == body
    assert submit["data_coding"] == 0
    assert submit["esm_class"] == 0
    assert submit["udh"] == []
    assert submit["registered_delivery"] == 1
    assert submit["destination_addr"] == "15551234567"
    assert submit["dest_addr_ton"] == 1
    assert submit["source_addr"] == "15550001111"

    smsc.command("receipt", id=submit["message_id"], stat="DELIVRD")
    updates = _updates_until(provider, 2)
    assert [(u.provider_message_id, u.status) for u in updates] == [
        (submit["message_id"], "sent"),
        (submit["message_id"], "delivered"),
    ]


def test_long_gsm_message_travels_in_parts_with_one_udh_reference_and_one_status(
    smsc: Smsc, provider: SmppProvider
) -> None:
    """T-17: 152 × a + € + 152 × a is 3 parts; the escape pair is never split."""
    body = "a" * 152 + "€" + "a" * 152
    assert count(body).segments == 3
    result = provider.send(_sms(body))

    parts = smsc.wait_count("submit_sm", 3)
    assert result.accepted
    assert result.provider_message_id == parts[0]["message_id"]
    assert "".join(p["text"] for p in parts) == body
    assert parts[0]["text"] == "a" * 152
    assert all(p["esm_class"] & 0x40 for p in parts)
    assert all(p["data_coding"] == 0 for p in parts)
    reference = parts[0]["udh"][0][4:6]
    assert [p["udh"] for p in parts] == [[f"0003{reference}03{n:02x}"] for n in (1, 2, 3)]

    for part in parts[:2]:
        smsc.command("receipt", id=part["message_id"], stat="DELIVRD")
    smsc.wait_count("deliver_sm_resp", 2)
    assert [u.status for u in _updates_until(provider, 1)] == ["sent"]
    assert provider.drain_status_updates() == []

    smsc.command("receipt", id=parts[2]["message_id"], stat="DELIVRD")
    updates = _updates_until(provider, 1)
    assert [(u.provider_message_id, u.status) for u in updates] == [
        (parts[0]["message_id"], "delivered")
    ]


def test_one_undelivered_part_makes_the_whole_message_undelivered(
    smsc: Smsc, provider: SmppProvider
) -> None:
    """R-E-01/R-E-02: the handset cannot show the text; 30003, and no later 'delivered'."""
    result = provider.send(_sms("b" * 200))
    parts = smsc.wait_count("submit_sm", 2)
    smsc.command("receipt", id=parts[1]["message_id"], stat="UNDELIV", err="001")
    smsc.command("receipt", id=parts[0]["message_id"], stat="DELIVRD")
    smsc.wait_count("deliver_sm_resp", 2)
    updates = _updates_until(provider, 2)
    assert [(u.provider_message_id, u.status, u.error_code) for u in updates] == [
        (result.provider_message_id, "sent", None),
        (result.provider_message_id, "undelivered", "30003"),
    ]
    assert provider.drain_status_updates() == []


def test_ucs2_message_with_emoji_never_splits_a_surrogate_pair(
    smsc: Smsc, provider: SmppProvider
) -> None:
    """T-17: one emoji makes the whole body UCS-2 (data_coding 8), split at 67 units."""
    short = "Your order’s ready 😀"
    long = "x" * 66 + "😀" + "x" * 67
    assert count(long).segments == 3
    assert provider.send(_sms(short)).accepted
    assert provider.send(_sms(long, "msg_2")).accepted

    submits = smsc.wait_count("submit_sm", 4)
    assert submits[0]["text"] == short
    assert submits[0]["data_coding"] == 8
    assert submits[0]["udh"] == []
    parts = submits[1:]
    assert all(p["data_coding"] == 8 for p in parts)
    assert [p["text"] for p in parts] == ["x" * 66, "😀" + "x" * 65, "xx"]
    assert "".join(p["text"] for p in parts) == long


def test_receipt_arriving_before_submit_sm_resp_is_not_lost(
    smsc: Smsc, provider: SmppProvider
) -> None:
    """design.md: the SMSC may send the receipt before it answers the submit_sm."""
    smsc.set(receipt="DELIVRD", receipt_first=True)
    result = provider.send(_sms("Reminder: cleaning tomorrow at 9"))

    sent = smsc.wait("receipt_sent")
    assert sent["before_resp"] is True
    assert result.accepted
    assert result.provider_message_id == sent["id"]
    assert provider.stats.early_receipts == 1
    updates = _updates_until(provider, 2)
    assert [(u.provider_message_id, u.status) for u in updates] == [
        (sent["id"], "sent"),
        (sent["id"], "delivered"),
    ]


def test_receipt_text_alone_without_tlvs_is_understood(smsc: Smsc, provider: SmppProvider) -> None:
    """SMPP 3.4 Appendix B: some SMSCs send only the ``id:… stat:…`` text."""
    result = provider.send(_sms("hello"))
    smsc.command("receipt", id=result.provider_message_id, stat="REJECTD", tlv=False)
    updates = _updates_until(provider, 2)
    assert (updates[-1].status, updates[-1].error_code) == ("failed", "30004")


def test_inbound_mo_becomes_inbound_sms(smsc: Smsc, provider: SmppProvider) -> None:
    """An MO ``deliver_sm`` (not a receipt) is an inbound SMS; STOP must reach R-O rules."""
    smsc.command("mo", **{"from": "15557654321", "to": "15550001111", "text": "STOP"})
    inbound = _inbound_until(provider, 1)
    assert [(m.provider, m.sender, m.to, m.body) for m in inbound] == [
        ("smpp", "+15557654321", "+15550001111", "STOP")
    ]
    assert smsc.wait("deliver_sm_resp", lambda e: e["label"] == "mo")["command_status"] == 0
    assert provider.drain_status_updates() == []


def test_concatenated_ucs2_mo_is_reassembled(smsc: Smsc, provider: SmppProvider) -> None:
    first, second = "Can I move my appointment ", "to Friday? 🙏"
    for seq, text in ((1, first), (2, second)):
        smsc.command(
            "mo",
            **{"from": "15557654321", "to": "15550001111", "text": text},
            data_coding=8,
            udh=f"0500037f02{seq:02x}",
        )
    inbound = _inbound_until(provider, 1)
    assert [m.body for m in inbound] == [first + second]


def test_enquire_link_is_answered_and_sent_as_keepalive(smsc: Smsc, smpp_package: Path) -> None:
    carrier = SmppProvider(_config(smsc, enquire_link_interval=0.1))
    try:
        assert carrier.wait_bound(POLL_SECONDS)
        smsc.command("enquire_link")
        assert smsc.wait("enquire_link_resp")["command_status"] == 0
        smsc.wait_count("enquire_link", 2)
        assert carrier.ping()
        assert carrier.stats.enquire_links_received == 1
    finally:
        carrier.close()
    assert smsc.wait("unbind")


def test_reconnects_with_exponential_backoff_after_the_smsc_drops_the_link(
    smsc: Smsc, provider: SmppProvider
) -> None:
    smsc.set(reject_binds=2)
    smsc.command("drop")
    smsc.wait_count("bind", 4)
    result = provider.send(_sms("still here"))
    assert result.accepted
    assert provider.stats.binds == 2
    assert provider.stats.bind_failures == 2
    assert provider.stats.backoff_delays == [0.05, 0.1, 0.2]


def test_throttling_is_a_transient_30022_and_an_invalid_number_a_permanent_30005(
    smsc: Smsc, provider: SmppProvider
) -> None:
    """R-E-02: ESME_RTHROTTLED → 30022 retry slower; ESME_RINVDSTADR → 30005 never retry."""
    smsc.set(throttle=1)
    throttled = provider.send(_sms("hi"))
    assert (throttled.accepted, throttled.error_code) == (False, "30022")
    assert throttled.error_message is not None and "transient" in throttled.error_message
    assert SUBMIT_ERRORS[0x58].retry is True
    assert provider.send(_sms("hi again")).accepted

    smsc.set(invalid_dest=["15551234567"])
    invalid = provider.send(_sms("hi"))
    assert (invalid.accepted, invalid.error_code) == (False, "30005")
    assert SUBMIT_ERRORS[0x0B].retry is False


def test_a_throttled_later_part_is_retried_so_the_message_stays_whole(
    smsc: Smsc, provider: SmppProvider
) -> None:
    smsc.set(throttle=1, throttle_after=1)
    result = provider.send(_sms("c" * 200))
    submits = smsc.wait_count("submit_sm", 3)
    assert result.accepted
    assert [s["command_status"] for s in submits] == [0, 0x58, 0]
    assert submits[1]["udh"] == submits[2]["udh"]
    accepted = [s for s in submits if s["command_status"] == 0]
    assert "".join(s["text"] for s in accepted) == "c" * 200


def test_submit_window_bounds_outstanding_submit_sm(smsc: Smsc) -> None:
    smsc.set(delay_resp_ms=150)
    carrier = SmppProvider(_config(smsc, window=2))
    try:
        assert carrier.wait_bound(POLL_SECONDS)
        results = []
        threads = [
            threading.Thread(target=lambda i=i: results.append(carrier.send(_sms(f"m{i}"))))
            for i in range(5)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        submits = smsc.wait_count("submit_sm", 5)
        assert all(r.accepted for r in results)
        assert max(s["outstanding"] for s in submits) <= 2
    finally:
        carrier.close()


def test_mms_is_refused_without_touching_the_smsc(smsc: Smsc, provider: SmppProvider) -> None:
    message = OutboundSms("m", TO, FROM, "photo", media_urls=("https://x/y.jpg",))
    assert provider.send(message).accepted is False
    smsc.command("ping")
    smsc.wait("pong")
    assert smsc.events("submit_sm") == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"ab {}€\n", "😀", "ç", "👍🏽", "e\u0301", "🇺🇸"]),
        max_size=400,
    ).map("".join)
)
def test_parts_follow_the_segment_counter(body: str) -> None:
    """R-S-01: we send exactly the parts we counted and billed, and lose no character."""
    encoded = encode_text(body)
    counted = count(body)
    assert len(encoded.parts) == counted.segments
    assert encoded.encoding == counted.encoding
    assert "".join(decode_text(p, encoded.data_coding) for p in encoded.parts) == counted.body
    limit = (160 if encoded.data_coding == 0 else 140) if len(encoded.parts) == 1 else 153
    if encoded.data_coding == 8 and len(encoded.parts) > 1:
        limit = 134
    assert all(len(p) <= limit for p in encoded.parts)


def test_duplicate_final_receipts_add_nothing(smsc: Smsc, provider: SmppProvider) -> None:
    """R-E-01: callbacks arrive duplicated; the message keeps one final status."""
    result = provider.send(_sms("hello"))
    for _ in range(2):
        smsc.command("receipt", id=result.provider_message_id, stat="DELIVRD")
    smsc.wait_count("deliver_sm_resp", 2)
    updates = _updates_until(provider, 2)
    assert [u.status for u in updates] == ["sent", "delivered"]
    assert provider.drain_status_updates() == []
    assert provider.stats.early_receipts == 0


def test_unreachable_smsc_is_a_transient_refusal(smsc: Smsc) -> None:
    """R-E-02: no bind within bind_timeout → 20503 (provider unavailable), retried with backoff."""
    smsc.set(reject_binds=1000)
    carrier = SmppProvider(_config(smsc, bind_timeout=0.3))
    try:
        result = carrier.send(_sms("hi"))
        assert (result.accepted, result.error_code) == (False, "20503")
        assert result.error_message is not None and "transient" in result.error_message
        assert smsc.events("submit_sm") == []
    finally:
        carrier.close()


def test_unanswered_enquire_link_drops_the_link_and_rebinds(smsc: Smsc) -> None:
    smsc.set(ignore_enquire=True)
    carrier = SmppProvider(_config(smsc, enquire_link_interval=0.1, response_timeout=0.3))
    try:
        assert carrier.wait_bound(POLL_SECONDS)
        smsc.wait_count("bind", 2)
        smsc.set(ignore_enquire=False)
        assert carrier.send(_sms("after rebind")).accepted
        assert carrier.stats.binds >= 2
    finally:
        carrier.close()


def test_smsc_unbind_is_answered_and_the_session_rebinds(
    smsc: Smsc, provider: SmppProvider
) -> None:
    """Each successful bind resets the backoff: two unbinds, two first-step delays."""
    for round_ in (1, 2):
        smsc.command("unbind")
        smsc.wait_count("unbind_resp", round_)
        smsc.wait_count("bind", round_ + 1)
        assert provider.send(_sms("back")).accepted
    assert all(e["command_status"] == 0 for e in smsc.events("unbind_resp"))
    assert provider.stats.backoff_delays == [0.05, 0.05]


@pytest.fixture
def smpp_env(tmp_path: Path, smsc: Smsc) -> Iterator[tuple[Env, SmppProvider]]:
    """The whole platform (API, services, worker, SQLite) with SMPP as its carrier."""
    carrier = SmppProvider(_config(smsc))
    db_path = tmp_path / "frontdesk.db"
    # This test is about SMPP delivery, not 10DLC registration (tests/api/test_registry.py).
    settings = Settings(
        database_url=f"sqlite:///{db_path}", admin_token=ADMIN, require_registration=False
    )
    clock = FixedClock(T0)
    container = build(settings, clock=clock, provider=carrier)
    app = create_app(container, start_worker=False)
    with TestClient(app) as client:
        yield Env(container, client, clock, CarrierSimulator(), db_path), carrier
    container.close()
    carrier.close()


def test_R_E_01_long_reminder_over_smpp_reaches_delivered_once_all_parts_are(
    smsc: Smsc, smpp_env: tuple[Env, SmppProvider]
) -> None:
    """End to end: the worker hands off over SMPP, the receipts overtake the resps, and
    the message row still ends ``delivered`` under the first part's id."""
    env, _ = smpp_env
    smsc.set(receipt="DELIVRD", receipt_first=True)
    t = env.tenant(number=None)
    number = t.post("/v1/numbers", {"number": BUSINESS_NUMBER, "provider": "smpp"})
    assert number.status_code == 201, number.text
    t.number = BUSINESS_NUMBER
    t.consent(PATIENT)
    body = (
        "Bright Smile Dental: your cleaning is Tue at 3:00 pm with Dr. Lee. Please arrive "
        "10 minutes early and bring your insurance card. Reply C to confirm or call us to "
        "reschedule. Reply STOP to opt out."
    )
    assert count(body).segments == 2
    queued = t.send(PATIENT, body).json()
    env.step()

    parts = smsc.wait_count("submit_sm", 2)
    got = t.get(f"/v1/messages/{queued['id']}").json()
    assert "".join(p["text"] for p in parts) == body
    assert {p["source_addr"] for p in parts} == {"14155550100"}
    assert got["provider_message_id"] == parts[0]["message_id"]
    assert [e["status"] for e in got["events"]] == ["queued", "sending", "sent", "delivered"]
    assert got["status"] == "delivered"


def test_an_smsc_specific_receipt_error_maps_to_our_code(smsc: Smsc) -> None:
    """R-E-02: an SMSC whose err 001 means "unknown subscriber" yields 30005 (never retry)."""
    carrier = SmppProvider(_config(smsc, receipt_error_codes={"001": "30005"}))
    try:
        result = carrier.send(_sms("hello"))
        smsc.command("receipt", id=result.provider_message_id, stat="UNDELIV", err="001")
        updates = _updates_until(carrier, 2)
        assert (updates[-1].status, updates[-1].error_code) == ("undelivered", "30005")
    finally:
        carrier.close()


# --- query_sm: the look-up reconciliation asks when a receipt never came (guarantee 2) ---


def _accepted(smsc: Smsc, carrier: SmppProvider, body: str, count: int = 1) -> list[str]:
    """Submit ``body``; its parts' SMSC ids. The ``sent`` report is drained."""
    before = len(smsc.events("submit_sm"))
    assert carrier.send(_sms(body)).accepted
    parts = smsc.wait_count("submit_sm", before + count)[before:]
    _updates_until(carrier, 1)
    return [p["message_id"] for p in parts]


def test_guarantee_2_query_sm_reads_the_state_of_a_message_whose_receipt_was_lost(
    smsc: Smsc, provider: SmppProvider
) -> None:
    [mid] = _accepted(smsc, provider, "Bright Smile Dental: see you Tue. Reply STOP to opt out.")
    assert provider.fetch_status(mid, sender=FROM) == StatusUpdate(
        "smpp", mid, "sent", None, source="lookup"
    )
    smsc.command("state", id=mid, stat="DELIVRD")
    smsc.wait("state")
    update = fetch_status(provider, mid, sender=FROM)
    assert update is not None and (update.status, update.source) == ("delivered", "lookup")
    asked = smsc.wait_count("query_sm", 2)  # its stdout line may trail the resp
    assert [(q["message_id"], q["source_addr"], q["known"]) for q in asked] == [
        (mid, "15550001111", True),
        (mid, "15550001111", True),
    ]
    assert provider.drain_status_updates() == [], "a look-up is an answer, not a receipt"


def test_R_E_02_a_failed_part_found_by_query_sm_fails_the_message_with_its_code(
    smsc: Smsc,
) -> None:
    carrier = SmppProvider(_config(smsc, receipt_error_codes={"001": "30005"}))
    try:
        assert carrier.wait_bound(POLL_SECONDS)
        first, second = _accepted(smsc, carrier, "b" * 200, count=2)
        smsc.command("state", id=first, stat="DELIVRD")
        smsc.command("state", id=second, stat="UNDELIV", err="001")
        smsc.wait_count("state", 2)
        update = carrier.fetch_status(first, sender=FROM, parts=2)
        assert update is not None and (update.status, update.error_code) == (
            "undelivered",
            "30005",
        )
        asked = smsc.wait_count("query_sm", 2)  # its stdout line may trail the resp
        assert [q["message_id"] for q in asked] == [first, second]
    finally:
        carrier.close()


def test_after_a_restart_a_multi_part_message_is_never_called_delivered_from_one_part(
    smsc: Smsc, provider: SmppProvider
) -> None:
    """Only the first part's id survives a restart: its DELIVRD says nothing of the rest."""
    first, _ = _accepted(smsc, provider, "c" * 200, count=2)
    smsc.command("state", id=first, stat="DELIVRD")
    smsc.wait("state")
    restarted = SmppProvider(_config(smsc))
    try:
        assert restarted.wait_bound(POLL_SECONDS)
        update = restarted.fetch_status(first, sender=FROM, parts=2)
        assert update is not None and update.status == "sent"
        single = restarted.fetch_status(first, sender=FROM, parts=1)
        assert single is not None and single.status == "delivered"
        smsc.command("state", id=first, stat="EXPIRED")
        smsc.wait_count("state", 2)
        expired = restarted.fetch_status(first, sender=FROM, parts=2)
        assert expired is not None and (expired.status, expired.error_code) == (
            "undelivered",
            "30003",
        )
    finally:
        restarted.close()


def test_an_id_the_smsc_does_not_know_is_no_answer_and_an_unbound_link_raises(
    smsc: Smsc, provider: SmppProvider
) -> None:
    assert provider.fetch_status("smsc-999999", sender=FROM) is None
    [mid] = _accepted(smsc, provider, "Bright Smile Dental: hello. Reply STOP to opt out.")
    assert provider.fetch_status(mid, sender="+15550009999") is None, "source must match"
    unbound = SmppProvider(_config(smsc, port=1, reconnect_initial=5.0))
    try:
        with pytest.raises(SmppError, match="not bound"):
            unbound.fetch_status(mid, sender=FROM)
    finally:
        unbound.close()


def test_guarantee_2_the_worker_reconciles_an_smpp_message_whose_receipts_were_lost(
    smsc: Smsc, smpp_env: tuple[Env, SmppProvider]
) -> None:
    """End to end: two parts handed off, their receipts never sent; the worker's
    reconciliation asks query_sm for both (this process still knows both ids) and the
    row ends ``delivered`` through the receipt path."""
    env, _ = smpp_env
    t = env.tenant(number=None)
    number = t.post("/v1/numbers", {"number": BUSINESS_NUMBER, "provider": "smpp"})
    assert number.status_code == 201, number.text
    t.consent(PATIENT)
    body = (
        "Bright Smile Dental: your cleaning is Tue at 3:00 pm with Dr. Lee. Please arrive "
        "10 minutes early and bring your insurance card. Reply C to confirm or call us to "
        "reschedule. Reply STOP to opt out."
    )
    queued = t.send(PATIENT, body).json()
    env.step()
    parts = smsc.wait_count("submit_sm", 2)
    for part in parts:
        smsc.command("state", id=part["message_id"], stat="DELIVRD")
    smsc.wait_count("state", 2)
    deadline = time.monotonic() + POLL_SECONDS
    while t.get(f"/v1/messages/{queued['id']}").json()["status"] != "sent":
        assert time.monotonic() < deadline, "the sent report never arrived"
        env.step()
        time.sleep(0.02)

    env.clock.advance(reconcile.AFTER + timedelta(seconds=1))
    assert env.container.worker.reconcile() == 1

    got = t.get(f"/v1/messages/{queued['id']}").json()
    assert got["status"] == "delivered"
    asked = smsc.wait_count("query_sm", 2)  # its stdout line may trail the resp
    assert [q["message_id"] for q in asked] == [p["message_id"] for p in parts]
    assert {q["source_addr"] for q in asked} == {"14155550100"}
