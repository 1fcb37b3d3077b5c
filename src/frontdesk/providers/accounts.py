"""Routing by carrier account: one provider per tenant account, the platform's as fallback.

An ISV-style platform sends each business's texts through that business's own
carrier account (a Twilio subaccount, an SMPP bind): the carrier's registration,
rate limits, spend and reputation are per account, and an account suspended for
one tenant's traffic does not silence the others. :class:`AccountRouter` is a
provider (the port of ``providers/base.py``) that holds the platform default
provider and one provider per account, built lazily by a factory the composition
root passes in, and picks one per message by ``OutboundSms.account``.

The router never touches the database: the worker reads the accounts (storage) and
hands them over with :meth:`AccountRouter.reload`. Secrets live in
:class:`CarrierAccountConfig` only in memory and never in its ``repr``/``str``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from frontdesk.providers.base import (
    AsyncSend,
    InboundSms,
    OutboundSms,
    Provider,
    SendResult,
    StatusUpdate,
    fetch_status,
)

log = logging.getLogger("frontdesk.providers.accounts")

PROVIDERS = ("twilio", "smpp")

# The send result of a message whose account the router does not hold. No Twilio code
# means "the platform has no such carrier account": 20003 is Twilio refusing
# credentials it was sent, 30008 the carrier's own unknown error, and here no carrier
# was called at all. A dedicated Frontdesk code says what happened. It is not in
# ``domain.carrier_errors``' table, so it classifies as an unknown error: one retry
# after five minutes, then ``failed``. That single retry is deliberate: the one way a
# message names an account the router lacks, given that an account with numbers cannot
# be disabled, is an account created moments ago that the worker has not reloaded yet
# (or one whose secret could not be opened); falling back to the platform account would
# send from a number that account does not own, so the router refuses instead.
ACCOUNT_UNAVAILABLE = "account_unavailable"


@dataclass(frozen=True, slots=True, kw_only=True)
class CarrierAccountConfig:
    """What building one account's provider needs; ``secret`` is the auth token (Twilio)
    or the bind password (SMPP) and never appears in ``repr``/``str``.

    Equality covers every field, the secret included: :meth:`AccountRouter.reload`
    rebuilds the provider of an account whose token was rotated.
    """

    id: str
    tenant_id: str
    provider: str  # "twilio" | "smpp"
    secret: str = field(repr=False)
    # Twilio
    account_sid: str | None = None
    api_base: str | None = None  # None: the platform's FRONTDESK_TWILIO_API_BASE
    # SMPP
    host: str | None = None
    port: int | None = None
    system_id: str | None = None
    system_type: str = ""
    window: int | None = None  # None: the platform's FRONTDESK_SMPP_WINDOW

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ValueError(f"carrier account provider must be one of {PROVIDERS}")

    @classmethod
    def from_record(
        cls,
        *,
        id: str,
        tenant_id: str,
        provider: str,
        config: Mapping[str, Any],
        secret: str,
    ) -> CarrierAccountConfig:
        """From the stored shape: the non-secret ``config`` JSON and the opened secret."""
        port = config.get("port")
        window = config.get("window")
        return cls(
            id=id,
            tenant_id=tenant_id,
            provider=provider,
            secret=secret,
            account_sid=_text(config.get("account_sid")),
            api_base=_text(config.get("api_base")),
            host=_text(config.get("host")),
            port=int(port) if port is not None else None,
            system_id=_text(config.get("system_id")),
            system_type=str(config.get("system_type") or ""),
            window=int(window) if window is not None else None,
        )

    def __repr__(self) -> str:
        shown = {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "provider": self.provider,
            "account_sid": self.account_sid,
            "api_base": self.api_base,
            "host": self.host,
            "port": self.port,
            "system_id": self.system_id,
            "system_type": self.system_type or None,
            "window": self.window,
        }
        parts = [f"{k}={v!r}" for k, v in shown.items() if v is not None]
        return f"CarrierAccountConfig({', '.join(parts)}, secret='***')"

    __str__ = __repr__


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


ProviderFactory = Callable[[CarrierAccountConfig], Provider]


def _close(provider: object) -> None:
    closer = getattr(provider, "close", None)
    if callable(closer):
        try:
            closer()
        except Exception as exc:  # a provider that fails to close must not stop the others
            log.warning("closing a carrier provider failed: %s", type(exc).__name__)


class AccountRouter:
    """A provider that sends each message through its carrier account's provider.

    ``message.account`` None goes to ``default`` (the provider built from the
    ``FRONTDESK_*`` settings). Another id goes to that account's provider, built on
    first use by ``factory`` and kept until :meth:`reload` drops or changes the
    account. An id the router does not hold answers ``accepted=False`` with
    :data:`ACCOUNT_UNAVAILABLE` and no carrier is called.

    Webhook parsing and signature checks (``parse_inbound``, ``parse_status``,
    ``verify_signature``) are the default provider's; a webhook to a number on an
    account is verified with :meth:`provider_for` that account. The router owns every
    provider it holds, the default included: :meth:`close` closes them all.
    Thread-safe: the worker may send from several threads while another reloads.
    """

    def __init__(
        self,
        default: Provider,
        factory: ProviderFactory,
        configs: Iterable[CarrierAccountConfig] = (),
    ) -> None:
        self.default = default
        self._factory = factory
        self._lock = threading.Lock()
        self._configs: dict[str, CarrierAccountConfig] = {c.id: c for c in configs}
        self._built: dict[str, Provider] = {}
        self._numbers: dict[str, str] = {}
        # Reports drained from providers closed by a reload, handed out by the next drain.
        self._pending_status: list[StatusUpdate] = []
        self._pending_inbound: list[InboundSms] = []
        self._closed = False

    # ------------------------------------------------------------------ the port
    @property
    def name(self) -> str:
        """The default provider's name; a message sent through an account is recorded
        under :meth:`name_for` its account."""
        return self.default.name

    @property
    def supports_mms(self) -> bool:
        return self.default.supports_mms

    def send(self, message: OutboundSms) -> SendResult:
        if message.account is None:
            return self.default.send(message)
        provider = self.provider_for(message.account)
        if provider is None:
            return SendResult(
                accepted=False,
                error_code=ACCOUNT_UNAVAILABLE,
                error_message=(
                    f"carrier account {message.account} is not available to this worker "
                    "(unknown, disabled, not loaded yet, or its provider could not be built)"
                ),
            )
        return provider.send(message)

    async def send_async(self, message: OutboundSms) -> SendResult:
        """``send`` on the dispatcher's loop (``AsyncSend``): the account's provider's own
        ``send_async`` when it has one, else its ``send`` on a thread."""
        provider = self.default if message.account is None else self.provider_for(message.account)
        if provider is None:
            return self.send(message)
        if isinstance(provider, AsyncSend):
            return await provider.send_async(message)
        return await asyncio.to_thread(provider.send, message)

    async def aclose(self) -> None:
        """Close the pooled async clients of every provider held, on the loop that used them."""
        with self._lock:
            providers = [self.default, *self._built.values()]
        for provider in providers:
            aclose = getattr(provider, "aclose", None)
            if callable(aclose):
                await aclose()

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms:
        return self.default.parse_inbound(form)

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate:
        return self.default.parse_status(form)

    def verify_signature(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        return self.default.verify_signature(url, params, signature)

    def drain_status_updates(self) -> list[StatusUpdate]:
        with self._lock:
            out, self._pending_status = self._pending_status, []
            providers = [self.default, *self._built.values()]
        for provider in providers:
            out.extend(provider.drain_status_updates())
        return out

    def drain_inbound(self) -> list[InboundSms]:
        with self._lock:
            out, self._pending_inbound = self._pending_inbound, []
            providers = [self.default, *self._built.values()]
        for provider in providers:
            out.extend(provider.drain_inbound())
        return out

    def fetch_status(
        self,
        provider_message_id: str,
        *,
        sender: str | None = None,
        parts: int = 1,
        account: str | None = None,
    ) -> StatusUpdate | None:
        """The status look-up (``StatusLookup``) through the message's account — given, or
        the one its sending number belongs to (:meth:`link_numbers`); None when the
        account is not held or its provider cannot look up."""
        if account is None and sender is not None:
            with self._lock:
                account = self._numbers.get(sender)
        provider = self.default if account is None else self.provider_for(account)
        if provider is None:
            return None
        return fetch_status(provider, provider_message_id, sender=sender, parts=parts)

    # ------------------------------------------------------------------ accounts
    @property
    def account_ids(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._configs)

    def config_for(self, account_id: str) -> CarrierAccountConfig | None:
        with self._lock:
            return self._configs.get(account_id)

    def name_for(self, account_id: str | None) -> str:
        """The provider name a message sent through ``account_id`` is recorded under
        (``messages.provider``): status callbacks are matched on it."""
        if account_id is None:
            return self.default.name
        config = self.config_for(account_id)
        return config.provider if config is not None else self.default.name

    def provider_for(self, account_id: str | None) -> Provider | None:
        """The provider of ``account_id`` (built now if it was not yet), the default for
        None, or None when the router does not hold the account or building it failed
        (logged by account id and error type, never the configuration)."""
        if account_id is None:
            return self.default
        with self._lock:
            built = self._built.get(account_id)
            if built is not None:
                return built
            config = self._configs.get(account_id)
            if config is None or self._closed:
                return None
            # Built under the lock so two senders never build (and bind) one account twice;
            # the factories connect lazily (Twilio: an HTTP client; SMPP: a bind thread).
            try:
                built = self._factory(config)
            except Exception as exc:
                log.error(
                    "carrier account %s (%s): its provider could not be built: %s",
                    account_id,
                    config.provider,
                    type(exc).__name__,
                )
                return None
            self._built[account_id] = built
            return built

    def link_numbers(self, numbers: Mapping[str, str]) -> None:
        """Which account each sending number belongs to, for look-ups that know only the
        number a message was sent from (reconciliation)."""
        with self._lock:
            self._numbers = dict(numbers)

    def reload(self, configs: Iterable[CarrierAccountConfig]) -> None:
        """Replace the set of accounts. Providers of accounts that are gone, or whose
        configuration (secret included) changed, are drained and closed; their pending
        reports are handed out by the next ``drain_*``. Unchanged ones are kept bound."""
        fresh = {c.id: c for c in configs}
        with self._lock:
            stale = [
                (account_id, provider)
                for account_id, provider in self._built.items()
                if fresh.get(account_id) != self._configs.get(account_id)
            ]
            for account_id, _ in stale:
                del self._built[account_id]
            self._configs = fresh
        for account_id, provider in stale:
            try:
                status = provider.drain_status_updates()
                inbound = provider.drain_inbound()
            except Exception as exc:
                log.warning(
                    "carrier account %s: draining before close failed: %s",
                    account_id,
                    type(exc).__name__,
                )
                status, inbound = [], []
            with self._lock:
                self._pending_status.extend(status)
                self._pending_inbound.extend(inbound)
            _close(provider)

    def close(self) -> None:
        """Close every provider the router holds, the default included."""
        with self._lock:
            self._closed = True
            providers = list(self._built.values())
            self._built.clear()
        for provider in providers:
            _close(provider)
        _close(self.default)

    def __repr__(self) -> str:
        return (
            f"AccountRouter(default={self.default.name!r}, accounts={len(self._configs)}, "
            f"built={len(self._built)})"
        )
