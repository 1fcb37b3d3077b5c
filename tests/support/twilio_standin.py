"""A local carrier that speaks Twilio's Messages API fast enough to benchmark against.

Why not ``tests/providers/fake_twilio_server.py``: that one is a thread per
connection, fine for a unit test but it becomes the bottleneck long before the
service does. This one is asyncio throughout: each answer waits ``latency``
seconds on an event-loop timer, so hundreds of keep-alive connections cost no
threads. The HTTP layer is a small server on httptools (uvloop when installed)
that writes each answer in one call, and callbacks go out through a pooled raw
client; both replaced the obvious choices (uvicorn, httpx.AsyncClient) after
measuring them here, see the comments at :class:`_HttpServer` and
:class:`CallbackSender`. The Twilio logic is a plain ASGI app
(:class:`StandinApp`), so it also runs under uvicorn if ever wanted. Capacity:
``python -m tests.support.test_twilio_standin`` (see that module's docstring).

Two ways to run it, with the same control surface (:class:`StandinControl`):

* in a test: ``with TwilioStandin(latency=0.05, callbacks=True) as carrier: ...``
  (its own event loop in a background thread);
* as its own process (so a benchmark's carrier does not share the service's or
  the load generator's GIL): :class:`StandinProcess`, or by hand::

      python tests/support/twilio_standin.py --port 0 --latency 0.15 \\
          --auth-token T --account-sid AC... [--callbacks] [--behaviour JSON ...]

  which prints ``{"port": N}`` on stdout once it is listening; logs go to stderr;
  SIGTERM or SIGINT stops it.

What it implements, for any number of accounts (SID → auth token):

* ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (To, From, Body, MediaUrl*,
  StatusCallback, MessagingServiceSid), HTTP Basic auth checked as Twilio does
  (401, code 20003), Twilio's own validation (21604 no To, 21602 no Body or media,
  21603 no From or MessagingServiceSid), then a scripted answer per destination
  (:class:`Behaviour`): ``created`` (201 Message resource, the default),
  ``undelivered`` / ``failed`` (accepted, then reported so with an ErrorCode, as
  Twilio reports 30007 carrier filtering), ``error`` (refused at create with an
  HTTP status and Twilio code, e.g. 400 21610), ``throttle`` (429, 20429),
  ``server_error`` (a bare 500/503 without Twilio's JSON), ``hang`` (no answer
  until the client gives up). ``times=K`` scripts only the next K creates to that
  number; ``to="*"`` scripts every number without its own script.
* ``GET .../Messages/{MessageSid}.json`` (status moving queued → sent →
  delivered/undelivered as callbacks go, or by the same clock when there are
  none; 404 code 20404 when unknown) and ``GET .../Messages.json`` (To/From
  filters, PageSize/Page paging with Twilio's ``next_page_uri``).
* Status callbacks, when enabled and a create carried StatusCallback: form posts
  of MessageSid, SmsSid, AccountSid, From, To, MessageStatus, SmsStatus,
  ApiVersion and ErrorCode (failures), signed ``X-Twilio-Signature`` with the
  official ``RequestValidator(auth_token).compute_signature(url, params)``, sent
  ``sent_delay`` and ``delivered_delay`` seconds after the 201, concurrently; each
  one's HTTP status is recorded on the message and counted in the stats.
* A control API under ``/_standin/`` (no auth; loopback only): ``GET stats``,
  ``GET messages?to=&sid=&account=&limit=``, ``GET|POST behaviour``, ``POST
  accounts``, ``GET|POST config``, ``POST reset``.

At most ``max_messages`` (200,000) messages are remembered, oldest forgotten
first, so a long benchmark holds bounded memory (about 1 KB a message with its
callbacks: ~200 MB at the cap). It binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import functools
import hmac
import json
import logging
import os
import secrets
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, cast
from urllib.parse import parse_qs, quote_plus, unquote, unquote_plus, urlencode, urlsplit

import httptools
import httpx
import orjson
from twilio.request_validator import RequestValidator

log = logging.getLogger("twilio_standin")

HOST = "127.0.0.1"
API_VERSION = "2010-04-01"
ACCOUNTS_PREFIX = f"/{API_VERSION}/Accounts/"
CONTROL_PREFIX = "/_standin/"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "standin-auth-token"
MAX_MESSAGES = 200_000
SCRIPT = Path(__file__).resolve()

# The messages Twilio sends with these codes (https://www.twilio.com/docs/api/errors).
TWILIO_ERRORS: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "Invalid 'To' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
    "number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21612: "The 'To' phone number is not currently reachable via SMS",
    21614: "'To' number is not a valid mobile number",
    30001: "Queue overflow",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}

KINDS = frozenset({"created", "undelivered", "failed", "error", "throttle", "server_error", "hang"})
_ACCEPTING = frozenset({"created", "undelivered", "failed"})
_DEFAULT_STATUS = {"error": 400, "throttle": 429, "server_error": 500}
_DEFAULT_CODE = {"undelivered": 30007, "failed": 30008, "throttle": 20429}
_FINAL_FAILED = frozenset({"undelivered", "failed"})

Scope = MutableMapping[str, Any]
AsgiMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[AsgiMessage]]
Send = Callable[[AsgiMessage], Awaitable[None]]


# behaviours ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Behaviour:
    """How the stand-in answers creates to one destination.

    ``status`` is the HTTP status of a refusal (``error`` 400, ``throttle`` 429,
    ``server_error`` 500 by default); ``code`` the Twilio code in the error body
    (``error``, ``throttle``) or in the failing callback's ErrorCode
    (``undelivered`` 30007, ``failed`` 30008 by default); ``times`` how many
    creates it scripts before that number falls back to the default.
    """

    kind: str = "created"
    status: int | None = None
    code: int | None = None
    message: str | None = None
    times: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown behaviour kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.kind == "error" and self.code is None:
            raise ValueError("an 'error' behaviour needs a Twilio code (e.g. 21610)")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for every create)")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"bad HTTP status {self.status}")

    @property
    def http_status(self) -> int:
        if self.kind in _ACCEPTING:
            return 201
        return self.status if self.status is not None else _DEFAULT_STATUS.get(self.kind, 0)

    @property
    def error_code(self) -> int | None:
        return self.code if self.code is not None else _DEFAULT_CODE.get(self.kind)

    @property
    def error_message(self) -> str:
        if self.message is not None:
            return self.message
        code = self.error_code
        return TWILIO_ERRORS.get(code, f"Error {code}") if code is not None else ""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "times": self.times,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Behaviour:
        unknown = set(data) - {"to", "kind", "status", "code", "message", "times"}
        if unknown:
            raise ValueError(f"unknown behaviour fields {sorted(unknown)}")
        return cls(
            kind=str(data.get("kind", "created")),
            status=_opt_int(data.get("status")),
            code=_opt_int(data.get("code")),
            message=None if data.get("message") is None else str(data["message"]),
            times=_opt_int(data.get("times")),
        )


CREATED = Behaviour()


def created(times: int | None = None) -> Behaviour:
    return Behaviour("created", times=times)


def error(
    code: int, status: int = 400, message: str | None = None, times: int | None = None
) -> Behaviour:
    """Refused at create with Twilio's error JSON (21610 → 400 is the common one)."""
    return Behaviour("error", status=status, code=code, message=message, times=times)


