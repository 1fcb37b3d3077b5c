"""The built-in carrier simulator: the embedded default, the demo's and the benchmarks' carrier.

It accepts a message, then reports ``sent`` and ``delivered`` through the same
status path a real carrier's callback takes (``services.status.apply_status``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from frontdesk.providers.base import InboundSms, OutboundSms, SendResult, StatusUpdate


@dataclass
class CarrierSimulator:
    name: str = "simulator"
    supports_mms: bool = True
    seed: int = 7
    sent: list[OutboundSms] = field(default_factory=list)
    _status: list[StatusUpdate] = field(default_factory=list)
    _inbound: list[InboundSms] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: OutboundSms) -> SendResult:
        with self._lock:
            provider_id = f"SM{self.seed:04d}{next(self._ids):012d}"
            self.sent.append(message)
            self._status.append(StatusUpdate(self.name, provider_id, "sent"))
            self._status.append(StatusUpdate(self.name, provider_id, "delivered"))
        return SendResult(accepted=True, provider_message_id=provider_id)

    def sent_to(self, e164: str) -> list[OutboundSms]:
        with self._lock:
            return [m for m in self.sent if m.to == e164]

    def reply(self, sender: str, to: str, body: str) -> None:
        """A recipient's handset texts the business (used by the demo)."""
        with self._lock:
            self._inbound.append(
                InboundSms(self.name, f"IN{next(self._ids):012d}", sender, to, body)
            )

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms:
        return InboundSms(self.name, form.get("id"), form["from"], form["to"], form.get("body", ""))

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate:
        return StatusUpdate(self.name, form["id"], form["status"], form.get("error_code"))

    def verify_signature(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        return True

    def drain_status_updates(self) -> list[StatusUpdate]:
        with self._lock:
            out, self._status = self._status, []
        return out

    def drain_inbound(self) -> list[InboundSms]:
        with self._lock:
            out, self._inbound = self._inbound, []
        return out
