"""The carrier settings are checked before anything starts (issue 12).

An adapter the composition root does not build does not exist for a user (design.md),
and one built from a typo fails only at the first send, after messages were accepted.
So every value the named provider needs is checked up front, each problem named with
its variable and what to set it to, all of them at once; ``frontdesk serve``, ``worker``
and ``migrate`` print them and exit 2 before serving or migrating anything.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from frontdesk.bootstrap import make_provider, webhook_verifiers
from frontdesk.clock import FixedClock
from frontdesk.config import ConfigurationError, Settings, check_settings, load, settings_problems
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.providers.smpp import SmppProvider
from frontdesk.providers.twilio import TwilioProvider
from tests.conftest import T0

SID = "AC" + "0123456789abcdef" * 2
TWILIO: dict[str, Any] = {
    "provider": "twilio",
    "twilio_account_sid": SID,
    "twilio_auth_token": "auth-token",
}
SMPP: dict[str, Any] = {
    "provider": "smpp",
    "smpp_host": "smsc.example.net",
    "smpp_system_id": "frontdesk",
    "smpp_password": "secret",
}


def settings(**values: Any) -> Settings:
    return Settings(**values)


def problems(**values: Any) -> list[str]:
    return settings_problems(settings(**values))


@pytest.fixture(autouse=True)
def _no_frontdesk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from each test's values alone, not from the environment it runs in."""
    for name in list(os.environ):
        if name.startswith("FRONTDESK_"):
            monkeypatch.delenv(name)


# ------------------------------------------------------------------------------- valid
@pytest.mark.parametrize(
    "values",
    [
        {},
        {"simulator_profile": "realistic"},
        TWILIO,
        {**TWILIO, "twilio_account_sid": "AC" + "0123456789ABCDEF" * 2},
        {**TWILIO, "public_base_url": "https://sms.example.com", "env": "production"},
        {**TWILIO, "public_base_url": "https://sms.example.com/"},
        {**TWILIO, "public_base_url": "http://127.0.0.1:8000"},
        {**TWILIO, "twilio_api_base": "http://127.0.0.1:9"},
        SMPP,
        {**SMPP, "smpp_password": "", "smpp_port": 65535, "smpp_window": 1},
    ],
    ids=repr,
)
def test_valid_settings_have_no_problem(values: dict[str, Any]) -> None:
    assert problems(**values) == []


# ------------------------------------------------------------------------------ Twilio
def test_a_missing_account_sid_says_what_to_set() -> None:
    assert problems(**{**TWILIO, "twilio_account_sid": None}) == [
        "FRONTDESK_TWILIO_ACCOUNT_SID is missing: set it to your Twilio Account SID "
        "(AC followed by 32 hex digits)"
    ]


@pytest.mark.parametrize(
    "sid",
    [
        "SK" + "0" * 32,  # an API key SID, not an account
        "AC" + "0" * 31,
        "AC" + "0" * 33,
        "AC" + "g" * 32,
        "ac" + "0" * 32,
        " " + SID,
    ],
)
def test_an_account_sid_not_shaped_like_one_is_named_without_echoing_it(sid: str) -> None:
    [problem] = problems(**{**TWILIO, "twilio_account_sid": sid})
    assert problem.startswith("FRONTDESK_TWILIO_ACCOUNT_SID ")
    assert "is not a Twilio Account SID: it is AC followed by 32 hex digits" in problem
    assert sid.strip() not in problem, "a pasted auth token must not reach the logs"


@pytest.mark.parametrize("token", [None, "", "   "])
def test_a_missing_auth_token(token: str | None) -> None:
    assert problems(**{**TWILIO, "twilio_auth_token": token}) == [
        "FRONTDESK_TWILIO_AUTH_TOKEN is missing: set it to the Auth Token shown with your "
        "Account SID in the Twilio Console"
    ]


@pytest.mark.parametrize(
    "api_base",
    ["api.twilio.com", "ftp://api.twilio.com", "https://", "http://127.0.0.1:99999", ""],
)
def test_an_api_base_that_is_not_an_http_url(api_base: str) -> None:
    [problem] = problems(**{**TWILIO, "twilio_api_base": api_base})
    assert problem.startswith(f"FRONTDESK_TWILIO_API_BASE={api_base!r} is not an http(s) URL")
    assert "leave it unset for https://api.twilio.com" in problem


