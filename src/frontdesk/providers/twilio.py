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

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from twilio.request_validator import RequestValidator, get_signature_algorithm

from frontdesk.providers.base import InboundSms, OutboundSms, SendResult, StatusUpdate

log = logging.getLogger("frontdesk.providers.twilio")

NETWORK_ERROR = "network"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
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

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # sending -------------------------------------------------------------------------
    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    @property
    def status_callback(self) -> str | None:
        if self.public_base_url is None:
            return None
        return f"{self.public_base_url}/webhooks/twilio/status"

    def send(self, message: OutboundSms) -> SendResult:
        form: list[tuple[str, str]] = [("To", message.to), ("Body", message.body)]
        if message.sender:
            form.append(("From", message.sender))
        form += [("MediaUrl", url) for url in message.media_urls]
        if self.status_callback:
            form.append(("StatusCallback", self.status_callback))
        try:
            response = self._client.post(
                self.messages_url,
                data=_form_dict(form),
                auth=(self.account_sid, self._auth_token),
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            log.warning("twilio unreachable for %s: %s", message.message_id, type(exc).__name__)
            return SendResult(False, error_code=NETWORK_ERROR, error_message=type(exc).__name__)
        return self._result(message, response)

    def _result(self, message: OutboundSms, response: httpx.Response) -> SendResult:
        payload = _json(response)
        if response.status_code in (200, 201) and isinstance(payload.get("sid"), str):
            return SendResult(True, provider_message_id=payload["sid"])
        code = payload.get("code")
        if code is None:
            log.warning("twilio answered %s for %s", response.status_code, message.message_id)
            return SendResult(
                False,
                error_code=_http_code(response.status_code),
                error_message=f"HTTP {response.status_code} {response.reason_phrase}",
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


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
