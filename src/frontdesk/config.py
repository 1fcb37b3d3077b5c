"""Settings from the environment (prefix ``FRONTDESK_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", extra="ignore")

    database_url: str = Field(default_factory=lambda: f"sqlite:///{Path('var/frontdesk.db')}")
    admin_token: str | None = None
    provider: str = "simulator"
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None
    # Messages claimed per hand-off transaction; None = 100 on PostgreSQL; on SQLite 5 with
    # a real carrier (its calls are made while the transaction holds the one write lock),
    # 250 with the in-process simulator (bootstrap.worker_batch).
    worker_batch: int | None = None
    worker_idle_seconds: float = 0.2
    # After a partial batch the worker waits this long so the next batch fills a little
    # (a step costs the same for 5 messages as for 100); the hand-off latency it adds.
    worker_linger_seconds: float = 0.02
    # Messages left ``sending`` or ``sent`` (a receipt lost or missed): ask the carrier once
    # their receipt is this late, then backing off with age; past the deadline a ``sending``
    # one is ``undelivered`` (``no_receipt``), a ``sent`` one is left ``sent`` (reconcile).
    reconcile_after_seconds: float = 900.0
    reconcile_deadline_hours: float = 72.0
    reconcile_every_seconds: float = 60.0
    # The delivery worker as a thread inside the API process; None = on for SQLite (the
    # embedded default), off for PostgreSQL (``frontdesk worker`` processes scale out).
    embedded_worker: bool | None = None
    # Long-running processes (``serve``, ``worker``): objects allocated before a cyclic
    # garbage collection of the youngest generation; 0 keeps Python's default (700).
    gc_threshold: int = 50_000
    review_hours: int = 24
    # New tenants must accept the SMS Messaging Policy before sending (R-B-03), and their
    # numbers need an approved campaign (R-R-01); None = required unless on the simulator.
    require_policy: bool = True
    require_registration: bool | None = None
    simulator_seed: int = 7
    simulator_profile: str = "clean"  # "clean" (no faults, benchmarks) or "realistic" (demo)
    # Accepted messages the simulator remembers for look-ups, tests and the demo; older
    # ones are forgotten, so a long-running demo holds bounded memory.
    simulator_memory: int = Field(default=100_000, ge=1)
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    twilio_webhook_shared_key: str | None = None
    smpp_host: str | None = None
    smpp_port: int = 2775
    smpp_system_id: str | None = None
    smpp_password: str | None = None
    smpp_system_type: str = ""
    smpp_source_addr: str = ""
    smpp_window: int = 10
    smpp_enquire_link_seconds: float = 30.0
    media_allow_insecure_loopback: bool = False
    log_level: str = "INFO"


def load() -> Settings:
    return Settings()
