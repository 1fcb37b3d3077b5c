"""The provider port: send, parse inbound, parse status, verify signature."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboundSms:
    message_id: str
    to: str
    sender: str | None
    body: str
    media_urls: tuple[str, ...] = ()


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


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider: str
    provider_message_id: str | None
    sender: str
    to: str
    body: str
    media_urls: tuple[str, ...] = field(default_factory=tuple)


class Provider(Protocol):
    name: str
    supports_mms: bool

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
