"""The composition root: the one place that picks adapters and wires the rooms together."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from frontdesk.clock import Clock, SystemClock
from frontdesk.config import Settings, check_settings
from frontdesk.providers.base import InboundSms, Provider, StatusUpdate
from frontdesk.providers.simulator import CarrierSimulator, SimulatorProfile
from frontdesk.providers.twilio import TwilioProvider
from frontdesk.services.reconcile import ReconcilePolicy
from frontdesk.storage.db import Database, connect
from frontdesk.storage.migrate import upgrade
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


DEFAULT_WORKER_BATCH = 100
NETWORK_CARRIER_SQLITE_BATCH = 5
SIMULATOR_SQLITE_BATCH = 250


def worker_batch(settings: Settings, db: Database, provider: Provider) -> int:
    """The hand-off batch. On SQLite the claim, the carrier calls and the commit share one
    transaction holding the database's only write lock: with a real carrier (~150 ms a
    call) 100 messages would keep an inbound STOP waiting ~15 s, Twilio's webhook
    timeout. A small batch there bounds that wait. The in-process simulator answers at
    once, so there a batch holds the lock only for Frontdesk's own work (~0.3 ms a
    message, under 0.1 s for 250, less than one 1,000-message API batch) and larger
    batches spread each transaction's fixed cost thinner (issue 4: ~12 % less CPU per
    hand-off than 100). PostgreSQL writers do not block each other: 100 keeps N
    workers sharing a small backlog."""
    if settings.worker_batch is not None:
        return settings.worker_batch
    if db.dialect == "sqlite":
        if isinstance(provider, CarrierSimulator):
            return SIMULATOR_SQLITE_BATCH
        return NETWORK_CARRIER_SQLITE_BATCH
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
    provider = provider or make_provider(settings, clock)
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
        webhook_verifier=webhook_verifiers(provider),
    )
