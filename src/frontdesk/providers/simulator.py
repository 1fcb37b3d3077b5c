"""The built-in carrier simulator: the embedded default, the demo's and the benchmarks' carrier.

It accepts a message, then reports ``sent`` and ``delivered`` through the same
status path a real carrier's callback takes (``drain_status_updates`` ->
``services.status.apply_status``). A :class:`SimulatorProfile` turns on the
faults real carriers have (R-E-01, R-E-02): receipts delayed, duplicated and out
of order; spam-like content filtered (30007); unknown (30005), unreachable
(30003) and landline (30006) numbers; a per-number rate limit (30022); a share
of recipients who text STOP or HELP back (``drain_inbound``); a share of
transient send failures (20503). The default profile is fault-free; the
benchmarks use it, the demo uses :meth:`SimulatorProfile.realistic`.

Every random choice comes from the seed: per-number traits from a hash of
(seed, number), per-send draws from one ``random.Random(seed)``, so a run with
the same calls in the same order repeats. Simulated delays are measured on the
injected clock; a report is released by ``drain_status_updates`` once its time
has come. Providers never touch the database.

Like a real carrier it remembers what became of every message it accepted, and
:meth:`CarrierSimulator.fetch_status` answers from that record at the clock's
time (``None`` before ``sent``), whether or not its receipts were drained:
:meth:`CarrierSimulator.lose_pending_receipts` leaves the state a killed process
leaves (receipts held in memory gone), which ``services.reconcile`` recovers
from (guarantee 2). The record takes no random draw, so seeded runs are unchanged.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import random
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from frontdesk.clock import Clock, SystemClock
from frontdesk.domain import segments
from frontdesk.providers.base import InboundSms, OutboundSms, SendResult, StatusUpdate

SPAM_MARKERS: tuple[str, ...] = (
    "bit.ly",
    "tinyurl",
    "free money",
    "you have won",
    "winner",
    "act now",
    "crypto",
    "loan approved",
)

_T = TypeVar("_T")


@dataclass(frozen=True)
class SimulatorProfile:
    """The simulated carrier's limits and faults; everything off by default."""

    sent_delay: tuple[float, float] = (0.0, 0.0)  # seconds, uniform
    delivered_delay: tuple[float, float] = (0.0, 0.0)  # seconds after the sent receipt
    duplicate_rate: float = 0.0  # share of receipts reported twice
    reorder_rate: float = 0.0  # share of messages whose final receipt overtakes ``sent``
    per_part_receipts: bool = False  # SMPP style: one ``delivered`` per segment, same id
    transient_failure_rate: float = 0.0  # send() answers 20503 (provider unavailable)
    filter_spam: bool = False  # 30007 for bodies with spam markers
    spam_markers: tuple[str, ...] = SPAM_MARKERS
    unknown_numbers: frozenset[str] = frozenset()  # 30005
    unreachable_numbers: frozenset[str] = frozenset()  # 30003
    landlines: frozenset[str] = frozenset()  # 30006
    unknown_share: float = 0.0
    unreachable_share: float = 0.0
    landline_share: float = 0.0
    number_mps: float | None = None  # carrier limit per sending number; over it: 30022
    stop_share: float = 0.0  # recipients who answer STOP after delivery
    help_share: float = 0.0  # recipients who answer HELP after delivery
    reply_delay: tuple[float, float] = (5.0, 120.0)
    block_after_stop: bool = False  # toll-free style: the carrier refuses with 21610
    sender_errors: Mapping[str, str] = field(default_factory=dict)  # e.g. {number: "30032"}

    @classmethod
    def realistic(cls) -> SimulatorProfile:
        """A profile for the demo: receipts seconds late, a few faults of each kind."""
        return cls(
            sent_delay=(0.2, 2.0),
            delivered_delay=(1.0, 8.0),
            duplicate_rate=0.03,
            reorder_rate=0.05,
            per_part_receipts=True,
            transient_failure_rate=0.02,
            filter_spam=True,
            unknown_share=0.01,
            unreachable_share=0.01,
            landline_share=0.02,
            number_mps=1.0,
            stop_share=0.01,
            help_share=0.005,
            block_after_stop=True,
        )


FAULT_FREE = SimulatorProfile()

# What became of an accepted message: (sent at, final at, final status, error code);
# ``sent at`` is None when the carrier refused it outright (no ``sent`` report).
_Outcome = tuple[datetime | None, datetime, str, str | None]