def test_production_twilio_needs_the_public_base_url() -> None:
    [problem] = problems(**TWILIO, env="production")
    assert problem.startswith("FRONTDESK_PUBLIC_BASE_URL is missing: ")
    assert "Twilio signs webhooks against the public URL; set FRONTDESK_PUBLIC_BASE_URL" in problem


def test_development_twilio_without_public_base_url_starts_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="frontdesk.bootstrap"):
        provider = make_provider(settings(**TWILIO), FixedClock(T0))
    assert isinstance(provider, TwilioProvider)
    assert provider.status_callback is None
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "FRONTDESK_PUBLIC_BASE_URL is not set" in record.getMessage()
    provider.close()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("sms.example.com", "does not start with http:// or https://"),
        ("wss://sms.example.com", "does not start with http:// or https://"),
        ("https:///webhooks", "names no host"),
        ("https://sms.example.com/frontdesk", "has a path (/frontdesk)"),
        ("https://sms.example.com/webhooks/twilio/sms", "has a path"),
        ("https://sms.example.com?x=1", "has a query or fragment"),
        ("https://sms.example.com#top", "has a query or fragment"),
        ("https://user:pw@sms.example.com", "carries a user name"),
    ],
)
def test_a_public_base_url_must_be_scheme_and_host_only(url: str, why: str) -> None:
    for values in ({}, TWILIO):
        [problem] = problems(**values, public_base_url=url)
        assert problem.startswith(
            f"FRONTDESK_PUBLIC_BASE_URL={url!r} is not an absolute http(s) URL without path or "
            "query ("
        )
        assert why in problem


# -------------------------------------------------------------------------------- SMPP
@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("smpp_host", "FRONTDESK_SMPP_HOST"),
        ("smpp_system_id", "FRONTDESK_SMPP_SYSTEM_ID"),
        ("smpp_password", "FRONTDESK_SMPP_PASSWORD"),
    ],
)
def test_smpp_credentials_missing(missing: str, variable: str) -> None:
    [problem] = problems(**{**SMPP, missing: None})
    assert problem.startswith(f"{variable} is missing: set it to ")


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_smpp_port_outside_the_tcp_range(port: int) -> None:
    assert problems(**SMPP, smpp_port=port) == [
        f"FRONTDESK_SMPP_PORT={port} is not a TCP port: use 1..65535 (2775 is SMPP's usual port)"
    ]


@pytest.mark.parametrize("window", [0, -3])
def test_smpp_window_below_one(window: int) -> None:
    [problem] = problems(**SMPP, smpp_window=window)
    assert problem.startswith(f"FRONTDESK_SMPP_WINDOW={window} must be at least 1")


def test_smpp_enquire_link_interval_must_be_positive() -> None:
    [problem] = problems(**SMPP, smpp_enquire_link_seconds=0)
    assert problem.startswith("FRONTDESK_SMPP_ENQUIRE_LINK_SECONDS=0")


# ---------------------------------------------------------------------- the rest, together
def test_an_unknown_provider_names_the_allowed_ones() -> None:
    assert problems(provider="Twillio") == [
        "FRONTDESK_PROVIDER='Twillio' is not a provider: use one of simulator, twilio, smpp"
    ]


def test_an_unknown_simulator_profile() -> None:
    [problem] = problems(simulator_profile="noisy")
    assert problem.startswith("FRONTDESK_SIMULATOR_PROFILE='noisy' is not a profile")


def test_every_problem_is_reported_at_once() -> None:
    bad = settings(provider="twilio", env="production", twilio_api_base="ftp://x")
    with pytest.raises(ConfigurationError) as raised:
        check_settings(bad)
    named = [p.split(" ", 1)[0].split("=", 1)[0] for p in raised.value.problems]
    assert named == [
        "FRONTDESK_TWILIO_ACCOUNT_SID",
        "FRONTDESK_TWILIO_AUTH_TOKEN",
        "FRONTDESK_TWILIO_API_BASE",
        "FRONTDESK_PUBLIC_BASE_URL",
    ]
    smpp = settings(provider="smpp", smpp_port=0, smpp_window=0)
    assert len(settings_problems(smpp)) == 5


