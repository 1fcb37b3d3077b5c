"""Carrier error codes as data: how to retry and what the platform must do (R-E-02, R-E-03).

Twilio warns that error-code semantics change and advises against hard-coding
logic on them, so the table below is data: a code maps to a retry class and a
platform action, and :func:`retry_delay` turns a class into a backoff. Other
carriers' codes (SMPP ``command_status``, vendor delivery-receipt codes) are
mapped onto the Twilio code with the same meaning through :data:`ALIASES`.

Pure: standard library only; the caller passes ``now`` and the
jitter draw, so the schedule is deterministic in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from frontdesk.domain.throttle import next_pacific_midnight


class RetryClass(StrEnum):
    """How a failed attempt may be repeated (R-E-02 "Retry?" column)."""

    NEVER = "never"
    TRANSIENT = "transient"  # back off along the schedule, then give up
    AFTER_RESET = "after_reset"  # wait for the daily cap's reset (midnight Pacific)
    ONCE = "once"  # one more try after the schedule's only delay


class Action(StrEnum):
    """What the platform records besides the message's own failure (R-E-02, R-E-03)."""

    NONE = "none"
    RECORD_OPT_OUT = "record_opt_out"  # 21610: the recipient opted out at the carrier (T-12)
    MARK_INVALID = "mark_invalid"  # 30005: unknown or inactive; reassignment signal (R-D-03)
    MARK_NOT_SMS_CAPABLE = "mark_not_sms_capable"  # 30006: landline
    BLOCK_SENDER = "block_sender"  # 30032/30034: the sending number may not send
    COUNT_FILTERING = "count_filtering"  # 30007: feeds the filtering rate (R-E-04)
    FLAG_UNREACHABLE = "flag_unreachable"  # 30003 after the retries are spent
    SLOW_DOWN = "slow_down"  # 30022/20429: over a rate limit


@dataclass(frozen=True, slots=True)
class CarrierError:
    code: str
    meaning: str
    retry: RetryClass
    action: Action = Action.NONE
    schedule: tuple[timedelta, ...] = ()
    jitter: float = 0.2  # share of each delay added at random, 0..jitter

    @property
    def permanent(self) -> bool:
        return self.retry is RetryClass.NEVER


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


# Exponential 30 s, 1, 2, 4, 8, 16 min: a provider outage or a timeout (no carrier verdict).
EXPONENTIAL: tuple[timedelta, ...] = tuple(timedelta(seconds=30 * 2**i) for i in range(6))

_ROWS: tuple[CarrierError, ...] = (
    CarrierError(
        "21610",
        "recipient opted out of this sender (STOP)",
        RetryClass.NEVER,
        Action.RECORD_OPT_OUT,
    ),
    CarrierError(
        "30003",
        "unreachable handset",
        RetryClass.TRANSIENT,
        Action.FLAG_UNREACHABLE,
        (_m(15), _m(120)),
    ),
    CarrierError("30004", "message blocked", RetryClass.NEVER),
    CarrierError("30005", "unknown or inactive number", RetryClass.NEVER, Action.MARK_INVALID),
    CarrierError(
        "30006", "landline or unreachable carrier", RetryClass.NEVER, Action.MARK_NOT_SMS_CAPABLE
    ),
    CarrierError(
        "30007", "filtered as spam, fraud or abuse", RetryClass.NEVER, Action.COUNT_FILTERING
    ),
    CarrierError("30008", "unknown error", RetryClass.ONCE, Action.NONE, (_m(5),)),
    CarrierError(
        "30022",
        "10DLC rate limit exceeded",
        RetryClass.TRANSIENT,
        Action.SLOW_DOWN,
        (_m(1), _m(2), _m(5), _m(10), _m(20)),
    ),
    CarrierError("30023", "10DLC daily cap reached", RetryClass.AFTER_RESET, Action.SLOW_DOWN),
    CarrierError("30032", "toll-free number not verified", RetryClass.NEVER, Action.BLOCK_SENDER),
    CarrierError(
        "30034",
        "message from an unregistered 10DLC number",
        RetryClass.NEVER,
        Action.BLOCK_SENDER,
    ),
    CarrierError(
        "30450",
        "SMS-pumping protection temporary block",
        RetryClass.ONCE,
        Action.NONE,
        (_m(15),),
        jitter=1.0,
    ),
    # Twilio REST errors returned by the send call itself: no carrier verdict yet.
    CarrierError("20429", "too many requests", RetryClass.TRANSIENT, Action.SLOW_DOWN, EXPONENTIAL),
    CarrierError(
        "20500", "provider internal error", RetryClass.TRANSIENT, Action.NONE, EXPONENTIAL
    ),
    CarrierError("20503", "provider unavailable", RetryClass.TRANSIENT, Action.NONE, EXPONENTIAL),
    # A carrier account whose credentials are refused (a tenant's wrong or revoked token):
    # one retry after 15 minutes gives the business time to fix it; the dispatcher also
    # pauses that account (``slows_account``), and no other account is touched.
    CarrierError(
        "20003", "carrier account authentication failed", RetryClass.ONCE, Action.NONE, (_m(15),)
    ),
)

