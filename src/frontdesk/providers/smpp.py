"""The SMPP 3.4 carrier: one transceiver bind to an SMSC (R-E-01, R-E-02, R-S-01).

Why our own codec (``smpp_pdu.py``) rather than a library: ``smpplib`` is a blocking,
thread-per-listen client with no submit window and no reconnect policy, and
``aiosmpplib`` is a broker/hook framework that queues submits and reports their outcome
through hooks, so a synchronous ``send`` could not get its ``submit_sm_resp``; both split
long text by their own rules, not at the boundaries ``domain.segments`` bills. An ESME
needs thirteen PDU types; the codec with its text coding is ~450 lines and is tested
against a real SMSC (npm ``smpp``'s server, ``tests/providers/smsc_server.js``).

How it runs. ``SmppProvider`` keeps one asyncio loop in a daemon thread. The session binds
as a transceiver (system_id / password / system_type), answers ``enquire_link`` and sends
its own every ``enquire_link_interval`` (a missing answer drops the link), and reconnects
after any loss with exponential backoff (``reconnect_initial`` × ``reconnect_factor``ⁿ,
capped at ``reconnect_max``; reset by a successful bind). At most ``window`` submit_sm
are outstanding without their resp; a further part waits for a slot.

``send`` (the synchronous port) encodes and splits the body (GSM-7 ``data_coding`` 0 or
UCS-2 ``data_coding`` 8, UDH IEI 0x00 with an 8-bit reference), submits every part with
``registered_delivery`` 1 and waits, bounded by ``bind_timeout`` + ``submit_timeout``, for
every ``submit_sm_resp``. **Provider message id:** the SMSC's id of the *first* part; all
parts' ids map to it, and every ``StatusUpdate`` of the message carries it. A refusal
maps through ``SUBMIT_ERRORS`` to a Twilio-style code (R-E-02: "others map similarly").
If a part is throttled after an earlier part was accepted, that part alone is retried
(same reference) so the handset can still assemble the message.

Status (R-E-01). Accepted → ``sent``. A message whose receipt never came is looked up
with ``query_sm`` (:meth:`SmppProvider.fetch_status`, asked by ``services.reconcile``).
Receipts (``deliver_sm`` with a receipt ``esm_class`` or a ``receipted_message_id``
TLV; ``message_state`` TLV first, the ``stat:`` text otherwise) map through
``RECEIPT_STATES``. A multi-part message has one
status: ``delivered`` only when every part is, ``undelivered``/``failed`` as soon as one
part is (the handset cannot show the whole text). **A receipt can arrive before the
``submit_sm_resp``** (design.md): receipts for unknown ids are buffered (bounded) and
replayed when the resp registers the id, so no status is lost. A ``deliver_sm`` is
answered only once it sits in the in-memory buffer that the worker drains (a process
that dies between that answer and the next drain loses it: the SMSC will not resend).
Receipt dates carry no time zone in SMPP 3.4, so ``at`` is left
to the caller's clock.

Inbound (MO) ``deliver_sm`` become ``InboundSms``; concatenated MO parts are reassembled.
SMPP is SMS only: ``supports_mms`` is False and the caller refuses MMS; a message with
media reaching ``send`` is refused here too. There are no HTTP callbacks on SMPP, so
``parse_inbound``/``parse_status`` raise and ``verify_signature`` is always False. Logs
carry ids and counts only, never bodies or phone numbers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import random
import re
import struct
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from frontdesk.providers import smpp_pdu as wire
from frontdesk.providers.base import InboundSms, OutboundSms, SendResult, StatusUpdate
from frontdesk.providers.smpp_pdu import CommandId, Pdu

log = logging.getLogger("frontdesk.providers.smpp")

__all__ = [
    "RECEIPT_STATES",
    "SUBMIT_ERRORS",
    "SmppConfig",
    "SmppError",
    "SmppProvider",
    "SubmitError",
]


@dataclass(frozen=True, slots=True)
class SubmitError:
    """How a ``submit_sm_resp`` command_status maps to our error codes (R-E-02)."""

    name: str
    code: str
    retry: bool


SUBMIT_ERRORS: Mapping[int, SubmitError] = {
    0x58: SubmitError("ESME_RTHROTTLED", "30022", retry=True),
    0x14: SubmitError("ESME_RMSGQFUL", "30022", retry=True),
    0x08: SubmitError("ESME_RSYSERR", "30008", retry=True),
    0x45: SubmitError("ESME_RSUBMITFAIL", "30008", retry=True),
    0x04: SubmitError("ESME_RINVBNDSTS", "30008", retry=True),
    0x0B: SubmitError("ESME_RINVDSTADR", "30005", retry=False),
    0x50: SubmitError("ESME_RINVDSTTON", "30005", retry=False),
    0x51: SubmitError("ESME_RINVDSTNPI", "30005", retry=False),
    0x0A: SubmitError("ESME_RINVSRCADR", "30034", retry=False),
    0x48: SubmitError("ESME_RINVSRCTON", "30034", retry=False),
    0x49: SubmitError("ESME_RINVSRCNPI", "30034", retry=False),
    0x01: SubmitError("ESME_RINVMSGLEN", "30008", retry=False),
    0x0D: SubmitError("ESME_RBINDFAIL", "30008", retry=True),
    0x0E: SubmitError("ESME_RINVPASWD", "30008", retry=True),
}
"""command_status → code. Throttling and queue-full are the SMSC's rate limit (30022:
retry slower); an invalid destination is an unknown number (30005: never retry, flag
``invalid_number``); a refused source is a sender the route does not allow (30034: block
the sender); anything else, including a resp that never came, is 30008 (one retry)."""

_NO_MMS = SendResult(False, error_code="30008", error_message="SMPP carries no MMS")
UNKNOWN_SUBMIT_ERROR = SubmitError("ESME_UNKNOWN", "30008", retry=True)
# An SMSC outage is transient: 20503 backs off exponentially instead of one retry (R-E-02).
NOT_BOUND = SubmitError("NOT_BOUND", "20503", retry=True)
NO_RESPONSE = SubmitError("NO_SUBMIT_SM_RESP", "20503", retry=True)

RECEIPT_STATES: Mapping[str, tuple[str, str | None]] = {
    "ENROUTE": ("sent", None),
    "ACCEPTD": ("sent", None),
    "DELIVRD": ("delivered", None),
    "EXPIRED": ("undelivered", "30003"),
    "UNDELIV": ("undelivered", "30003"),
    "UNKNOWN": ("undelivered", "30008"),
    "DELETED": ("failed", "30008"),
    "REJECTD": ("failed", "30004"),
}
"""Receipt ``stat`` → (status, code). EXPIRED/UNDELIV: the handset stayed unreachable
(30003); REJECTD: the network refused it (30004, blocked); DELETED/UNKNOWN: 30008."""

_MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
_FINAL = frozenset({"delivered", "undelivered", "failed"})
_RECEIPT_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err|text):(\S*)", re.I)


class SmppError(Exception):
    """The session cannot continue (bind refused, link lost, malformed PDU)."""


@dataclass(frozen=True, slots=True)
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    source_addr: str = ""
    window: int = 10
    bind_timeout: float = 10.0
    submit_timeout: float = 10.0
    response_timeout: float = 10.0
    enquire_link_interval: float = 30.0
    reconnect_initial: float = 1.0
    reconnect_factor: float = 2.0
    reconnect_max: float = 60.0
    throttle_retries: int = 3
    throttle_pause: float = 0.5
    early_receipt_limit: int = 10_000
    tracked_limit: int = 100_000
    receipt_error_codes: Mapping[str, str] = field(default_factory=dict)
    """The SMSC's own receipt ``err:`` values → our codes (network-specific, e.g. an SMSC
    whose err 001 means "unknown subscriber" maps it to 30005)."""

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("SMPP window must be at least 1")

    def backoff(self, attempt: int) -> float:
        """Delay before reconnect ``attempt`` (0-based): exponential, capped."""
        return float(
            min(self.reconnect_max, self.reconnect_initial * self.reconnect_factor**attempt)
        )


@dataclass
class SmppStats:
    """Counters the operator page and the tests read (no bodies, no numbers)."""

    connects: int = 0
    binds: int = 0
    bind_failures: int = 0
    backoff_delays: list[float] = field(default_factory=list)
    enquire_links_sent: int = 0
    enquire_links_answered: int = 0
    enquire_links_received: int = 0
    submits: int = 0
    early_receipts: int = 0
    receipts: int = 0
    inbound: int = 0
    queries: int = 0


@dataclass
class _Tracked:
    public_id: str
    part_ids: tuple[str, ...]
    states: dict[str, str] = field(default_factory=dict)
    final: bool = False


@dataclass(frozen=True, slots=True)
class _Receipt:
    message_id: str
    stat: str
    error: str | None


@dataclass
class _SubmitOutcome:
    status: int
    message_id: str | None


class SmppProvider:
    """An SMPP transceiver behind the synchronous ``Provider`` port (see module docs)."""

    name: str = "smpp"
    supports_mms: bool = False

    def __init__(self, config: SmppConfig) -> None:
        self.config = config
        self.stats = SmppStats()
        self._lock = threading.Lock()
        self._status: list[StatusUpdate] = []
        self._inbound: list[InboundSms] = []
        self._bound = threading.Event()
        self._started = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._bound_async: asyncio.Event | None = None
        self._window: asyncio.Semaphore | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        self._seq = itertools.count(1)
        self._ref = itertools.cycle(range(256))
        for _ in range(random.randrange(256)):
            next(self._ref)
        self._tracked: OrderedDict[str, _Tracked] = OrderedDict()
        self._early: OrderedDict[str, list[_Receipt]] = OrderedDict()
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._mo_parts: dict[tuple[str, str, int, int], dict[int, str]] = {}

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the session thread (idempotent; ``send`` and the drains call it)."""
        with self._lock:
            if self._started:
                return
            self._started = True
            loop = asyncio.new_event_loop()
            self._loop = loop
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                self._stopping = asyncio.Event()
                self._bound_async = asyncio.Event()
                self._window = asyncio.Semaphore(self.config.window)
                ready.set()
                try:
                    loop.run_until_complete(self._run())
                finally:
                    loop.close()

            self._thread = threading.Thread(target=run, name="frontdesk-smpp", daemon=True)
            self._thread.start()
            ready.wait()

    def close(self, timeout: float = 5.0) -> None:
        """Unbind politely, stop the loop and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            fut.result(timeout)
        except (concurrent.futures.TimeoutError, RuntimeError):
            log.warning("smpp close timed out")
        thread.join(timeout)
        with self._lock:
            self._started = False

    def wait_bound(self, timeout: float) -> bool:
        """True once a bind has succeeded and the link is up (operator checks, tests)."""
        self.start()
        return self._bound.wait(timeout)

    @property
    def bound(self) -> bool:
        return self._bound.is_set()

    # --- the port --------------------------------------------------------------------

    @property
    def _send_limit(self) -> float:
        return float(
            self.config.bind_timeout
            + self.config.submit_timeout * (1 + self.config.throttle_retries)
            + self.config.throttle_pause * 2**self.config.throttle_retries
            + 1.0
        )

    def _submitted(self, message: OutboundSms) -> concurrent.futures.Future[SendResult] | None:
        """The send started on the session's own loop; None for MMS, which SMPP cannot carry."""
        if message.media_urls:
            return None
        self.start()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._send(message), self._loop)

    def send(self, message: OutboundSms) -> SendResult:
        fut = self._submitted(message)
        if fut is None:
            return _NO_MMS
        try:
            return fut.result(self._send_limit)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            return _refused(NO_RESPONSE)

    async def send_async(self, message: OutboundSms) -> SendResult:
        """``send`` for a caller on another event loop (``AsyncSend``): the submit runs on
        the session's own loop and fills its window; the caller's loop only awaits it."""
        fut = self._submitted(message)
        if fut is None:
            return _NO_MMS
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), self._send_limit)
        except TimeoutError:
            fut.cancel()
            return _refused(NO_RESPONSE)

    def drain_status_updates(self) -> list[StatusUpdate]:
        self.start()
        with self._lock:
            out, self._status = self._status, []
        return out

    def drain_inbound(self) -> list[InboundSms]:
        self.start()
        with self._lock:
            out, self._inbound = self._inbound, []
        return out

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms:
        raise NotImplementedError("SMPP delivers inbound over the bind; use drain_inbound()")

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate:
        raise NotImplementedError(
            "SMPP delivers receipts over the bind; use drain_status_updates()"
        )

    def verify_signature(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        return False

    # --- session ---------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._stopping is not None
        attempt = 0
        while not self._stopping.is_set():
            bound = False
            try:
                bound = await self._session()
            except (OSError, SmppError, TimeoutError, wire.PduError) as exc:
                log.warning("smpp link down: %s", type(exc).__name__)
            else:
                if not self._stopping.is_set():
                    log.warning("smpp link closed")
            if bound:
                attempt = 0
            if self._stopping.is_set():
                break
            delay = self.config.backoff(attempt)
            attempt += 1
            self.stats.backoff_delays.append(delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _session(self) -> bool:
        """One connection: connect, bind, serve until the link drops. True if it bound."""
        assert self._bound_async is not None
        cfg = self.config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(cfg.host, cfg.port), cfg.response_timeout
        )
        self.stats.connects += 1
        self._writer = writer
        read_task = asyncio.create_task(self._read_loop(reader))
        keepalive: asyncio.Task[None] | None = None
        bound = False
        try:
            resp = await self._request(
                CommandId.BIND_TRANSCEIVER,
                wire.bind_transceiver_body(cfg.system_id, cfg.password, cfg.system_type),
                cfg.response_timeout,
                read_task,
            )
            if resp.status != 0:
                self.stats.bind_failures += 1
                raise SmppError(f"bind refused: command_status 0x{resp.status:02X}")
            bound = True
            self.stats.binds += 1
            self._bound.set()
            self._bound_async.set()
            log.info("smpp bound as transceiver")
            keepalive = asyncio.create_task(self._keepalive(read_task))
            try:
                await read_task
            except (OSError, SmppError, wire.PduError) as exc:
                log.warning("smpp bound link ended: %s", type(exc).__name__)
        finally:
            self._bound.clear()
            self._bound_async.clear()
            for task in (read_task, keepalive):
                if task is not None and not task.done():
                    task.cancel()
            self._writer = None
            for pending in self._pending.values():
                if not pending.done():
                    pending.set_exception(SmppError("link lost"))
            self._pending.clear()
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
        return bound

    async def _shutdown(self) -> None:
        assert self._stopping is not None
        self._stopping.set()
        if self._writer is not None and self._bound.is_set():
            with contextlib.suppress(SmppError, TimeoutError, OSError):
                await self._request(CommandId.UNBIND, b"", self.config.response_timeout)
        if self._writer is not None:
            self._writer.close()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                head = await reader.readexactly(4)
            except asyncio.IncompleteReadError:
                return
            (length,) = struct.unpack(">I", head)
            if not wire.HEADER.size <= length <= wire.MAX_PDU_LENGTH:
                raise wire.PduError("command_length out of range")
            try:
                rest = await reader.readexactly(length - 4)
            except asyncio.IncompleteReadError:
                return
            await self._dispatch(wire.decode_pdu(head + rest))

    async def _dispatch(self, pdu: Pdu) -> None:
        if pdu.is_response:
            future = self._pending.pop(pdu.sequence, None)
            if future is not None and not future.done():
                future.set_result(pdu)
            return
        if pdu.command_id == CommandId.DELIVER_SM:
            try:
                self._on_deliver_sm(wire.decode_deliver_sm(pdu.body))
                status = 0
            except (wire.PduError, UnicodeError):
                status = 0x08
            self._write(Pdu(CommandId.DELIVER_SM_RESP, pdu.sequence, status, b"\x00"))
        elif pdu.command_id == CommandId.ENQUIRE_LINK:
            self.stats.enquire_links_received += 1
            self._write(Pdu(CommandId.ENQUIRE_LINK_RESP, pdu.sequence))
        elif pdu.command_id == CommandId.UNBIND:
            self._write(Pdu(CommandId.UNBIND_RESP, pdu.sequence))
            raise SmppError("SMSC unbound")
        else:
            self._write(Pdu(CommandId.GENERIC_NACK, pdu.sequence, 0x03))

    def _write(self, pdu: Pdu) -> None:
        if self._writer is None:
            raise SmppError("not connected")
        self._writer.write(wire.encode_pdu(pdu))

    def _next_seq(self) -> int:
        seq = next(self._seq)
        if seq > 0x7FFFFFFF:
            self._seq = itertools.count(2)
            seq = 1
        return seq

    def _send_request(self, command: int, body: bytes) -> tuple[int, asyncio.Future[Pdu]]:
        assert self._loop is not None
        seq = self._next_seq()
        self._write(Pdu(command, seq, 0, body))
        future: asyncio.Future[Pdu] = self._loop.create_future()
        future.add_done_callback(_consume)
        self._pending[seq] = future
        return seq, future

    async def _request(
        self,
        command: int,
        body: bytes,
        timeout: float,
        read_task: asyncio.Task[None] | None = None,
    ) -> Pdu:
        _, future = self._send_request(command, body)
        if read_task is None:
            return await asyncio.wait_for(future, timeout)
        waiters: set[asyncio.Future[Any]] = {future, read_task}
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if future in done:
            return future.result()
        if read_task in done:
            read_task.result()
            raise SmppError("link closed while waiting for a response")
        raise TimeoutError

    async def _keepalive(self, read_task: asyncio.Task[None]) -> None:
        """enquire_link every interval; an unanswered one drops the link to reconnect."""
        while True:
            await asyncio.sleep(self.config.enquire_link_interval)
            self.stats.enquire_links_sent += 1
            try:
                await self._request(CommandId.ENQUIRE_LINK, b"", self.config.response_timeout)
            except (TimeoutError, SmppError):
                log.warning("smpp enquire_link unanswered; dropping the link")
                if self._writer is not None:
                    self._writer.transport.abort()
                return
            self.stats.enquire_links_answered += 1

    async def enquire_link(self) -> bool:
        """Send one enquire_link now (operator health check); True when answered."""
        try:
            resp = await self._request(CommandId.ENQUIRE_LINK, b"", self.config.response_timeout)
        except (TimeoutError, SmppError):
            return False
        self.stats.enquire_links_sent += 1
        self.stats.enquire_links_answered += 1
        return resp.status == 0

    def ping(self, timeout: float = 10.0) -> bool:
        """Synchronous ``enquire_link`` round trip."""
        self.start()
        assert self._loop is not None
        if not self._bound.is_set():
            return False
        return asyncio.run_coroutine_threadsafe(self.enquire_link(), self._loop).result(timeout)

    # --- status look-up (reconciliation) -----------------------------------------------

    def fetch_status(
        self, provider_message_id: str, *, sender: str | None = None, parts: int = 1
    ) -> StatusUpdate | None:
        """``query_sm`` for a message whose receipt never came (``StatusLookup``).

        Each part of a message this process submitted is asked about, and the answers
        combine as receipts do: one part undelivered or failed makes the message so;
        ``delivered`` only when every part is. After a restart only the first part's id
        is known (it is the provider message id), so a message of several ``parts``
        can be found undelivered or failed that way, never ``delivered``: that answer
        is ``sent``. None when the SMSC does not know the message or its state
        (``ESME_RQUERYFAIL``, state UNKNOWN). Raises :class:`SmppError` when not bound
        or refused, which reconciliation logs and counts as no answer.
        """
        self.start()
        assert self._loop is not None
        if not self._bound.is_set():
            raise SmppError("not bound to the SMSC")
        asking = self._query(provider_message_id, sender, parts)
        future = asyncio.run_coroutine_threadsafe(asking, self._loop)
        try:
            return future.result(self.config.response_timeout * (max(parts, 1) + 1))
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise SmppError("query_sm unanswered") from exc

    async def _query(
        self, provider_message_id: str, sender: str | None, parts: int
    ) -> StatusUpdate | None:
        tracked = self._tracked.get(provider_message_id)
        part_ids = tracked.part_ids if tracked is not None else (provider_message_id,)
        every_part_known = tracked is not None or parts <= 1
        source = _address(sender or self.config.source_addr)
        answers: list[tuple[str, str | None]] = []
        for part in part_ids:
            body = wire.query_sm_body(part, source)
            resp = await self._request(CommandId.QUERY_SM, body, self.config.response_timeout)
            self.stats.queries += 1
            if resp.status == QUERY_FAILED:
                return None
            if resp.command_id != CommandId.QUERY_SM_RESP or resp.status != 0:
                raise SmppError(f"query_sm refused with command_status 0x{resp.status:02x}")
            answer = wire.parse_query_sm_resp(resp.body)
            state = _MESSAGE_STATES.get(answer.message_state)
            if state is None or state == "UNKNOWN":
                return None
            status, code = RECEIPT_STATES[state]
            if status in ("undelivered", "failed"):
                code = self.config.receipt_error_codes.get(f"{answer.error_code:03d}", code)
            answers.append((status, code))
        for status, code in answers:
            if status in ("undelivered", "failed"):
                return self._looked_up(provider_message_id, status, code)
        if every_part_known and all(status == "delivered" for status, _ in answers):
            return self._looked_up(provider_message_id, "delivered", None)
        return self._looked_up(provider_message_id, "sent", None)

    def _looked_up(self, message_id: str, status: str, code: str | None) -> StatusUpdate:
        return StatusUpdate(self.name, message_id, status, code, source="lookup")

    # --- submit ----------------------------------------------------------------------

    async def _send(self, message: OutboundSms) -> SendResult:
        assert self._bound_async is not None
        try:
            await asyncio.wait_for(self._bound_async.wait(), self.config.bind_timeout)
        except TimeoutError:
            return _refused(NOT_BOUND)
        try:
            encoded = wire.encode_text(message.body)
            pdus = self._submit_bodies(message, encoded)
        except (wire.PduError, UnicodeError, KeyError) as exc:
            return SendResult(False, error_code="30008", error_message=f"cannot encode: {exc}")
        outcomes = await asyncio.gather(*(self._submit(body) for body in pdus))
        accepted_any = any(o.status == 0 for o in outcomes)
        for attempt in range(self.config.throttle_retries):
            throttled = [
                i
                for i, o in enumerate(outcomes)
                if o.status in (0x58, 0x14) and accepted_any and len(pdus) > 1
            ]
            if not throttled:
                break
            await asyncio.sleep(self.config.throttle_pause * 2**attempt)
            for i in throttled:
                outcomes[i] = await self._submit(pdus[i])
        for outcome in outcomes:
            if outcome.status != 0 or not outcome.message_id:
                return _refused(SUBMIT_ERRORS.get(outcome.status, UNKNOWN_SUBMIT_ERROR), outcome)
        part_ids = tuple(o.message_id for o in outcomes if o.message_id)
        self._register(part_ids)
        log.info("smpp accepted id=%s parts=%d", part_ids[0], len(part_ids))
        return SendResult(True, provider_message_id=part_ids[0])

    def _submit_bodies(self, message: OutboundSms, encoded: wire.EncodedMessage) -> list[bytes]:
        source = _address(message.sender or self.config.source_addr)
        destination = _address(message.to)
        total = len(encoded.parts)
        if total > 255:
            raise wire.PduError("more than 255 parts")
        reference = next(self._ref)
        bodies = []
        for seq, part in enumerate(encoded.parts, start=1):
            udh = wire.udh_concat(reference, total, seq) if total > 1 else b""
            bodies.append(
                wire.submit_sm_body(
                    source=source,
                    destination=destination,
                    esm_class=wire.ESM_UDHI if udh else 0,
                    data_coding=encoded.data_coding,
                    short_message=udh + part,
                    registered_delivery=1,
                )
            )
        return bodies

    async def _submit(self, body: bytes) -> _SubmitOutcome:
        """One submit_sm inside the window; the slot frees when its resp (or loss) comes."""
        window = self._window
        assert window is not None
        await window.acquire()
        try:
            self.stats.submits += 1
            seq, future = self._send_request(CommandId.SUBMIT_SM, body)
        except SmppError:
            window.release()
            return _SubmitOutcome(NOT_BOUND_STATUS, None)
        future.add_done_callback(lambda _: window.release())
        try:
            resp = await asyncio.wait_for(future, self.config.submit_timeout)
        except (TimeoutError, SmppError):
            self._pending.pop(seq, None)
            return _SubmitOutcome(NO_RESPONSE_STATUS, None)
        if resp.command_id == CommandId.GENERIC_NACK:
            return _SubmitOutcome(resp.status or 0x08, None)
        message_id = wire.parse_message_id(resp.body) if resp.status == 0 else None
        return _SubmitOutcome(resp.status, message_id)

    # --- receipts and inbound --------------------------------------------------------

    def _register(self, part_ids: tuple[str, ...]) -> None:
        tracked = _Tracked(public_id=part_ids[0], part_ids=part_ids)
        for part_id in part_ids:
            self._tracked[part_id] = tracked
        while len(self._tracked) > self.config.tracked_limit:
            self._tracked.popitem(last=False)
        self._emit(StatusUpdate(self.name, tracked.public_id, "sent"))
        for part_id in part_ids:
            for receipt in self._early.pop(part_id, []):
                self._apply_receipt(tracked, receipt)

    def _on_deliver_sm(self, pdu: wire.DeliverSm) -> None:
        if pdu.is_receipt:
            receipt = _parse_receipt(pdu)
            if receipt is None:
                log.warning("smpp receipt without a message id ignored")
                return
            self.stats.receipts += 1
            tracked = self._tracked.get(receipt.message_id)
            if tracked is None and receipt.message_id in self._finished:
                return
            if tracked is None:
                self.stats.early_receipts += 1
                self._early.setdefault(receipt.message_id, []).append(receipt)
                while len(self._early) > self.config.early_receipt_limit:
                    self._early.popitem(last=False)
                return
            self._apply_receipt(tracked, receipt)
            return
        self._on_mo(pdu)

    def _apply_receipt(self, tracked: _Tracked, receipt: _Receipt) -> None:
        """Derive the one status of a (multi-part) message from its parts' receipts."""
        if tracked.final:
            return
        status, code = RECEIPT_STATES.get(receipt.stat, ("sent", None))
        if status in ("undelivered", "failed") and receipt.error is not None:
            code = self.config.receipt_error_codes.get(receipt.error, code)
        previous = tracked.states.get(receipt.message_id)
        if previous in _FINAL:
            return
        tracked.states[receipt.message_id] = status
        if status in ("undelivered", "failed"):
            tracked.final = True
            self._emit(StatusUpdate(self.name, tracked.public_id, status, code))
        elif status == "delivered" and all(
            tracked.states.get(part) == "delivered" for part in tracked.part_ids
        ):
            tracked.final = True
            self._emit(StatusUpdate(self.name, tracked.public_id, "delivered"))
        if tracked.final:
            for part in tracked.part_ids:
                self._tracked.pop(part, None)
                self._finished[part] = None
            while len(self._finished) > self.config.tracked_limit:
                self._finished.popitem(last=False)

    def _on_mo(self, pdu: wire.DeliverSm) -> None:
        payload = pdu.payload
        concat: tuple[int, int, int] | None = None
        if pdu.esm_class & wire.ESM_UDHI:
            concat, payload = wire.parse_udh(payload)
        text = wire.decode_text(payload, pdu.data_coding)
        sender = _e164(pdu.source_addr, pdu.source_ton)
        to = _e164(pdu.destination_addr, pdu.dest_ton)
        if concat is not None and concat[1] > 1:
            reference, total, seq = concat
            key = (sender, to, reference, total)
            parts = self._mo_parts.setdefault(key, {})
            parts[seq] = text
            if len(parts) < total:
                while len(self._mo_parts) > self.config.early_receipt_limit:
                    del self._mo_parts[next(iter(self._mo_parts))]
                return
            del self._mo_parts[key]
            text = "".join(parts[i] for i in sorted(parts))
        self.stats.inbound += 1
        inbound = InboundSms(self.name, f"MO{uuid.uuid4().hex}", sender, to, text)
        with self._lock:
            self._inbound.append(inbound)

    def _emit(self, update: StatusUpdate) -> None:
        with self._lock:
            self._status.append(update)


NO_RESPONSE_STATUS = -1
NOT_BOUND_STATUS = -2
QUERY_FAILED = 0x67  # ESME_RQUERYFAIL: the SMSC does not know the message


def _consume(future: asyncio.Future[Pdu]) -> None:
    """Mark a request's failure as seen: the waiter may have given up on it already."""
    if not future.cancelled():
        future.exception()


def _refused(error: SubmitError, outcome: _SubmitOutcome | None = None) -> SendResult:
    if outcome is not None and outcome.status == NO_RESPONSE_STATUS:
        error = NO_RESPONSE
    if outcome is not None and outcome.status == NOT_BOUND_STATUS:
        error = NOT_BOUND
    status = f" (0x{outcome.status:02X})" if outcome and outcome.status > 0 else ""
    advice = "transient, retry later" if error.retry else "permanent, do not retry"
    return SendResult(False, error_code=error.code, error_message=f"{error.name}{status}: {advice}")


def _parse_receipt(pdu: wire.DeliverSm) -> _Receipt | None:
    """Receipt fields from the TLVs (preferred) and the SMPP 3.4 Appendix B text."""
    text = wire.decode_text(pdu.payload, pdu.data_coding)
    fields = {k.lower(): v for k, v in _RECEIPT_FIELD.findall(text)}
    message_id = fields.get("id")
    raw_id = pdu.tlvs.get(wire.TAG_RECEIPTED_MESSAGE_ID)
    if raw_id:
        message_id = raw_id.rstrip(b"\x00").decode("latin-1")
    stat = fields.get("stat", "").upper()
    state = pdu.tlvs.get(wire.TAG_MESSAGE_STATE)
    if state:
        stat = _MESSAGE_STATES.get(state[0], stat or "UNKNOWN")
    error = fields.get("err")
    network = pdu.tlvs.get(wire.TAG_NETWORK_ERROR_CODE)
    if network and len(network) == 3:
        error = str(int.from_bytes(network[1:], "big"))
    if not message_id:
        return None
    return _Receipt(message_id, stat or "UNKNOWN", error if error not in (None, "000") else None)


def _address(value: str) -> tuple[int, int, str]:
    """(ton, npi, addr): E.164 → international/ISDN, short code → network specific,
    letters → alphanumeric."""
    if not value:
        return wire.TON_UNKNOWN, wire.NPI_UNKNOWN, ""
    if value.startswith("+") and value[1:].isdigit():
        return wire.TON_INTERNATIONAL, wire.NPI_ISDN, value[1:]
    if value.isdigit():
        if len(value) <= 8:
            return wire.TON_NETWORK_SPECIFIC, wire.NPI_UNKNOWN, value
        return wire.TON_UNKNOWN, wire.NPI_ISDN, value
    return wire.TON_ALPHANUMERIC, wire.NPI_UNKNOWN, value


def _e164(addr: str, ton: int) -> str:
    """Inbound address to E.164 where it can be: international TON, or NANP digits."""
    if addr.startswith("+") or not addr.isdigit():
        return addr
    if ton == wire.TON_INTERNATIONAL or (len(addr) == 11 and addr.startswith("1")):
        return "+" + addr
    if len(addr) == 10:
        return "+1" + addr
    return addr
