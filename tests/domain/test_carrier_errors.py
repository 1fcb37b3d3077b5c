"""R-E-02 / T-22: the carrier error table decides retries and platform actions, as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.domain import carrier_errors
from frontdesk.domain.carrier_errors import Action, RetryClass, classify, retry_delay

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("code", ["21610", "30004", "30005", "30006", "30007", "30032", "30034"])
def test_R_E_02_T_22_consent_filtering_and_sender_errors_are_never_retried(code: str) -> None:
    error = classify(code)
    assert error.retry is RetryClass.NEVER
    for failures in range(1, 5):
        assert retry_delay(error, failures, NOW, 0.5) is None


@pytest.mark.parametrize(
    ("code", "action"),
    [
        ("21610", Action.RECORD_OPT_OUT),
        ("30005", Action.MARK_INVALID),
        ("30006", Action.MARK_NOT_SMS_CAPABLE),
        ("30007", Action.COUNT_FILTERING),
        ("30032", Action.BLOCK_SENDER),
        ("30034", Action.BLOCK_SENDER),
    ],
)
def test_R_E_02_platform_action_per_code(code: str, action: Action) -> None:
    assert classify(code).action is action


def test_R_E_02_smpp_and_vendor_equivalents_map_onto_the_same_handling() -> None:
    assert classify("telnyx:40300").action is Action.RECORD_OPT_OUT
    assert classify("SMPP:0x58").code == "20429"
    assert classify("smpp:88").code == "20429"  # decimal spelling of 0x58
    assert classify("smpp:0x0000000B").action is Action.MARK_INVALID
    assert classify(30007).code == "30007"
    assert classify(" 30007 ").code == "30007"


def test_R_E_02_unreachable_30003_retries_at_15_minutes_then_2_hours_then_gives_up() -> None:
    error = classify("30003")
    first = retry_delay(error, 1, NOW, 0.0)
    second = retry_delay(error, 2, NOW, 0.0)
    assert first == NOW + timedelta(minutes=15)
    assert second == NOW + timedelta(hours=2)
    assert retry_delay(error, 3, NOW, 0.0) is None


def test_R_E_02_unknown_30008_and_unlisted_codes_get_exactly_one_retry() -> None:
    for code in ("30008", "99999"):
        error = classify(code)
        assert retry_delay(error, 1, NOW, 0.3) is not None
        assert retry_delay(error, 2, NOW, 0.3) is None


def test_R_E_02_provider_outage_backs_off_exponentially_with_bounded_jitter() -> None:
    error = classify(None)  # the send raised: no carrier verdict
    assert error is carrier_errors.NETWORK
    assert classify("network") is carrier_errors.NETWORK  # the Twilio adapter's spelling
    delays = [retry_delay(error, n, NOW, 0.0) for n in range(1, 7)]
    steps = [d - NOW for d in delays if d is not None]
    assert steps == [timedelta(seconds=30 * 2**i) for i in range(6)]
    assert retry_delay(error, 7, NOW, 0.0) is None
    low = retry_delay(error, 3, NOW, 0.0)
    high = retry_delay(error, 3, NOW, 0.999)
    assert low is not None and high is not None
    assert timedelta(0) < high - low <= timedelta(minutes=2) * error.jitter


def test_R_E_02_daily_cap_30023_waits_for_midnight_pacific() -> None:
    # 15:00 UTC on 10 March 2026 is 08:00 PDT; the reset is 11 March 00:00 PDT = 07:00 UTC.
    at = retry_delay(classify("30023"), 1, NOW, 0.0)
    assert at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


def test_retry_delay_counts_failures_from_one() -> None:
    with pytest.raises(ValueError):
        retry_delay(classify("30003"), 0, NOW, 0.0)


def test_the_table_is_data_every_code_is_listed_once_with_a_meaning() -> None:
    codes = [row.code for row in carrier_errors.TABLE.values()]
    assert len(codes) == len(set(codes))
    assert all(row.meaning for row in carrier_errors.TABLE.values())
    for alias, target in carrier_errors.ALIASES.items():
        assert target in carrier_errors.TABLE, alias


def test_an_account_is_slowed_by_rate_limits_overload_and_refused_credentials_only() -> None:
    """Issue 12: 429s, throttling, 5xx and a refused token pause that carrier account;
    an answer about one message or recipient does not."""
    for code in ("20429", "30022", "smpp:0x00000058", "20500", "20503", "20003"):
        assert carrier_errors.slows_account(code), code
    for code in ("21610", "30007", "30005", "30008", None):
        assert not carrier_errors.slows_account(code), code


def test_T_12_answers_that_change_what_we_know_of_the_recipient() -> None:
    assert carrier_errors.recipient_changed("21610")
    assert carrier_errors.recipient_changed("30005")
    assert carrier_errors.recipient_changed("30006")
    assert not carrier_errors.recipient_changed("30007")
    assert not carrier_errors.recipient_changed("20429")
