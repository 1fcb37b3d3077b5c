"""The composition root: the one place that picks adapters and wires the rooms together."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from frontdesk.clock import Clock, SystemClock
from frontdesk.config import Settings, check_settings
from frontdesk.providers.accounts import AccountRouter, CarrierAccountConfig
from frontdesk.providers.base import InboundSms, Provider, StatusUpdate
from frontdesk.providers.simulator import CarrierSimulator, SimulatorProfile
from frontdesk.providers.twilio import TwilioProvider
from frontdesk.secrets_box import SecretBox, SecretBoxError
from frontdesk.services import carrier_accounts
from frontdesk.services.reconcile import ReconcilePolicy
from frontdesk.storage import carrier_accounts as account_store
from frontdesk.storage.db import Database, connect
from frontdesk.storage.migrate import upgrade
from frontdesk.storage.uow import UnitOfWork
from frontdesk.worker.loop import Worker

log = logging.getLogger("frontdesk.bootstrap")


class TwilioWebhooks(Protocol):
    """What the edge needs to take a Twilio-format webhook: check it, then read it.

    A signature is keyed by one account's auth token, so the verifier is the carrier
    account the webhook's number belongs to (see :data:`WebhookVerifierFor`).
    """

    def verify_signature(
        self,
        url: str,
        params: Mapping[str, str],
        signature: str,
        *,
        settings_header: str | None = None,
        raw_body: str | None = None,
    ) -> bool: ...

    def parse_inbound(self, form: Mapping[str, str]) -> InboundSms: ...

    def parse_status(self, form: Mapping[str, str]) -> StatusUpdate: ...


WebhookVerifierFor = Callable[[str], TwilioWebhooks | None]
"""The verifier for the business number (E.164) a webhook concerns, None when that number
takes no Twilio webhooks here (the edge answers 404). A function of the number, not one
object, so one account per tenant can come without the edge changing."""


@dataclass
class Container:
    settings: Settings
    db: Database
    provider: Provider
    clock: Clock
    worker: Worker
    embedded_worker: bool
    webhook_verifier: WebhookVerifierFor
    accounts: CarrierAccounts | None = None

    @property
    def secret_box(self) -> SecretBox | None:
        """The key set carrier-account secrets are sealed with, once one is configured."""
        return self.accounts.box() if self.accounts is not None else None

    def close(self) -> None:
        self.worker.stop()
        close_provider = getattr(self.provider, "close", None)
        if callable(close_provider):
            close_provider()
        self.db.dispose()


NO_PUBLIC_URL_WARNING = (
    "FRONTDESK_PUBLIC_BASE_URL is not set: Twilio sends carry no status callback URL, and "
    "webhook signatures are checked against the URL this process sees, which fails behind "
    "a proxy. Set it to the public URL Twilio calls (FRONTDESK_ENV=production requires it)."
)


def make_provider(settings: Settings, clock: Clock) -> Provider:
    """The carrier FRONTDESK_PROVIDER names, built from checked settings.

    Every adapter is built here or it does not exist for a user (design.md); bad
    settings raise ConfigurationError with every problem before anything connects.
    """
    check_settings(settings)
    if settings.provider == "twilio":
        return _make_twilio(settings)
    if settings.provider == "smpp":
        return _make_smpp(settings)
    profile = (
        SimulatorProfile.realistic()
        if settings.simulator_profile == "realistic"
        else SimulatorProfile()
    )
    return CarrierSimulator(
        seed=settings.simulator_seed,
        profile=profile,
        clock=clock,
        memory=settings.simulator_memory,
    )


def _make_twilio(settings: Settings) -> Provider:
    public_base_url = (settings.public_base_url or "").strip() or None
    if public_base_url is None:
        log.warning(NO_PUBLIC_URL_WARNING)
    return TwilioProvider(
        settings.twilio_account_sid or "",
        settings.twilio_auth_token or "",
        public_base_url=public_base_url,
        api_base=settings.twilio_api_base,
        webhook_shared_key=settings.twilio_webhook_shared_key or None,
        # As many connections as sends in flight: a send never waits for one in-process.
        max_connections=settings.worker_max_in_flight,
    )


def _make_smpp(settings: Settings) -> Provider:
    from frontdesk.providers.smpp import SmppConfig, SmppProvider

    return SmppProvider(
        SmppConfig(
            host=settings.smpp_host or "",
            port=settings.smpp_port,
            system_id=settings.smpp_system_id or "",
            password=settings.smpp_password or "",
            system_type=settings.smpp_system_type,
            source_addr=settings.smpp_source_addr,
            window=settings.smpp_window,
            enquire_link_interval=settings.smpp_enquire_link_seconds,
        )
    )


def webhook_verifiers(provider: Provider) -> WebhookVerifierFor:
    """Which verifier answers the Twilio webhooks of each number: one platform account today.

    A Twilio provider verifies every number's webhooks with its one auth token; any
    other carrier takes none (SMPP and the simulator report in-band), so Twilio's
    webhook routes answer 404 there.
    """
    if isinstance(provider, TwilioProvider):
        platform: TwilioWebhooks = provider

        def platform_account(_number: str) -> TwilioWebhooks | None:
            return platform

        return platform_account

    def none(_number: str) -> TwilioWebhooks | None:
        return None

    return none


def account_factory(settings: Settings) -> Callable[[CarrierAccountConfig], Provider]:
    """How a tenant's own carrier account becomes a provider: its credentials, the
    platform's public URL (status callbacks, signatures) and transport settings."""
    public_base_url = (settings.public_base_url or "").strip() or None

    def build_account(cfg: CarrierAccountConfig) -> Provider:
        if cfg.provider == "twilio":
            return TwilioProvider(
                cfg.account_sid or "",
                cfg.secret,
                public_base_url=public_base_url,
                api_base=cfg.api_base or settings.twilio_api_base,
                max_connections=settings.worker_max_in_flight,
            )
        from frontdesk.providers.smpp import SmppConfig, SmppProvider

        return SmppProvider(
            SmppConfig(
                host=cfg.host or "",
                port=cfg.port or 2775,
                system_id=cfg.system_id or "",
                password=cfg.secret,
                system_type=cfg.system_type,
                source_addr=settings.smpp_source_addr,
                window=cfg.window or settings.smpp_window,
                enquire_link_interval=settings.smpp_enquire_link_seconds,
            )
        )

    return build_account