def test_bad_types_in_the_environment_name_their_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDESK_SMPP_PORT", "twenty")
    monkeypatch.setenv("FRONTDESK_ENV", "prod")
    with pytest.raises(ConfigurationError) as raised:
        load()
    assert [p.split(":", 1)[0] for p in raised.value.problems] == [
        "FRONTDESK_ENV",
        "FRONTDESK_SMPP_PORT",
    ]
    assert "twenty" not in str(raised.value)


def test_make_provider_refuses_bad_settings_with_every_problem() -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_provider(settings(provider="smpp"), FixedClock(T0))
    assert len(raised.value.problems) == 3


# ------------------------------------------------------------------------------ building
def test_twilio_is_built_with_the_public_url_api_base_and_shared_key() -> None:
    provider = make_provider(
        settings(
            **TWILIO,
            public_base_url="https://sms.example.com/",
            twilio_api_base="http://127.0.0.1:9/",
            twilio_webhook_shared_key="shared",
        ),
        FixedClock(T0),
    )
    assert isinstance(provider, TwilioProvider)
    assert provider.account_sid == SID
    assert provider.status_callback == "https://sms.example.com/webhooks/twilio/status"
    assert provider.messages_url == f"http://127.0.0.1:9/2010-04-01/Accounts/{SID}/Messages.json"
    assert webhook_verifiers(provider)("+14155550100") is provider
    provider.close()


def test_smpp_is_built_from_its_settings_without_connecting() -> None:
    provider = make_provider(
        settings(**SMPP, smpp_port=2776, smpp_window=4, smpp_enquire_link_seconds=12),
        FixedClock(T0),
    )
    assert isinstance(provider, SmppProvider)
    config = provider.config
    assert (config.host, config.port, config.system_id, config.password) == (
        "smsc.example.net",
        2776,
        "frontdesk",
        "secret",
    )
    assert (config.window, config.enquire_link_interval) == (4, 12)
    assert webhook_verifiers(provider)("+14155550100") is None
    provider.close()


def test_the_simulator_takes_no_twilio_webhooks() -> None:
    provider = make_provider(settings(), FixedClock(T0))
    assert isinstance(provider, CarrierSimulator)
    assert webhook_verifiers(provider)("+14155550100") is None


# ------------------------------------------------------------------------- the processes
def frontdesk_command() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("frontdesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "frontdesk.cli.main"]


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    clean["FRONTDESK_DATABASE_URL"] = f"sqlite:///{tmp_path / 'frontdesk.db'}"
    return subprocess.run(
        [*frontdesk_command(), *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize("command", ["migrate", "serve", "worker"])
def test_a_command_without_the_twilio_sid_exits_2_before_it_starts(
    tmp_path: Path, command: str
) -> None:
    done = run(tmp_path, command, FRONTDESK_PROVIDER="twilio", FRONTDESK_TWILIO_AUTH_TOKEN="t")
    assert done.returncode == 2, done.stderr
    assert "FRONTDESK_TWILIO_ACCOUNT_SID is missing" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "frontdesk.db").exists(), "nothing was migrated"


def test_migrate_reports_every_problem_on_stderr(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "migrate",
        FRONTDESK_PROVIDER="twilio",
        FRONTDESK_ENV="production",
        FRONTDESK_TWILIO_API_BASE="api.twilio.com",
    )
    assert done.returncode == 2
    for variable in (
        "FRONTDESK_TWILIO_ACCOUNT_SID",
        "FRONTDESK_TWILIO_AUTH_TOKEN",
        "FRONTDESK_TWILIO_API_BASE",
        "FRONTDESK_PUBLIC_BASE_URL",
    ):
        assert variable in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_migrate_with_valid_twilio_settings_succeeds(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "migrate",
        FRONTDESK_PROVIDER="twilio",
        FRONTDESK_TWILIO_ACCOUNT_SID=SID,
        FRONTDESK_TWILIO_AUTH_TOKEN="auth-token",
        FRONTDESK_TWILIO_API_BASE=f"http://127.0.0.1:{unused_port()}",
    )
    assert done.returncode == 0, done.stderr
    assert "Schema is up to date" in done.stdout
    assert (tmp_path / "frontdesk.db").exists()