def throttle(times: int | None = None) -> Behaviour:
    """429 with code 20429; ``times=K``: only the next K creates, then accepted."""
    return Behaviour("throttle", times=times)


def server_error(status: int = 500, times: int | None = None) -> Behaviour:
    """A bare 5xx page without Twilio's JSON, as a load balancer in trouble answers."""
    return Behaviour("server_error", status=status, times=times)


def hang(times: int | None = None) -> Behaviour:
    """Never answer: the client's timeout is what a test exercises."""
    return Behaviour("hang", times=times)


def undelivered(code: int = 30007, times: int | None = None) -> Behaviour:
    """Accepted (201), then ``sent`` and ``undelivered`` with ErrorCode ``code``."""
    return Behaviour("undelivered", code=code, times=times)


def failed(code: int = 30008, times: int | None = None) -> Behaviour:
    """Accepted (201), then one ``failed`` callback with ErrorCode ``code`` (never sent)."""
    return Behaviour("failed", code=code, times=times)


@dataclass
class _Script:
    behaviour: Behaviour
    remaining: int | None


def _intern(value: str | None) -> str | None:
    return sys.intern(value) if value else None


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


# messages -----------------------------------------------------------------------------
@dataclass(slots=True)
class CallbackAttempt:
    """One status callback: what was reported, and the webhook's HTTP answer or error."""

    status: str
    at: float
    http: int | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "http": self.http, "error": self.error, "at": self.at}


@dataclass(slots=True)
class Record:
    """One accepted create, as Twilio would hold it."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    media_urls: tuple[str, ...]
    status_callback: str | None
    messaging_service_sid: str | None
    received_at: float  # the create request arrived
    created_at: float  # the 201 went out
    num_segments: int
    final: str  # delivered, undelivered or failed
    error_code: int | None
    sent_due: float
    final_due: float
    driven: bool  # callbacks advance ``status``; otherwise it follows the due times
    status: str = "queued"
    sent_at: float | None = None
    updated_at: float = 0.0
    callbacks: list[CallbackAttempt] = field(default_factory=list)

    def current(self, now: float) -> tuple[str, float, float | None]:
        """(status, date_updated, date_sent) at ``now``."""
        if self.driven:
            return self.status, self.updated_at or self.created_at, self.sent_at
        if now >= self.final_due:
            sent = None if self.final == "failed" else self.sent_due
            return self.final, self.final_due, sent
        if self.final != "failed" and now >= self.sent_due:
            return "sent", self.sent_due, self.sent_due
        return "queued", self.created_at, None

    def resource(self, now: float) -> dict[str, Any]:
        """The Message resource Twilio's REST API returns (strings where Twilio has them)."""
        status, updated, sent = self.current(now)
        base = f"{ACCOUNTS_PREFIX}{self.account_sid}/Messages/{self.sid}"
        failing = status in _FINAL_FAILED
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.created_at),
            "date_sent": rfc2822(sent) if sent is not None else None,
            "date_updated": rfc2822(updated),
            "direction": "outbound-api",
            "error_code": self.error_code if failing else None,
            "error_message": TWILIO_ERRORS.get(self.error_code or 0) if failing else None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media_urls)),
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": status,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
            "to": self.to,
            "uri": f"{base}.json",
        }

    def control_view(self, now: float) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account": self.account_sid,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "media_urls": list(self.media_urls),
            "messaging_service_sid": self.messaging_service_sid,
            "status_callback": self.status_callback,
            "received_at": self.received_at,
            "created_at": self.created_at,
            "status": self.current(now)[0],
            "callbacks": [attempt.as_json() for attempt in self.callbacks],
        }


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(epoch: float) -> str:
    """Twilio's date format, ``Thu, 30 Jul 2015 20:12:31 +0000``.

    Built by hand: ``strftime`` names days in the locale's language, and
    ``email.utils.formatdate`` writes ``-0000``, which ``parsedate_to_datetime``
    reads as a naive time (the provider then ignores it).
    """
    return _rfc2822_second(int(epoch))


@functools.lru_cache(maxsize=4096)
def _rfc2822_second(epoch: int) -> str:
    t = time.gmtime(epoch)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