TABLE: Mapping[str, CarrierError] = {row.code: row for row in _ROWS}

# Another carrier's code -> the Twilio code with the same meaning and handling.
ALIASES: Mapping[str, str] = {
    # SMPP v3.4 command_status in submit_sm_resp.
    "smpp:0x00000058": "20429",  # ESME_RTHROTTLED
    "smpp:0x00000014": "20503",  # ESME_RMSGQFUL
    "smpp:0x00000008": "20500",  # ESME_RSYSERR
    "smpp:0x00000045": "30008",  # ESME_RSUBMITFAIL
    "smpp:0x00000064": "30008",  # ESME_RX_T_APPN: temporary application error
    "smpp:0x0000000b": "30005",  # ESME_RINVDSTADR: invalid destination address
    "smpp:0x00000065": "30004",  # ESME_RX_P_APPN: permanent application error
    "smpp:0x00000066": "30004",  # ESME_RX_R_APPN: rejected by the application
    # Vendor delivery-receipt codes.
    "telnyx:40300": "21610",  # blocked due to STOP message
    "telnyx:40001": "30006",  # not routable (landline)
    "telnyx:40008": "30005",  # undeliverable / unknown subscriber
    "telnyx:40002": "30007",  # blocked as spam
    "telnyx:40011": "30022",  # too many requests to a destination
}

# An unknown code gets one more try: it might be transient, and one retry cannot
# become a pattern of retrying a refusal (T-22).
UNKNOWN = CarrierError("unknown", "unrecognised error", RetryClass.ONCE, Action.NONE, (_m(5),))

# A send that raised (timeout, connection reset): the carrier may or may not have it.
NETWORK = CarrierError(
    "network", "no answer from the provider", RetryClass.TRANSIENT, Action.NONE, EXPONENTIAL
)


def normalise(code: str | int | None) -> str | None:
    """``"30007"``, ``30007``, ``" 30007 "`` and ``"SMPP:0x58"`` spellings to one key."""
    if code is None:
        return None
    text = str(code).strip().lower()
    if not text:
        return None
    if text.startswith("smpp:"):
        raw = text.split(":", 1)[1]
        try:
            value = int(raw, 16) if raw.startswith("0x") else int(raw)
        except ValueError:
            return text
        return f"smpp:0x{value:08x}"
    return text


def classify(code: str | int | None) -> CarrierError:
    """The table row for a code (after aliasing); :data:`UNKNOWN` when it is not listed."""
    key = normalise(code)
    if key is None:
        return NETWORK
    key = ALIASES.get(key, key)
    if key == NETWORK.code:  # a provider adapter's own "no answer" (Twilio adapter: "network")
        return NETWORK
    return TABLE.get(key, UNKNOWN)


def is_permanent(code: str | int | None) -> bool:
    return classify(code).permanent


def retry_delay(
    error: CarrierError, failures: int, now: datetime, jitter_draw: float
) -> datetime | None:
    """When to try again after the ``failures``-th failed attempt, or None to give up.

    ``jitter_draw`` in [0, 1) spreads retries so a carrier outage does not come
    back as a thundering herd; the caller derives it from the message id so the
    schedule repeats exactly. Never retries a permanent error (T-22).
    """
    if failures < 1:
        raise ValueError("failures counts attempts that failed, starting at 1")
    if error.retry is RetryClass.NEVER:
        return None
    if error.retry is RetryClass.AFTER_RESET:
        if failures > 2:
            return None
        spread = timedelta(minutes=30) * jitter_draw
        return next_pacific_midnight(now) + spread
    if error.retry is RetryClass.ONCE and failures > 1:
        return None
    if failures > len(error.schedule):
        return None
    base = error.schedule[failures - 1]
    return now + base + base * (error.jitter * jitter_draw)


OVERLOADED = frozenset({"20500", "20503", "20003"})


def slows_account(code: str | int | None) -> bool:
    """Does this answer mean the carrier account is over its rate or overloaded?

    Twilio's 429 (20429) and a carrier's queue-full or throttled answers (30022,
    SMPP ``ESME_RTHROTTLED``/``ESME_RMSGQFUL`` through their aliases) say "slower";
    a 5xx says the carrier is struggling. The dispatcher backs that account off and
    narrows its window; the message itself is retried by its own schedule (R-E-02),
    never dropped. Refused credentials (20003) pause the account too: every send
    through it would fail the same way. A permanent error about one message says
    nothing about the account.
    """
    if code is None:
        return False
    error = classify(code)
    return error.action is Action.SLOW_DOWN or error.code in OVERLOADED


RECIPIENT_ACTIONS = frozenset(
    {Action.RECORD_OPT_OUT, Action.MARK_INVALID, Action.MARK_NOT_SMS_CAPABLE}
)


def recipient_changed(code: str | int | None) -> bool:
    """Does this refusal change what the gate knows of the recipient (T-12, R-E-02)?

    A 21610 records an opt-out, a 30005 marks the number invalid, a 30006 a landline:
    a message to the same recipient decided before this answer must be decided again.
    """
    return code is not None and classify(code).action in RECIPIENT_ACTIONS
