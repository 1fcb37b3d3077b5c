"""The hand-off batch: bounded on SQLite when a real carrier is called inside the
transaction that holds the one write lock (an inbound STOP must not wait ~15 s)."""

from __future__ import annotations

from pathlib import Path

from frontdesk.bootstrap import (
    NETWORK_CARRIER_SQLITE_BATCH,
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


def test_a_real_carrier_on_sqlite_hands_off_small_batches(tmp_path: Path) -> None:
    assert _batch(tmp_path, _twilio()) == NETWORK_CARRIER_SQLITE_BATCH


def test_an_explicit_batch_setting_wins(tmp_path: Path) -> None:
    assert _batch(tmp_path, _twilio(), worker_batch=40) == 40