# Printable ASCII that GSM-7's basic table lacks (the extension table has the rest).
_ASCII_NOT_GSM7 = frozenset(chr(c) for c in range(128)) - _GSM7_BASIC - _GSM7_EXTENSION
_ASCII_EXTENSION = "^{}\\[~]|\f"


def segments(body: str) -> int:
    """Parts Twilio bills for ``body``: GSM-7 160 alone / 153 a part, else UCS-2 70 / 67.

    Deliberately independent of ``frontdesk.domain.segments`` (a carrier stand-in
    that shares the code under test would agree with its bugs). An escape pair
    or a surrogate pair is never split across parts. Plain ASCII text without
    extension characters, the usual reminder, is counted in C string methods.
    """
    if body.isascii() and _ASCII_NOT_GSM7.isdisjoint(body):
        extensions = sum(body.count(c) for c in _ASCII_EXTENSION)
        if extensions == 0:
            return 1 if len(body) <= 160 else -(-len(body) // 153)
    costs: list[int] = []
    gsm = True
    for char in body:
        if char in _GSM7_BASIC:
            costs.append(1)
        elif char in _GSM7_EXTENSION:
            costs.append(2)
        else:
            gsm = False
            break
    if not gsm:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in body]
    single, part = (160, 153) if gsm else (70, 67)
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


# the ASGI app -------------------------------------------------------------------------
class _Disconnected(Exception):
    pass