def _unit(*parts: object) -> float:
    """A uniform draw in [0, 1) from a hash: the same for the same inputs in any process."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class CarrierSimulator:
    name: str = "simulator"
    supports_mms: bool = True
    seed: int = 7
    profile: SimulatorProfile = FAULT_FREE
    clock: Clock = field(default_factory=SystemClock)
    memory: int = 100_000
    sent: list[OutboundSms] = field(default_factory=list)
    refused: list[tuple[OutboundSms, str]] = field(default_factory=list)
    instance: str = field(default_factory=lambda: secrets.token_hex(4))
    _pending_status: list[tuple[datetime, int, StatusUpdate]] = field(default_factory=list)
    _pending_inbound: list[tuple[datetime, int, InboundSms]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _rng: random.Random = field(init=False)
    _recent: dict[str, deque[datetime]] = field(default_factory=dict)
    _answered: set[str] = field(default_factory=set)
    _stopped_at: dict[str, datetime] = field(default_factory=dict)
    _outcomes: dict[str, _Outcome] = field(default_factory=dict)
    _remembered: deque[str] = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.memory < 1:
            raise ValueError("memory: the simulator must remember at least 1 message")
        self._rng = random.Random(self.seed)
        self._remembered = deque(maxlen=self.memory)

    # the provider port ---------------------------------------------------------
    def send(self, message: OutboundSms) -> SendResult:
        p = self.profile
        with self._lock:
            now = self.clock.now()
            stopped = self._stopped_at.get(message.to)
            if p.block_after_stop and stopped is not None and stopped <= now:
                return self._refuse(message, "21610", "recipient opted out (STOP)")
            sender_error = p.sender_errors.get(message.sender or "")
            if sender_error is not None:
                return self._refuse(message, sender_error, "sender refused")
            if p.transient_failure_rate and self._rng.random() < p.transient_failure_rate:
                return self._refuse(message, "20503", "carrier temporarily unavailable")
            provider_id = f"SM{self.instance}{next(self._ids):012d}"
            self._keep(self.sent, message)
            verdict = self._verdict(message, now)
            sent_at = now + self._delay(p.sent_delay)
            if verdict is not None and verdict[0] == "failed":
                self._report(sent_at, provider_id, "failed", verdict[1])
                self._remember(provider_id, (None, sent_at, "failed", verdict[1]))
                return SendResult(accepted=True, provider_message_id=provider_id)
            final_at = sent_at + self._delay(p.delivered_delay)
            if p.reorder_rate and self._rng.random() < p.reorder_rate:
                sent_at, final_at = final_at, sent_at
            self._report(sent_at, provider_id, "sent")
            if verdict is not None:
                self._report(final_at, provider_id, verdict[0], verdict[1])
                self._remember(provider_id, (sent_at, final_at, verdict[0], verdict[1]))
                return SendResult(accepted=True, provider_message_id=provider_id)
            self._remember(provider_id, (sent_at, final_at, "delivered", None))
            parts = segments.count(message.body).segments if p.per_part_receipts else 1
            for _ in range(max(parts, 1)):
                self._report(final_at, provider_id, "delivered")
            self._maybe_answer(message, final_at)
        return SendResult(accepted=True, provider_message_id=provider_id)

    async def send_async(self, message: OutboundSms) -> SendResult:
        """The in-process carrier answers at once: no I/O to wait for (``AsyncSend``)."""
        return self.send(message)

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms:
        return InboundSms(self.name, form.get("id"), form["from"], form["to"], form.get("body", ""))

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate:
        return StatusUpdate(self.name, form["id"], form["status"], form.get("error_code"))

    def verify_signature(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        return True

    def drain_status_updates(self) -> list[StatusUpdate]:
        """Receipts whose simulated time has come, in the order the carrier would send them."""
        with self._lock:
            return self._release(self._pending_status)

    def drain_inbound(self) -> list[InboundSms]:
        with self._lock:
            return self._release(self._pending_inbound)

    def fetch_status(
        self, provider_message_id: str, *, sender: str | None = None, parts: int = 1
    ) -> StatusUpdate | None:
        """The carrier's record of the message at the clock's time (``StatusLookup``).

        The final status once its time has come, else ``sent`` once that has; None
        before either, and for an id this carrier never accepted or has forgotten.
        """
        with self._lock:
            outcome = self._outcomes.get(provider_message_id)
            if outcome is None:
                return None
            sent_at, final_at, final, code = outcome
            now = self.clock.now()
            if final_at <= now:
                return StatusUpdate(
                    self.name, provider_message_id, final, code, final_at, source="lookup"
                )
            if sent_at is not None and sent_at <= now:
                return StatusUpdate(
                    self.name, provider_message_id, "sent", None, sent_at, source="lookup"
                )
            return None

    # helpers for tests and the demo ------------------------------------------------
    def sent_to(self, e164: str) -> list[OutboundSms]:
        with self._lock:
            return [m for m in self.sent if m.to == e164]

    def reply(self, sender: str, to: str, body: str) -> None:
        """A recipient's handset texts the business (used by the demo)."""
        with self._lock:
            self._queue_inbound(self.clock.now(), sender, to, body)

    def opt_out_at_carrier(self, e164: str) -> None:
        """The recipient texted STOP to the carrier itself (toll-free: the carrier then blocks)."""
        with self._lock:
            self._stopped_at[e164] = self.clock.now()

    def lose_pending_receipts(self) -> int:
        """Discard every receipt not yet drained, as a killed process loses them; returns
        how many. The carrier's record (:meth:`fetch_status`) is kept."""
        with self._lock:
            lost = len(self._pending_status)
            self._pending_status.clear()
            return lost

    def forget(self, provider_message_id: str) -> None:
        """The carrier no longer knows the message: :meth:`fetch_status` answers None."""
        with self._lock:
            self._outcomes.pop(provider_message_id, None)

    def pending(self) -> int:
        """Receipts and replies not yet released."""
        with self._lock:
            return len(self._pending_status) + len(self._pending_inbound)

    def number_trait(self, e164: str) -> str | None:
        """The carrier's view of a number: ``unknown``, ``unreachable``, ``landline`` or None."""
        p = self.profile
        if e164 in p.unknown_numbers:
            return "unknown"
        if e164 in p.unreachable_numbers:
            return "unreachable"
        if e164 in p.landlines:
            return "landline"
        u = _unit(self.seed, "number", e164)
        for trait, share in (
            ("unknown", p.unknown_share),
            ("unreachable", p.unreachable_share),
            ("landline", p.landline_share),
        ):
            if u < share:
                return trait
            u -= share
        return None

    # internals ---------------------------------------------------------------
    def _remember(self, provider_id: str, outcome: _Outcome) -> None:
        """Record the outcome, forgetting the oldest once ``memory`` are held."""
        remembered = self._remembered
        if len(remembered) == remembered.maxlen:
            self._outcomes.pop(remembered[0], None)
        remembered.append(provider_id)
        self._outcomes[provider_id] = outcome

    def _keep(self, kept: list[_T], item: _T) -> None:
        """Append to ``sent`` or ``refused``, which stay plain lists for the tests and
        the demo: past ``memory`` plus a quarter, the oldest beyond ``memory`` are
        dropped at once, so trimming costs O(1) per message on average."""
        kept.append(item)
        if len(kept) > self.memory + self.memory // 4:
            del kept[: len(kept) - self.memory]

    def _refuse(self, message: OutboundSms, code: str, text: str) -> SendResult:
        self._keep(self.refused, (message, code))
        return SendResult(accepted=False, error_code=code, error_message=text)

    def _verdict(self, message: OutboundSms, now: datetime) -> tuple[str, str] | None:
        p = self.profile
        if p.number_mps and message.sender:
            slow = p.number_mps < 1
            window = timedelta(seconds=1 / p.number_mps if slow else 1)
            limit = 1 if slow else int(p.number_mps)
            recent = self._recent.setdefault(message.sender, deque())
            while recent and recent[0] <= now - window:
                recent.popleft()
            if len(recent) >= limit:
                return ("failed", "30022")
            recent.append(now)
        trait = self.number_trait(message.to)
        if trait == "unknown":
            return ("undelivered", "30005")
        if trait == "landline":
            return ("undelivered", "30006")
        if trait == "unreachable":
            return ("undelivered", "30003")
        if p.filter_spam:
            body = message.body.lower()
            if any(marker in body for marker in p.spam_markers):
                return ("undelivered", "30007")
        return None

    def _delay(self, bounds: tuple[float, float]) -> timedelta:
        low, high = bounds
        if high <= 0:
            return timedelta(0)
        return timedelta(seconds=self._rng.uniform(low, high))

    def _report(self, at: datetime, provider_id: str, status: str, code: str | None = None) -> None:
        update = StatusUpdate(self.name, provider_id, status, code, at)
        heapq.heappush(self._pending_status, (at, next(self._seq), update))
        if self.profile.duplicate_rate and self._rng.random() < self.profile.duplicate_rate:
            again = at + self._delay((0.0, 5.0))
            heapq.heappush(self._pending_status, (again, next(self._seq), update))

    def _maybe_answer(self, message: OutboundSms, delivered_at: datetime) -> None:
        p = self.profile
        if not (p.stop_share or p.help_share) or not message.sender or message.to in self._answered:
            return
        u = _unit(self.seed, "answer", message.to)
        if u >= p.stop_share + p.help_share:
            return
        self._answered.add(message.to)
        at = delivered_at + self._delay(p.reply_delay)
        if u < p.stop_share:
            self._queue_inbound(at, message.to, message.sender, "STOP")
            self._stopped_at[message.to] = at
        else:
            self._queue_inbound(at, message.to, message.sender, "HELP")

    def _queue_inbound(self, at: datetime, sender: str, to: str, body: str) -> None:
        sms = InboundSms(self.name, f"IN{self.instance}{next(self._ids):012d}", sender, to, body)
        heapq.heappush(self._pending_inbound, (at, next(self._seq), sms))

    def _release(self, heap: list[tuple[datetime, int, _T]]) -> list[_T]:
        now = self.clock.now()
        out: list[_T] = []
        while heap and heap[0][0] <= now:
            out.append(heapq.heappop(heap)[2])
        return out