@dataclass
class CarrierAccounts:
    """Tenants' own carrier accounts as the worker and the webhook edge see them.

    The router's accounts and the number → account map are read from the database at
    most every ``refresh_seconds`` (an account or a link made through the API is used
    within that time). Secrets are opened with the deployment's :class:`SecretBox`,
    built from ``FRONTDESK_SECRET_KEYS`` only once an account exists, so a deployment
    without tenant accounts needs no key.
    """

    db: Database
    router: AccountRouter
    refresh_seconds: float = 5.0
    var_dir: Path = Path("var")
    _numbers: dict[str, str] = field(default_factory=dict)
    _read_at: float = float("-inf")
    _box: SecretBox | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def box(self) -> SecretBox | None:
        if self._box is None:
            try:
                self._box, where = SecretBox.from_environment(os.environ, self.var_dir)
            except SecretBoxError as exc:
                log.error("carrier account secrets cannot be opened: %s", exc)
                return None
            log.info("carrier account secrets: keys from %s", where)
        return self._box

    def numbers(self) -> dict[str, str]:
        """Sending number → carrier account id, refreshed with the router's accounts."""
        with self._lock:
            if time.monotonic() - self._read_at >= self.refresh_seconds:
                self._refresh()
            return self._numbers

    def account_for(self, number: str) -> str | None:
        return self.numbers().get(number)

    def _refresh(self) -> None:
        self._read_at = time.monotonic()
        try:
            with UnitOfWork(self.db, write=False) as uow:
                numbers = account_store.number_accounts(uow)
                configs: list[CarrierAccountConfig] = []
                if numbers or account_store.any_accounts(uow):
                    box = self.box()
                    if box is not None:
                        configs = carrier_accounts.router_configs(uow, box)
        except Exception:
            log.exception("reading carrier accounts failed; the last ones read stay in use")
            return
        self.router.reload(configs)
        self.router.link_numbers(numbers)
        self._numbers = numbers


