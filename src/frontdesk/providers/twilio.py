"""Twilio over its REST API: send, parse webhooks, verify ``X-Twilio-Signature``.

Sends go to ``POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json`` with
httpx; Twilio pushes status reports and inbound texts to our webhooks, so the
drain methods return nothing. Providers never touch the database (design.md).

A message whose status webhook never came is looked up with
``GET {api_base}/2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json``
(:meth:`TwilioProvider.fetch_status`, asked by ``services.reconcile``).

Error mapping (R-E-02, retry policy): a Twilio error body (``code``,
``message``, ``more_info``, ``status``) becomes ``error_code=str(code)``, which
the delivery service looks up in ``domain.carrier_errors`` (21610 is never
retried). Faults that carry no Twilio verdict get codes that table retries:
``"network"`` (:data:`NETWORK_ERROR`: connection refused or reset, DNS, or a
timeout, in which case Twilio may have the message; ``error_message`` names
the exception), ``"20429"`` for a 429 and ``"20500"``/``"20503"`` for a 5xx
without a Twilio error body (Twilio's own codes for those answers).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from twilio.request_validator import RequestValidator, get_signature_algorithm

from frontdesk.providers.base import InboundSms, OutboundSms, SendResult, StatusUpdate

log = logging.getLogger("frontdesk.providers.twilio")

NETWORK_ERROR = "network"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_MAX_CONNECTIONS = 256
SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
MAX_INBOUND_MEDIA = 10

# Twilio's MessageStatus values mapped onto the four StatusUpdate kinds; "read"
# (WhatsApp/RCS) implies delivery. Pre-hand-off states pass through unchanged
# so services.status can record them as "sending".
_STATUS = {
    "accepted": "accepted",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}

# A looked-up Message resource's status as a receipt would report it. Only what
# the carrier has decided counts: "accepted", "queued", "sending" and
# "scheduled" are Twilio still holding it (None, ask again later), as is any
# status we do not model ("partially_delivered", inbound ones). "canceled" is
# a scheduled send Twilio will never make: "failed".
_LOOKUP_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
_FAILED = frozenset({"undelivered", "failed"})


class MultiParams(dict[str, str]):
    """Form parameters that keep repeated keys for signature checks.

    Twilio signs every value of a repeated key, sorted; a plain dict would keep
    only the last. ``RequestValidator`` looks for ``getlist``.
    """

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        super().__init__(items)
        self._lists: dict[str, list[str]] = {}
        for key, value in items:
            self._lists.setdefault(key, []).append(value)

    def getlist(self, key: str) -> list[str]:
        return list(self._lists.get(key, ()))


class TwilioProvider:
    """The Twilio adapter of the provider port (providers/base.py).

    ``public_base_url`` is the scheme and host Twilio calls (e.g.
    ``https://sms.example.com``): behind a TLS-terminating proxy the app sees
    ``http://127.0.0.1:8000/...`` while Twilio signed the public URL, so
    signatures are checked against ``public_base_url + path + query``.
    """

    name = "twilio"
    supports_mms = True

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        public_base_url: str | None = None,
        api_base: str = "https://api.twilio.com",
        webhook_shared_key: str | None = None,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("TwilioProvider needs an account SID and an auth token")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self._shared_key = webhook_shared_key
        self.api_base = api_base.rstrip("/")
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._client = client or httpx.Client(timeout=timeout, transport=transport)
        self._owns_client = client is None
        self._timeout = timeout
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    async def aclose(self) -> None:
        """Close the pooled async session, on the loop that used it."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # sending -------------------------------------------------------------------------
    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    @property
    def status_callback(self) -> str | None:
        if self.public_base_url is None:
            return None
        return f"{self.public_base_url}/webhooks/twilio/status"

    def _form(self, message: OutboundSms) -> dict[str, str | list[str]]:
        form: list[tuple[str, str]] = [("To", message.to), ("Body", message.body)]
        if message.sender:
            form.append(("From", message.sender))
        form += [("MediaUrl", url) for url in message.media_urls]
        if self.status_callback:
            form.append(("StatusCallback", self.status_callback))
        return _form_dict(form)

    def send(self, message: OutboundSms) -> SendResult:
        try:
            response = self._client.post(
                self.messages_url,
                data=self._form(message),
                auth=(self.account_sid, self._auth_token),
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            log.warning("twilio unreachable for %s: %s", message.message_id, type(exc).__name__)
            return SendResult(False, error_code=NETWORK_ERROR, error_message=type(exc).__name__)
        return self._result(message, response)

    async def send_async(self, message: OutboundSms) -> SendResult:
        """``send`` on the dispatcher's event loop (``AsyncSend``): one pooled keep-alive
        session holds up to ``max_connections`` requests in flight, so a 150 ms round trip
        costs a slot, not a thread or a transaction (issue 12).

        aiohttp rather than httpx here: httpx's async pool re-scans every connection
        for every queued request, which at 256 connections cost the server ~40 ms of
        CPU per message in ``bench/carrier.py``; aiohttp's connector does not."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
                timeout=_aiohttp_timeout(self._timeout),
                headers={"Accept": "application/json", "Authorization": self._basic_auth()},
            )
        form = [
            (key, item)
            for key, value in self._form(message).items()
            for item in (value if isinstance(value, list) else [value])
        ]
        try:
            async with self._session.post(self.messages_url, data=form) as response:
                raw = await response.read()
                return self._answer(
                    message, response.status, response.reason or "", _json_bytes(raw)
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("twilio unreachable for %s: %s", message.message_id, type(exc).__name__)
            return SendResult(False, error_code=NETWORK_ERROR, error_message=type(exc).__name__)

    def _basic_auth(self) -> str:
        pair = f"{self.account_sid}:{self._auth_token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _result(self, message: OutboundSms, response: httpx.Response) -> SendResult:
        return self._answer(message, response.status_code, response.reason_phrase, _json(response))

    def _answer(
        self, message: OutboundSms, status: int, reason: str, payload: dict[str, Any]
    ) -> SendResult:
        if status in (200, 201) and isinstance(payload.get("sid"), str):
            return SendResult(True, provider_message_id=payload["sid"])
        code = payload.get("code")
        if code is None:
            log.warning("twilio answered %s for %s", status, message.message_id)
            return SendResult(
                False,
                error_code=_http_code(status),
                error_message=f"HTTP {status} {reason}",
            )
        log.info("twilio refused %s with %s", message.message_id, code)
        return SendResult(False, error_code=str(code), error_message=str(payload.get("message")))

    # webhooks ------------------------------------------------------------------------
    def public_url(self, url: str) -> str:
        """The URL Twilio called: our public base plus the path and query the app saw."""
        if self.public_base_url is None:
            return url
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.public_base_url}{parts.path}{query}"

    def verify_signature(
        self,
        url: str,
        params: Mapping[str, str],
        signature: str,
        *,
        settings_header: str | None = None,
        raw_body: str | None = None,
    ) -> bool:
        """Check ``X-Twilio-Signature`` the way the official ``RequestValidator`` does.

        HMAC-SHA1 over the URL and sorted parameters keyed by the auth token,
        tried with and without the default port; HMAC-SHA256 when the request
        carries ``X-Twilio-Webhooks-Signature-Settings: ...,algorithm=HMAC_SHA256``
        (keyed by the webhook shared key when one is configured); and for JSON
        bodies the ``bodySHA256`` query parameter checked against ``raw_body``.
        An unknown algorithm fails. Without this check anyone could forge a
        STOP or a status report (api.md, provider webhooks).
        """
        if not signature:
            return False
        algorithm = get_signature_algorithm(settings_header)
        key = self._auth_token
        if settings_header and self._shared_key:
            key = self._shared_key
        validator = RequestValidator(key)
        target = self.public_url(url)
        body: Any = params
        if raw_body is not None and "bodySHA256=" in urlsplit(target).query:
            body = raw_body
        try:
            return bool(validator.validate(target, body, signature, algorithm=algorithm))
        except (ValueError, TypeError):
            return False

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms:
        """Twilio's inbound fields: From, To, Body, MessageSid, NumMedia, MediaUrl0..N."""
        try:
            count = int(form.get("NumMedia", "0") or 0)
        except ValueError:
            count = 0
        count = max(0, min(count, MAX_INBOUND_MEDIA))
        media = tuple(form[f"MediaUrl{i}"] for i in range(count) if form.get(f"MediaUrl{i}"))
        return InboundSms(
            provider=self.name,
            provider_message_id=form.get("MessageSid") or form.get("SmsSid") or None,
            sender=form.get("From", ""),
            to=form.get("To", ""),
            body=form.get("Body", ""),
            media_urls=media,
        )

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate:
        """Twilio's status callback: MessageSid, MessageStatus, ErrorCode."""
        raw = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        return StatusUpdate(
            provider=self.name,
            provider_message_id=form.get("MessageSid") or form.get("SmsSid") or "",
            status=_STATUS.get(raw, raw),
            error_code=form.get("ErrorCode") or None,
        )

    def drain_status_updates(self) -> list[StatusUpdate]:
        return []

    # look-up -------------------------------------------------------------------------
    def message_url(self, provider_message_id: str) -> str:
        return (
            f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}"
            f"/Messages/{provider_message_id}.json"
        )

    def fetch_status(
        self, provider_message_id: str, *, sender: str | None = None, parts: int = 1
    ) -> StatusUpdate | None:
        """Twilio's Message resource mapped onto a receipt (``StatusLookup``).

        ``status`` maps through :data:`_LOOKUP_STATUS`; a failure's ``error_code``
        becomes the receipt's code (so R-E-02's table applies as for a webhook) and
        ``date_updated`` its time. None for a status Twilio has not settled, a
        404 (Twilio does not know the SID), and any answer that is not a Message
        (a refused credential, a 5xx, no connection), which is logged.
        """
        if not provider_message_id or "/" in provider_message_id:
            return None
        try:
            response = self._client.get(
                self.message_url(provider_message_id),
                auth=(self.account_sid, self._auth_token),
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            log.warning("twilio look-up of %s failed: %s", provider_message_id, type(exc).__name__)
            return None
        payload = _json(response)
        if response.status_code != 200 or payload.get("sid") != provider_message_id:
            if response.status_code != 404:
                log.warning(
                    "twilio look-up of %s answered %s", provider_message_id, response.status_code
                )
            return None
        raw = str(payload.get("status") or "").lower()
        status = _LOOKUP_STATUS.get(raw)
        if status is None:
            return None
        code = payload.get("error_code")
        return StatusUpdate(
            provider=self.name,
            provider_message_id=provider_message_id,
            status=status,
            error_code=str(code) if code is not None and status in _FAILED else None,
            at=_rfc2822(payload.get("date_updated")),
            source="lookup",
        )

    def drain_inbound(self) -> list[InboundSms]:
        return []


def _http_code(status: int) -> str:
    """Twilio's own code for an answer that carries no error body."""
    if status == 429:
        return "20429"
    if status == 503:
        return "20503"
    if status >= 500:
        return "20500"
    return str(status)


def _form_dict(items: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key, value in items:
        if key in out:
            prior = out[key]
            out[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
        elif key == "MediaUrl":
            out[key] = [value]
        else:
            out[key] = value
    return out


def _rfc2822(value: object) -> datetime | None:
    """Twilio's resource dates (``Thu, 30 Jul 2015 20:12:31 +0000``) as aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def _aiohttp_timeout(timeout: httpx.Timeout | float) -> aiohttp.ClientTimeout:
    """The same bounds for the async session: connecting, then the whole answer."""
    if isinstance(timeout, httpx.Timeout):
        total = (timeout.connect or 0.0) + (timeout.read or 10.0)
        return aiohttp.ClientTimeout(total=total, sock_connect=timeout.connect)
    return aiohttp.ClientTimeout(total=float(timeout))


def _json_bytes(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
