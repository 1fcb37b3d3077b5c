"""The claim batch: the outbox calls the carrier outside any transaction, so a real
carrier claims the default batch; the simulator on SQLite claims larger ones."""

from __future__ import annotations

from pathlib import Path

from frontdesk.bootstrap import (
    DEFAULT_WORKER_BATCH,
    SIMULATOR_SQLITE_BATCH,
    build,
)
from frontdesk.clock import SystemClock
from frontdesk.config import Settings
from frontdesk.providers.simulator import CarrierSimulator
from frontdesk.providers.twilio import TwilioProvider


def _batch(tmp_path: Path, provider: object, **settings: object) -> int:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'fd.db'}", **settings)  # type: ignore[arg-type]
    container = build(s, provider=provider)  # type: ignore[arg-type]
    try:
        return container.worker.batch
    finally:
        container.close()


def _twilio() -> TwilioProvider:
    return TwilioProvider(account_sid="AC" + "0" * 32, auth_token="secret")


def test_the_simulator_on_sqlite_hands_off_full_batches(tmp_path: Path) -> None:
    assert (
        _batch(tmp_path, CarrierSimulator(seed=1, clock=SystemClock())) == SIMULATOR_SQLITE_BATCH
    )


def test_a_real_carrier_on_sqlite_claims_the_default_batch(tmp_path: Path) -> None:
    assert _batch(tmp_path, _twilio()) == DEFAULT_WORKER_BATCH


def test_an_explicit_batch_setting_wins(tmp_path: Path) -> None:
    assert _batch(tmp_path, _twilio(), worker_batch=40) == 40