def account_webhook_verifiers(accounts: CarrierAccounts) -> WebhookVerifierFor:
    """A number on a tenant's Twilio account is verified with that account's token; one on
    the platform default with the platform's; an account this process cannot open
    (unknown, disabled, key missing) verifies nothing, so its webhooks are refused."""
    platform = webhook_verifiers(accounts.router.default)

    def verifier(number: str) -> TwilioWebhooks | None:
        account = accounts.account_for(number)
        if account is None:
            return platform(number)
        provider = accounts.router.provider_for(account)
        return provider if isinstance(provider, TwilioProvider) else None

    return verifier


DEFAULT_WORKER_BATCH = 100
SIMULATOR_SQLITE_BATCH = 250


def worker_batch(settings: Settings, db: Database, provider: Provider) -> int:
    """Messages claimed per claim transaction. The claim no longer calls the carrier
    (the outbox sends outside any transaction, issue 12), so a claim holds SQLite's
    write lock only for Frontdesk's own work (~0.3 ms a message): 100 keeps N
    PostgreSQL workers sharing a small backlog and bounds how long an inbound STOP
    waits behind a claim. With the in-process simulator on SQLite larger claims
    spread each transaction's fixed cost thinner (issue 4: ~12 % less CPU than 100)."""
    if settings.worker_batch is not None:
        return settings.worker_batch
    if db.dialect == "sqlite" and isinstance(provider, CarrierSimulator):
        return SIMULATOR_SQLITE_BATCH
    return DEFAULT_WORKER_BATCH


def tune_gc(threshold: int) -> None:
    """For a long-running process, once its start-up is done (``serve``, ``worker``).

    Every request and hand-off allocates thousands of short-lived objects (rows,
    facts, decisions) and almost no cycles; with Python's default threshold of 700
    the collector ran thousands of times per 20,000 messages and each full
    collection walked every module, model and compiled statement loaded at start-up:
    about 10 % of the server's CPU (issue 4). ``gc.freeze()`` moves what start-up
    allocated out of the collector's sight; the threshold makes young collections
    rarer. Cycles are still collected.
    """
    import gc

    gc.collect()
    gc.freeze()
    if threshold > 0:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    provider: Provider | None = None,
    migrate: bool = True,
    embedded_worker: bool | None = None,
) -> Container:
    db = connect(settings.database_url)
    if migrate:
        upgrade(db.url)
    clock = clock or SystemClock()
    accounts: CarrierAccounts | None = None
    if provider is None:
        default = make_provider(settings, clock)
        if isinstance(default, CarrierSimulator):
            provider = default
        else:
            router = AccountRouter(default, account_factory(settings))
            accounts = CarrierAccounts(db, router)
            provider = router
    worker = Worker(
        db=db,
        provider=provider,
        clock=clock,
        batch=worker_batch(settings, db, provider),
        idle_seconds=settings.worker_idle_seconds,
        linger_seconds=settings.worker_linger_seconds,
        reconcile_every_seconds=settings.reconcile_every_seconds,
        reconcile_policy=ReconcilePolicy(
            after=timedelta(seconds=settings.reconcile_after_seconds),
            deadline=timedelta(hours=settings.reconcile_deadline_hours),
        ),
        max_in_flight=settings.worker_max_in_flight,
        per_account=settings.worker_per_account,
        send_timeout=settings.worker_send_timeout_seconds,
        lease_seconds=settings.claim_lease_seconds,
        accounts=accounts.numbers if accounts is not None else None,
    )
    if embedded_worker is None:
        embedded_worker = settings.embedded_worker
    if embedded_worker is None:
        embedded_worker = db.dialect == "sqlite"
    return Container(
        settings=settings,
        db=db,
        provider=provider,
        clock=clock,
        worker=worker,
        embedded_worker=embedded_worker,
        webhook_verifier=(
            account_webhook_verifiers(accounts)
            if accounts is not None
            else webhook_verifiers(provider)
        ),
        accounts=accounts,
    )