class StandinApp:
    """The stand-in as a raw ASGI callable; all its state lives on the event loop's thread.

    Control calls arrive over HTTP on the same loop, so nothing here needs a lock.
    """

    def __init__(
        self,
        accounts: Mapping[str, str],
        *,
        latency: float = 0.0,
        callbacks: bool = False,
        sent_delay: float = 0.05,
        delivered_delay: float = 0.1,
        max_messages: int = MAX_MESSAGES,
        behaviours: Mapping[str, Behaviour] | None = None,
    ) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.accounts: dict[str, str] = dict(accounts)
        self.latency = latency
        self.callbacks = callbacks
        self.sent_delay = sent_delay
        self.delivered_delay = delivered_delay
        self.max_messages = max_messages
        self._scripts: dict[str, _Script] = {}
        for to, behaviour in (behaviours or {}).items():
            self.set_behaviour(to, behaviour)
        self._messages: OrderedDict[str, Record] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.sender = CallbackSender()
        self._validators: dict[str, RequestValidator] = {}
        self._release = asyncio.Event()
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.received = 0
        self.refused = 0
        self.hung = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.cb_sent = 0
        self.cb_ok = 0
        self.cb_failed = 0

    # state ----------------------------------------------------------------------------
    def set_behaviour(self, to: str, behaviour: Behaviour) -> None:
        if not to:
            raise ValueError("a behaviour needs a destination number (or '*')")
        if behaviour.kind == "created" and behaviour.times is None:
            self._scripts.pop(to, None)
        else:
            self._scripts[to] = _Script(behaviour, behaviour.times)

    def behaviours(self) -> dict[str, dict[str, Any]]:
        return {
            to: {**s.behaviour.as_json(), "remaining": s.remaining}
            for to, s in self._scripts.items()
        }

    def _take(self, to: str) -> Behaviour:
        key = to if to in self._scripts else "*"
        script = self._scripts.get(key)
        if script is None:
            return CREATED
        if script.remaining is not None:
            script.remaining -= 1
            if script.remaining <= 0:
                del self._scripts[key]
        return script.behaviour

    def stats(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "refused": self.refused,
            "hung": self.hung,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "callbacks": {
                "sent": self.cb_sent,
                "ok": self.cb_ok,
                "failed": self.cb_failed,
                "pending": len(self._tasks),
            },
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "stored": len(self._messages),
        }

    def config(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "callbacks": self.callbacks,
            "sent_delay": self.sent_delay,
            "delivered_delay": self.delivered_delay,
            "max_messages": self.max_messages,
            "accounts": sorted(self.accounts),
        }

    def reset(self) -> None:
        """Forget messages, scripts, counters and pending callbacks; keep the accounts."""
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._messages.clear()
        self._scripts.clear()
        self._reset_counters()

    def release_hangs(self) -> None:
        """Answer every hanging create with a bare 503 so a shutdown need not wait."""
        self._release.set()

    async def aclose(self) -> None:
        self.release_hangs()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sender.aclose()

    # dispatch -------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            if path.startswith(ACCOUNTS_PREFIX):
                await self._api(method, path, scope, receive, send)
            elif path.startswith(CONTROL_PREFIX):
                await self._control(method, path[len(CONTROL_PREFIX) :], scope, receive, send)
            else:
                await _twilio_error(send, 404, 20404)
        except _Disconnected:
            return

    async def _api(
        self, method: str, path: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        parts = path[len(ACCOUNTS_PREFIX) :].split("/")
        if method == "POST" and len(parts) == 2 and parts[1] == "Messages.json":
            await self._create(parts[0], scope, receive, send)
            return
        if method != "GET":
            await _read_body(receive)
            await _twilio_error(send, 405, 20004, "Method not allowed")
            return
        await self._delay()
        if not self._authorized(parts[0], scope):
            await _unauthenticated(send)
            return
        query = parse_qs(scope["query_string"].decode("latin-1"))
        if len(parts) == 2 and parts[1] == "Messages.json":
            try:
                page = self._list(parts[0], query)
            except ValueError:
                await _twilio_error(send, 400, 20001, "Invalid paging parameter")
                return
            await _send_json(send, 200, page)
            return
        if len(parts) == 3 and parts[1] == "Messages" and parts[2].endswith(".json"):
            record = self._messages.get(parts[2][: -len(".json")])
            if record is not None and record.account_sid == parts[0]:
                await _send_json(send, 200, record.resource(time.time()))
                return
        await _twilio_error(send, 404, 20404, f"The requested resource {path} was not found")

    # creates --------------------------------------------------------------------------
    async def _create(self, sid: str, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.time()
        if self.first_at is None:
            self.first_at = arrived
        self.last_at = arrived
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        try:
            body = await _read_body(receive)
            fields, media = parse_form(body)
            to = fields.get("To", "")
            problem: int | None = None
            if not self._authorized(sid, scope):
                problem = 20003
            elif not to:
                problem = 21604
            elif not fields.get("Body") and not media:
                problem = 21602
            elif not fields.get("From") and not fields.get("MessagingServiceSid"):
                problem = 21603
            behaviour = CREATED if problem is not None else self._take(to)
            if behaviour.kind == "hang":
                self.hung += 1
                await self._hang(receive, send)
                return
            await self._delay()
            if problem is not None:
                self.refused += 1
                if problem == 20003:
                    await _unauthenticated(send)
                else:
                    await _twilio_error(send, 400, problem)
                return
            if behaviour.kind in ("error", "throttle"):
                self.refused += 1
                await _twilio_error(
                    send, behaviour.http_status, behaviour.error_code, behaviour.error_message
                )
                return
            if behaviour.kind == "server_error":
                self.refused += 1
                await _send_bytes(send, behaviour.http_status, _bare_page(behaviour.http_status))
                return
            record = self._store(sid, fields, media, behaviour, arrived)
            self.received += 1
            await _send_json(send, 201, record.resource(record.created_at))
            if record.driven:
                task = asyncio.ensure_future(self._progress(record))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            self.in_flight -= 1

    async def _delay(self) -> None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def _authorized(self, sid: str, scope: Scope) -> bool:
        """Basic auth as Twilio checks it: the path's account SID and its auth token."""
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        if header[:6].lower() != b"basic ":
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        token = self.accounts.get(user)
        return user == sid and token is not None and hmac.compare_digest(token, password)

    async def _hang(self, receive: Receive, send: Send) -> None:
        """Wait until the client hangs up (or the stand-in stops), never answering before."""
        gone = asyncio.ensure_future(receive())
        released = asyncio.ensure_future(self._release.wait())
        done, pending = await asyncio.wait({gone, released}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if gone not in done:
            await _send_bytes(send, 503, _bare_page(503))

    def _store(
        self,
        sid: str,
        fields: Mapping[str, str],
        media: Sequence[str],
        behaviour: Behaviour,
        arrived: float,
    ) -> Record:
        now = time.time()
        final = "delivered" if behaviour.kind == "created" else behaviour.kind
        # Interned: these repeat across messages, and 200,000 records are ~1 KB each.
        callback = _intern(fields.get("StatusCallback"))
        record = Record(
            sid="SM" + secrets.token_hex(16),
            account_sid=sys.intern(sid),
            to=fields.get("To", ""),
            from_=_intern(fields.get("From")),
            body=fields.get("Body", ""),
            media_urls=tuple(media),
            status_callback=callback,
            messaging_service_sid=fields.get("MessagingServiceSid") or None,
            received_at=arrived,
            created_at=now,
            num_segments=segments(fields.get("Body", "")),
            final=final,
            error_code=behaviour.error_code if final in _FINAL_FAILED else None,
            sent_due=now + self.sent_delay,
            final_due=now + (self.sent_delay if final == "failed" else self.delivered_delay),
            driven=self.callbacks and callback is not None,
        )
        messages = self._messages
        while len(messages) >= self.max_messages:
            messages.popitem(last=False)
        messages[record.sid] = record
        return record

    def _list(self, sid: str, query: Mapping[str, list[str]]) -> dict[str, Any]:
        """Twilio's list page: newest first, ``To``/``From`` filters, ``PageSize``/``Page``."""
        size = min(max(int(query.get("PageSize", ["50"])[0]), 1), 1000)
        page = int(query.get("Page", ["0"])[0])
        if page < 0:
            raise ValueError(page)
        to = query.get("To", [""])[0]
        sender = query.get("From", [""])[0]
        matches = [
            r
            for r in reversed(self._messages.values())
            if r.account_sid == sid and (not to or r.to == to) and (not sender or r.from_ == sender)
        ]
        start = page * size
        chunk = matches[start : start + size]
        base = f"{ACCOUNTS_PREFIX}{sid}/Messages.json"
        filters = {k: v for k, v in (("To", to), ("From", sender)) if v}

        def uri(n: int) -> str:
            return f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': n})}"

        now = time.time()
        return {
            "messages": [r.resource(now) for r in chunk],
            "page": page,
            "page_size": size,
            "start": start,
            "end": start + max(len(chunk) - 1, 0),
            "uri": uri(page),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if start + size < len(matches) else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
        }

    # callbacks ------------------------------------------------------------------------
    async def _progress(self, record: Record) -> None:
        if record.final != "failed":
            await asyncio.sleep(max(0.0, record.sent_due - time.time()))
            record.status = "sent"
            record.sent_at = record.updated_at = time.time()
            await self._callback(record, "sent")
        await asyncio.sleep(max(0.0, record.final_due - time.time()))
        record.status = record.final
        record.updated_at = time.time()
        await self._callback(record, record.final)

    async def _callback(self, record: Record, status: str) -> None:
        url = record.status_callback
        token = self.accounts.get(record.account_sid)
        if url is None or token is None:
            return
        params = {
            "AccountSid": record.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": record.sid,
            "MessageStatus": status,
            "SmsSid": record.sid,
            "SmsStatus": status,
            "To": record.to,
        }
        if record.from_ is not None:
            params["From"] = record.from_
        if record.messaging_service_sid is not None:
            params["MessagingServiceSid"] = record.messaging_service_sid
        if status in _FINAL_FAILED and record.error_code is not None:
            params["ErrorCode"] = str(record.error_code)
        validator = self._validators.get(token)
        if validator is None:
            validator = self._validators[token] = RequestValidator(token)
        signature = validator.compute_signature(url, params)
        attempt = CallbackAttempt(status, time.time())
        record.callbacks.append(attempt)
        self.cb_sent += 1
        ok = False
        try:
            code = await self.sender.post(
                url, params, {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
            )
            attempt.http = code
            ok = 200 <= code < 300
        except (OSError, TimeoutError, ValueError, httptools.HttpParserError) as exc:
            attempt.error = type(exc).__name__
        if ok:
            self.cb_ok += 1
        else:
            self.cb_failed += 1

    # control API ----------------------------------------------------------------------
    async def _control(
        self, method: str, name: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        body = await _read_body(receive)
        query = parse_qs(scope["query_string"].decode("latin-1"))
        try:
            result = self._control_call(method, name, query, body)
        except (ValueError, TypeError, KeyError) as exc:
            await _send_json(send, 400, {"error": f"{type(exc).__name__}: {exc}"})
            return
        if result is None:
            await _send_json(send, 404, {"error": f"no control endpoint {method} {name}"})
            return
        await _send_json(send, 200, result)

    def _control_call(
        self, method: str, name: str, query: Mapping[str, list[str]], body: bytes
    ) -> Any:
        def arg(key: str) -> str | None:
            values = query.get(key)
            return values[0] if values else None

        if method == "GET" and name == "stats":
            return self.stats()
        if method == "GET" and name == "messages":
            limit = arg("limit")
            to, sid, account = arg("to"), arg("sid"), arg("account")
            if sid is not None:
                found = self._messages.get(sid)
                chosen: Iterable[Record] = [found] if found is not None else []
            else:
                chosen = self._messages.values()
            now = time.time()
            out = [
                r.control_view(now)
                for r in chosen
                if (to is None or r.to == to) and (account is None or r.account_sid == account)
            ]
            if limit is None:
                return out
            return out[-int(limit) :] if int(limit) > 0 else []
        if name == "behaviour" and method == "GET":
            return self.behaviours()
        if name == "behaviour" and method == "POST":
            data = orjson.loads(body or b"{}")
            for item in data if isinstance(data, list) else [data]:
                self.set_behaviour(str(item["to"]), Behaviour.from_json(item))
            return self.behaviours()
        if name == "accounts" and method == "POST":
            data = orjson.loads(body or b"{}")
            sid, token = str(data["sid"]), str(data["token"])
            if not sid or not token:
                raise ValueError("an account needs a sid and a token")
            self.accounts[sid] = token
            return {"accounts": sorted(self.accounts)}
        if name == "config" and method == "GET":
            return self.config()
        if name == "config" and method == "POST":
            data = orjson.loads(body or b"{}")
            unknown = set(data) - {"latency", "callbacks", "sent_delay", "delivered_delay"}
            if unknown:
                raise ValueError(f"unknown config fields {sorted(unknown)}")
            for key in ("latency", "sent_delay", "delivered_delay"):
                if key in data:
                    setattr(self, key, float(data[key]))
            if "callbacks" in data:
                self.callbacks = bool(data["callbacks"])
            return self.config()
        if name == "reset" and method == "POST":
            self.reset()
            return self.stats()
        return None


def parse_form(body: bytes) -> tuple[dict[str, str], list[str]]:
    """A form body as (last value of each key, every ``MediaUrl`` in order).

    Hand-rolled because ``urllib.parse.parse_qsl`` costs four times as much per
    create (it is the largest single cost at benchmark rates); values without
    ``%`` or ``+`` are taken as they are.
    """
    fields: dict[str, str] = {}
    media: list[str] = []
    for pair in body.decode("utf-8", "replace").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        if key == "MediaUrl":
            media.append(value)
        else:
            fields[key] = value
    return fields, media


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


_JSON = b"application/json; charset=utf-8"


async def _send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = b"text/html",
    extra: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(
    send: Send, status: int, data: Any, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    await _send_bytes(send, status, orjson.dumps(data), _JSON, extra)


def twilio_error_body(status: int, code: int | None, message: str | None = None) -> dict[str, Any]:
    """Twilio's error JSON: ``{"code", "message", "more_info", "status"}``."""
    text = message if message is not None else TWILIO_ERRORS.get(code or 0, "Error")
    return {
        "code": code,
        "message": text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


async def _twilio_error(
    send: Send,
    status: int,
    code: int | None,
    message: str | None = None,
    extra: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    await _send_json(send, status, twilio_error_body(status, code, message), extra)


async def _unauthenticated(send: Send) -> None:
    await _twilio_error(
        send, 401, 20003, extra=[(b"www-authenticate", b'Basic realm="Twilio API"')]
    )


def _bare_page(status: int) -> bytes:
    return f"<html><body><h1>{status} Server Error</h1></body></html>".encode()


# the callback client ------------------------------------------------------------------
# Why not httpx.AsyncClient: measured here it costs 2-7 ms of CPU per POST once tens
# of requests are in flight (httpcore's pool scans every connection per request,
# through anyio's extra attributes, and retries a failed ``import sniffio`` on each
# lock), so it managed 20-400 callbacks/s where the service needs thousands.
class CallbackSender:
    """Form POSTs over pooled keep-alive HTTP/1.1 connections, ``limit`` at a time.

    One request per connection at a time; idle connections are kept per origin and
    reused; a reused connection that fails before any answer (the server closed it
    while idle) is retried once on a new one. Responses are parsed with httptools.
    https:// URLs work too (an SSL context is made on first use).
    """

    def __init__(self, limit: int = 256, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._slots = asyncio.Semaphore(limit)
        self._idle: dict[tuple[str, str, int], list[_ClientConnection]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def post(self, url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> int:
        """The answer's HTTP status; raises OSError or TimeoutError when there is none."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"cannot post to {url!r}")
        key = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = encode_form(form)
        head = [
            f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n"
        ]
        head += [f"{name}: {value}\r\n" for name, value in headers.items()]
        request = "".join(head).encode("latin-1") + b"\r\n" + body
        async with self._slots, asyncio.timeout(self.timeout):
            while True:
                conn, reused = await self._checkout(key)
                try:
                    status, keep = await conn.exchange(request)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    conn.close()
                    if reused and not conn.answered:
                        continue  # a stale idle connection: once more on a fresh one
                    if isinstance(exc, asyncio.IncompleteReadError):
                        raise ConnectionResetError("connection closed before an answer") from exc
                    raise
                except BaseException:
                    conn.close()
                    raise
                if keep:
                    self._idle.setdefault(key, []).append(conn)
                else:
                    conn.close()
                return status

    async def _checkout(self, key: tuple[str, str, int]) -> tuple[_ClientConnection, bool]:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.writer.is_closing():
                return conn, True
        scheme, host, port = key
        context = None
        if scheme == "https":
            context = self._ssl = self._ssl or ssl.create_default_context()
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        return _ClientConnection(reader, writer), False

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def encode_form(form: Mapping[str, str]) -> bytes:
    """``urlencode`` for a callback: same bytes, but SIDs and statuses skip quoting."""
    return "&".join(
        f"{key}={value if value.isascii() and value.isalnum() else quote_plus(value)}"
        for key, value in form.items()
    ).encode("ascii")


class _ClientConnection:
    """One client connection and its httptools response parser."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.answered = False
        self._complete = False
        self._keep_alive = False
        self._parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        # llhttp answers should_keep_alive() only until the message completes.
        self._keep_alive = self._parser.should_keep_alive()

    def on_message_complete(self) -> None:
        self._complete = True

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """Send ``request``, read its whole answer: (status, connection reusable)."""
        self._complete = False
        self._keep_alive = False
        self.answered = False
        self._parser = httptools.HttpResponseParser(self)
        self.writer.write(request)
        await self.writer.drain()
        while not self._complete:
            data = await self.reader.read(65536)
            if not data:
                if self.answered:  # an answer delimited by closing the connection
                    return self._parser.get_status_code(), False
                raise asyncio.IncompleteReadError(b"", None)
            self.answered = True
            self._parser.feed_data(data)
        return self._parser.get_status_code(), self._keep_alive

    def close(self) -> None:
        self.writer.close()


# the HTTP server ----------------------------------------------------------------------
# Why not uvicorn: measured on this 2-core machine, uvicorn's httptools protocol
# cost ~200 µs of CPU per create, the largest part in two socket writes per
# response (head, then body), each waking the client; its shutdown also takes
# 0.2 s of ticks, paid by every test that stops a stand-in. This protocol parses
# with the same httptools, runs the same ASGI app, and writes once per answer.
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_100_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _HttpServer:
    """A minimal HTTP/1.1 server for one ASGI app: keep-alive, pipelining, one write each."""

    def __init__(self, app: StandinApp) -> None:
        self.app = app
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        self._date_second = -1
        self._date = b""

    def date_header(self) -> bytes:
        second = int(time.time())
        if second != self._date_second:
            self._date_second = second
            self._date = b"date: " + formatdate(second, usegmt=True).encode() + b"\r\n"
        return self._date

    async def start(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=4096)

    async def close(self, grace: float = 5.0) -> None:
        """Stop listening, answer hanging creates, give in-flight ones ``grace`` seconds."""
        if self._server is not None:
            self._server.close()
        self.app.release_hangs()
        for conn in list(self.connections):
            conn.close_when_idle()
        if self.tasks:
            _, late = await asyncio.wait(set(self.tasks), timeout=grace)
            for task in late:
                task.cancel()
        for conn in list(self.connections):
            conn.abort()


class _Connection(asyncio.Protocol):
    """One client connection: httptools parses, requests run one at a time, in order."""

    def __init__(self, server: _HttpServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.queue: deque[tuple[Scope, bytes]] = deque()
        self.busy = False
        self.closing = False
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport quacks like asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.queue.clear()
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(b"400 Bad Request")
        except httptools.HttpParserError:
            self._fail(b"400 Bad Request")

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        # Asked here: llhttp answers should_keep_alive() only until the message completes.
        self._keep_alive = self.parser.should_keep_alive()
        if self.transport is not None and (b"expect", b"100-continue") in self._headers:
            self.transport.write(_100_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        url = httptools.parse_url(self._url)
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": self.parser.get_http_version(),
            "method": self.parser.get_method().decode("ascii"),
            "path": unquote(url.path.decode("latin-1")),
            "raw_path": url.path,
            "query_string": url.query or b"",
            "headers": self._headers,
            "keep_alive": self._keep_alive,
        }
        self.queue.append((scope, b"".join(self._body)))
        if not self.busy:
            self._next()

    # running requests
    def _next(self) -> None:
        if not self.queue or self.transport is None or self.transport.is_closing():
            return
        scope, body = self.queue.popleft()
        self.busy = True
        task = self.loop.create_task(self._run(scope, body))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _run(self, scope: Scope, body: bytes) -> None:
        exchange = _Exchange(self, body)
        try:
            await self.server.app(scope, exchange.receive, exchange.send)
        except Exception:
            log.exception("the stand-in failed on %s %s", scope["method"], scope["path"])
        finally:
            if not exchange.complete:
                exchange.write(500, [], b"stand-in error")
            self.busy = False
            if not scope["keep_alive"] or self.closing:
                self.close_when_idle()
            else:
                self._next()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close_when_idle(self) -> None:
        self.closing = True
        if not self.busy and self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, status: bytes) -> None:
        self.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        if self.transport is not None:
            self.transport.close()


class _Exchange:
    """ASGI ``receive``/``send`` for one request; the response goes out in one write."""

    __slots__ = ("body", "complete", "conn", "headers", "status")

    def __init__(self, conn: _Connection, body: bytes) -> None:
        self.conn = conn
        self.body: bytes | None = body
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False

    async def receive(self) -> AsgiMessage:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        # Like uvicorn: after the body, receive() returns once the client has gone.
        await asyncio.shield(self.conn.closed)
        return {"type": "http.disconnect"}

    async def send(self, message: AsgiMessage) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            if message.get("more_body", False):
                raise NotImplementedError("the stand-in answers in one body")
            self.write(self.status, self.headers, bytes(message.get("body", b"")))

    def write(self, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> None:
        if self.complete:
            return
        self.complete = True
        conn = self.conn
        head = [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown")),
            conn.server.date_header(),
        ]
        for name, value in headers:
            if name != b"content-length":
                head += (name, b": ", value, b"\r\n")
        head.append(b"content-length: %d\r\n" % len(body))
        if conn.closing:
            head.append(b"connection: close\r\n")
        head += (b"\r\n", body)
        conn.write(b"".join(head))


def _bind(port: int) -> socket.socket:
    """A loopback socket bound now, so the port is known before the loop starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    return sock


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve(
    app: StandinApp,
    sock: socket.socket,
    on_started: Callable[[asyncio.AbstractEventLoop, asyncio.Event], None],
) -> None:
    """Serve ``app`` on ``sock`` until the event handed to ``on_started`` is set."""
    stopping = asyncio.Event()
    server = _HttpServer(app)
    await server.start(sock)
    on_started(asyncio.get_running_loop(), stopping)
    try:
        await stopping.wait()
    finally:
        await server.close()
        await app.aclose()


class StandinControl:
    """What a test or benchmark does with a running stand-in, over its control API.

    Shared by the in-process and the subprocess stand-in, so both are driven by
    the one code path the control API's tests cover.
    """

    account_sid: str
    auth_token: str
    port: int = 0
    _http: httpx.Client | None = None

    @property
    def url(self) -> str:
        """The API base (``FRONTDESK_TWILIO_API_BASE``)."""
        return f"http://{HOST}:{self.port}"

    def messages_url(self, account_sid: str | None = None) -> str:
        return f"{self.url}{ACCOUNTS_PREFIX}{account_sid or self.account_sid}/Messages.json"

    def message_url(self, message_sid: str, account_sid: str | None = None) -> str:
        return (
            f"{self.url}{ACCOUNTS_PREFIX}{account_sid or self.account_sid}"
            f"/Messages/{message_sid}.json"
        )

    def service_env(self) -> dict[str, str]:
        """The ``FRONTDESK_*`` settings that point the service's Twilio provider here."""
        return {
            "FRONTDESK_PROVIDER": "twilio",
            "FRONTDESK_TWILIO_ACCOUNT_SID": self.account_sid,
            "FRONTDESK_TWILIO_AUTH_TOKEN": self.auth_token,
            "FRONTDESK_TWILIO_API_BASE": self.url,
        }

    def _call(self, method: str, name: str, **kwargs: Any) -> Any:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.url, timeout=10.0, trust_env=False, verify=False
            )
        response = self._http.request(method, CONTROL_PREFIX + name, **kwargs)
        if response.status_code != 200:
            raise RuntimeError(f"stand-in control {method} {name}: {response.text}")
        return response.json()

    def _close_http(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def messages(
        self,
        to: str | None = None,
        *,
        sid: str | None = None,
        account: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Recorded creates, oldest first (the last ``limit`` when given)."""
        params = {
            k: v
            for k, v in (("to", to), ("sid", sid), ("account", account), ("limit", limit))
            if v is not None
        }
        result: list[dict[str, Any]] = self._call("GET", "messages", params=params)
        return result

    def set_behaviour(self, to: str, behaviour: Behaviour) -> None:
        self._call("POST", "behaviour", json={"to": to, **behaviour.as_json()})

    def clear_behaviour(self, to: str) -> None:
        self.set_behaviour(to, CREATED)

    def behaviours(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._call("GET", "behaviour")
        return result

    def add_account(self, sid: str, token: str) -> None:
        self._call("POST", "accounts", json={"sid": sid, "token": token})

    def configure(
        self,
        *,
        latency: float | None = None,
        callbacks: bool | None = None,
        sent_delay: float | None = None,
        delivered_delay: float | None = None,
    ) -> dict[str, Any]:
        changes = {
            k: v
            for k, v in (
                ("latency", latency),
                ("callbacks", callbacks),
                ("sent_delay", sent_delay),
                ("delivered_delay", delivered_delay),
            )
            if v is not None
        }
        result: dict[str, Any] = self._call("POST", "config", json=changes)
        return result

    def reset(self) -> None:
        self._call("POST", "reset")

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """Poll the stats until ``predicate`` holds; raise TimeoutError with the last ones."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if predicate(stats):
                return stats
            if time.monotonic() > deadline:
                raise TimeoutError(f"stand-in stats never matched: {stats}")
            time.sleep(0.02)

    def wait_callbacks(self, count: int, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until ``count`` callbacks have been answered (accepted or not)."""
        return self.wait_for(
            lambda s: s["callbacks"]["ok"] + s["callbacks"]["failed"] >= count, timeout
        )

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class TwilioStandin(StandinControl):
    """The stand-in inside the test process, on its own event loop in a daemon thread.

    ``accounts`` adds SID → token pairs to the default one; ``behaviours`` scripts
    destinations from the start. ``port=0`` picks a free port (``.port`` after
    ``start()``).
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        latency: float = 0.0,
        callbacks: bool = False,
        sent_delay: float = 0.05,
        delivered_delay: float = 0.1,
        max_messages: int = MAX_MESSAGES,
        accounts: Mapping[str, str] | None = None,
        behaviours: Mapping[str, Behaviour] | None = None,
        port: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requested_port = port
        self.app = StandinApp(
            {account_sid: auth_token, **(accounts or {})},
            latency=latency,
            callbacks=callbacks,
            sent_delay=sent_delay,
            delivered_delay=delivered_delay,
            max_messages=max_messages,
            behaviours=behaviours,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def start(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            raise RuntimeError("the stand-in is already running")
        sock = _bind(self.requested_port)
        self.port = sock.getsockname()[1]
        started = threading.Event()
        failures: list[BaseException] = []

        def listening(loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> None:
            self._loop, self._stopping = loop, stopping
            started.set()

        def run() -> None:
            try:
                with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                    runner.run(_serve(self.app, sock, listening))
            except BaseException as exc:  # reported to start(), or logged after it
                failures.append(exc)
                log.exception("twilio stand-in stopped with an error")
            finally:
                started.set()
                sock.close()

        self._thread = threading.Thread(target=run, name=f"twilio-standin-{self.port}", daemon=True)
        self._thread.start()
        if not started.wait(timeout) or failures or self._stopping is None:
            self.stop()
            raise RuntimeError(f"the Twilio stand-in did not start: {failures or 'timeout'}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, answer hanging creates with 503, let in-flight ones finish."""
        self._close_http()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own meanwhile
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = self._loop = self._stopping = None


class StandinProcess(StandinControl):
    """The stand-in as its own process (``python tests/support/twilio_standin.py``).

    For benchmarks: the carrier then has a core's GIL to itself instead of
    sharing the test's. Its stderr goes to ``log_dir/twilio-standin.stderr.log``.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        latency: float = 0.0,
        callbacks: bool = False,
        sent_delay: float = 0.05,
        delivered_delay: float = 0.1,
        max_messages: int = MAX_MESSAGES,
        accounts: Mapping[str, str] | None = None,
        behaviours: Mapping[str, Behaviour] | None = None,
        port: int = 0,
        log_dir: Path | None = None,
        python: str = sys.executable,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requested_port = port
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="twilio-standin-"))
        self.stderr_path = self.log_dir / "twilio-standin.stderr.log"
        self.command = [
            python,
            str(SCRIPT),
            "--port",
            str(port),
            "--latency",
            repr(latency),
            "--auth-token",
            auth_token,
            "--account-sid",
            account_sid,
            "--sent-delay",
            repr(sent_delay),
            "--delivered-delay",
            repr(delivered_delay),
            "--max-messages",
            str(max_messages),
        ]
        if callbacks:
            self.command.append("--callbacks")
        for sid, token in (accounts or {}).items():
            self.command += ["--account", f"{sid}:{token}"]
        for to, behaviour in (behaviours or {}).items():
            self.command += ["--behaviour", json.dumps({"to": to, **behaviour.as_json()})]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, timeout: float = 15.0) -> Self:
        if self.process is not None:
            raise RuntimeError("the stand-in is already running")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env["PYTHONUNBUFFERED"] = "1"
        with self.stderr_path.open("ab") as err:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env
            )
        assert self.process.stdout is not None
        line = _read_line(self.process.stdout, timeout)
        try:
            self.port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise RuntimeError(
                f"the Twilio stand-in did not start (said {line!r}):\n{self.stderr_text()[-4000:]}"
            ) from None
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._close_http()
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc.stdout is not None:
            proc.stdout.close()


def _read_line(stream: IO[bytes], timeout: float) -> str:
    """The first line of ``stream`` within ``timeout`` ('' on timeout or end of file)."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return ""
    return stream.readline().decode(errors="replace").strip()


# command line -------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    p.add_argument("--port", type=int, default=0, help="0 = a free port (printed as JSON)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds before each API answer")
    p.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    p.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    p.add_argument(
        "--account", action="append", default=[], metavar="SID:TOKEN", help="another account"
    )
    p.add_argument("--callbacks", action="store_true", help="POST signed status callbacks")
    p.add_argument("--sent-delay", type=float, default=0.05)
    p.add_argument("--delivered-delay", type=float, default=0.1)
    p.add_argument("--max-messages", type=int, default=MAX_MESSAGES)
    p.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="JSON",
        help='e.g. \'{"to": "+14155550101", "kind": "error", "status": 400, "code": 21610}\'',
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    accounts = {args.account_sid: args.auth_token}
    for pair in args.account:
        sid, sep, token = pair.partition(":")
        if not sep or not sid or not token:
            raise SystemExit(f"--account wants SID:TOKEN, not {pair!r}")
        accounts[sid] = token
    behaviours = {}
    for raw in args.behaviour:
        item = json.loads(raw)
        behaviours[str(item["to"])] = Behaviour.from_json(item)
    app = StandinApp(
        accounts,
        latency=args.latency,
        callbacks=args.callbacks,
        sent_delay=args.sent_delay,
        delivered_delay=args.delivered_delay,
        max_messages=args.max_messages,
        behaviours=behaviours,
    )
    sock = _bind(args.port)
    port = sock.getsockname()[1]

    def listening(loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        sys.stdout.write(json.dumps({"port": port}) + "\n")
        sys.stdout.flush()

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(app, sock, listening))
    return 0


if __name__ == "__main__":
    sys.exit(main())
