"""Settings from the environment (prefix ``FRONTDESK_``).

Pydantic checks each value's type as it is read (:func:`load`); :func:`check_settings`
then checks what the adapter ``FRONTDESK_PROVIDER`` names needs from them (a Twilio
SID's shape, an SMPP host). Both report through :class:`ConfigurationError`. The check
lives here, importing nothing of the rooms, so ``frontdesk migrate`` runs it without
loading the application; ``bootstrap.make_provider`` runs it before building.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

ENV_PREFIX = "FRONTDESK_"


class ConfigurationError(Exception):
    """Settings a process cannot do its job with, every problem at once.

    Each problem is one sentence naming the environment variable and what to set it
    to. All of them are collected before anything starts, so an operator fixes the
    environment in one pass instead of one restart per variable, and nothing is
    served or migrated on settings that would fail at the first send.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("; ".join(self.problems))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = Field(default_factory=lambda: f"sqlite:///{Path('var/frontdesk.db')}")
    admin_token: str | None = None
    provider: str = "simulator"
    host: str = "127.0.0.1"
    port: int = 8000
    # "production" turns what development only warns about into ConfigurationError
    # (check_settings): today a Twilio deployment without public_base_url.
    env: Literal["development", "production"] = "development"
    # Scheme and host (no path) Twilio calls: signatures are checked against it and
    # every Twilio send names {public_base_url}/webhooks/twilio/status as its callback.
    public_base_url: str | None = None
    # Messages claimed per claim transaction; None = 100, or 250 on SQLite with the
    # in-process simulator (bootstrap.worker_batch). The carrier is called after it commits.
    worker_batch: int | None = None
    worker_idle_seconds: float = 0.2
    # The outbox (worker/dispatch.py): sends in flight per worker process and per carrier
    # account, the bound on one send, and how long a claim may go without its outcome
    # before another worker settles it as left by a stopped worker.
    worker_max_in_flight: int = Field(default=256, ge=1, le=10_000)
    worker_per_account: int = Field(default=256, ge=1, le=10_000)
    worker_send_timeout_seconds: float = Field(default=30.0, gt=0)
    claim_lease_seconds: float = Field(default=120.0, ge=0)
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


PROVIDERS = ("simulator", "twilio", "smpp")
SIMULATOR_PROFILES = ("clean", "realistic")
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")


def settings_problems(settings: Settings) -> list[str]:
    """Every missing or bad value the adapter FRONTDESK_PROVIDER names needs, one sentence each.

    Checked before a process serves, delivers or migrates: a deployment that starts
    on a SID with a typo accepts messages it can never hand off.
    """
    problems: list[str] = []
    if not _blank(settings.public_base_url):
        problems += _public_base_url_problems(str(settings.public_base_url))
    if settings.provider == "simulator":
        if settings.simulator_profile not in SIMULATOR_PROFILES:
            problems.append(
                f"FRONTDESK_SIMULATOR_PROFILE={settings.simulator_profile!r} is not a profile: "
                "use 'clean' (no faults) or 'realistic' (the demo's faults)"
            )
    elif settings.provider == "twilio":
        problems += _twilio_problems(settings)
    elif settings.provider == "smpp":
        problems += _smpp_problems(settings)
    else:
        problems.append(
            f"FRONTDESK_PROVIDER={settings.provider!r} is not a provider: use one of "
            f"{', '.join(PROVIDERS)}"
        )
    return problems


def check_settings(settings: Settings) -> None:
    """Raise ConfigurationError listing every problem of :func:`settings_problems`."""
    problems = settings_problems(settings)
    if problems:
        raise ConfigurationError(problems)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _http_url_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute http(s) URL with a host, or None."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port out of range raises only when read
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "it does not start with http:// or https://"
    if not parts.hostname:
        return "it names no host"
    return None


