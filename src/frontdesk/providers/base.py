"""The provider port: send, parse inbound, parse status, verify signature.

A provider may also answer a status look-up (:class:`StatusLookup`): the carrier's
word on one message, asked when its receipt never came (``services.reconcile``).
The look-up is a separate, optional protocol so a provider that cannot look up
needs nothing new; :func:`fetch_status` answers None for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class OutboundSms:
    message_id: str
    to: str
    sender: str | None
    body: str
    media_urls: tuple[str, ...] = ()
    # The carrier account the sending number belongs to (a tenant's Twilio subaccount or
    # SMPP connector); None sends through the platform's default account.
    account: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    accepted: bool
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    provider: str
    provider_message_id: str
    status: str  # one of sent, delivered, undelivered, failed
    error_code: str | None = None
    at: datetime | None = None
    source: str = "callback"  # "lookup" when the provider was asked (services.reconcile)


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider: str
    provider_message_id: str | None
    sender: str
    to: str
    body: str
    media_urls: tuple[str, ...] = field(default_factory=tuple)


class Provider(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def supports_mms(self) -> bool: ...

    def send(self, message: OutboundSms) -> SendResult: ...

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms: ...

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate: ...

    def verify_signature(self, url: str, params: Mapping[str, str], signature: str) -> bool: ...

    def drain_status_updates(self) -> list[StatusUpdate]:
        """Status reports the provider pushed to us out of band (simulator, SMPP)."""
        ...

    def drain_inbound(self) -> list[InboundSms]:
        """Inbound messages the provider pushed to us out of band (simulator, SMPP)."""
        ...


@runtime_checkable
class AsyncSend(Protocol):
    """A provider that sends without a thread per request: many sends in flight on one
    event loop (a pooled HTTP client, an SMPP window). The dispatcher
    (``worker/dispatch.py``) uses it when present and runs :meth:`Provider.send` in
    a thread pool otherwise. It is called on the dispatcher's event loop."""

    async def send_async(self, message: OutboundSms) -> SendResult: ...


@runtime_checkable
class StatusLookup(Protocol):
    """A provider that can ask its carrier for one message's status (Twilio's REST look-up)."""

    def fetch_status(
        self, provider_message_id: str, *, sender: str | None = None, parts: int = 1
    ) -> StatusUpdate | None:
        """The carrier's current word on the message, as a receipt would have said it.

        ``sender`` (the number it was sent from) and ``parts`` (its segments) are what
        a carrier that tracks each part by itself needs to ask (SMPP ``query_sm``);
        others ignore them. None when the carrier cannot tell: an id it does not
        know, a status still before ``sent`` (queued at the carrier) or one we do not
        model. A provider that could not reach its carrier answers None or raises;
        reconciliation counts both as no answer and logs why.
        """
        ...


def fetch_status(
    provider: object, provider_message_id: str, *, sender: str | None = None, parts: int = 1
) -> StatusUpdate | None:
    """Ask ``provider`` when it implements :class:`StatusLookup`; None when it cannot look up."""
    if isinstance(provider, StatusLookup):
        return provider.fetch_status(provider_message_id, sender=sender, parts=parts)
    return None