def _public_base_url_problems(value: str) -> list[str]:
    """Twilio signs the URL it calls; the base must be exactly scheme and host (and port).

    Webhook paths are appended to it, so a path or query here would make every
    signature check and every status callback URL wrong.
    """
    why = _http_url_problem(value)
    if why is None:
        parts = urlsplit(value)
        if parts.path not in ("", "/"):
            why = f"it has a path ({parts.path})"
        elif parts.query or parts.fragment:
            why = "it has a query or fragment"
        elif parts.username is not None:
            why = "it carries a user name"
    if why is None:
        return []
    return [
        f"FRONTDESK_PUBLIC_BASE_URL={value!r} is not an absolute http(s) URL without path or "
        f"query ({why}): set it to the scheme and host Twilio calls, e.g. "
        "https://sms.example.com"
    ]


def _twilio_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    sid = settings.twilio_account_sid
    if _blank(sid):
        problems.append(
            "FRONTDESK_TWILIO_ACCOUNT_SID is missing: set it to your Twilio Account SID "
            "(AC followed by 32 hex digits)"
        )
    elif not _ACCOUNT_SID.fullmatch(str(sid)):
        problems.append(
            f"FRONTDESK_TWILIO_ACCOUNT_SID (starting {str(sid)[:2]!r}, {len(str(sid))} "
            "characters) is not a Twilio Account SID: it is AC followed by 32 hex digits, "
            "shown under Account Info in the Twilio Console"
        )
    if _blank(settings.twilio_auth_token):
        problems.append(
            "FRONTDESK_TWILIO_AUTH_TOKEN is missing: set it to the Auth Token shown with your "
            "Account SID in the Twilio Console"
        )
    why = _http_url_problem(settings.twilio_api_base)
    if why is not None:
        problems.append(
            f"FRONTDESK_TWILIO_API_BASE={settings.twilio_api_base!r} is not an http(s) URL "
            f"({why}): leave it unset for https://api.twilio.com or set the base URL of a "
            "Twilio-compatible API"
        )
    if settings.env == "production" and _blank(settings.public_base_url):
        problems.append(
            "FRONTDESK_PUBLIC_BASE_URL is missing: Twilio signs webhooks against the public "
            "URL; set FRONTDESK_PUBLIC_BASE_URL to the https URL Twilio calls (e.g. "
            "https://sms.example.com), where status callbacks are sent too"
        )
    return problems


def _smpp_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    if _blank(settings.smpp_host):
        problems.append(
            "FRONTDESK_SMPP_HOST is missing: set it to the SMSC host name or address your "
            "carrier gave you"
        )
    if _blank(settings.smpp_system_id):
        problems.append(
            "FRONTDESK_SMPP_SYSTEM_ID is missing: set it to the SMPP account (system_id) your "
            "carrier gave you"
        )
    if settings.smpp_password is None:
        problems.append(
            "FRONTDESK_SMPP_PASSWORD is missing: set it to the SMPP account's password (set "
            "it empty if your SMSC asks for none)"
        )
    if not 1 <= settings.smpp_port <= 65535:
        problems.append(
            f"FRONTDESK_SMPP_PORT={settings.smpp_port} is not a TCP port: use 1..65535 "
            "(2775 is SMPP's usual port)"
        )
    if settings.smpp_window < 1:
        problems.append(
            f"FRONTDESK_SMPP_WINDOW={settings.smpp_window} must be at least 1: it is how many "
            "submit_sm may await their answer at once"
        )
    if settings.smpp_enquire_link_seconds <= 0:
        problems.append(
            f"FRONTDESK_SMPP_ENQUIRE_LINK_SECONDS={settings.smpp_enquire_link_seconds} must be "
            "more than 0: it is how often the link is checked"
        )
    return problems


def load() -> Settings:
    """The settings from the environment; ConfigurationError naming every bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError([_problem(error) for error in exc.errors()]) from exc
    except SettingsError as exc:
        raise ConfigurationError([str(exc)]) from exc


def _problem(error: Mapping[str, object]) -> str:
    """One pydantic error as the variable to fix; the value is left out, it may be a secret."""
    loc = error.get("loc") or ()
    field = str(loc[0]) if isinstance(loc, tuple) and loc else ""
    return f"{ENV_PREFIX}{field.upper()}: {error.get('msg', 'invalid value')}"
