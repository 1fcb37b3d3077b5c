"""Who runs the delivery worker: the build parameter, then the setting, then the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.bootstrap import build
from frontdesk.config import Settings


def _embedded(tmp_path: Path, setting: bool | None, explicit: bool | None) -> bool:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fd.db'}", embedded_worker=setting)
    container = build(settings, embedded_worker=explicit)
    try:
        return container.embedded_worker
    finally:
        container.close()


@pytest.mark.parametrize(
    ("setting", "explicit", "expected"),
    [
        (None, None, True),  # the auto rule: SQLite runs the worker in-process
        (False, None, False),
        (True, None, True),
        (False, True, True),  # the explicit parameter wins over the setting
        (True, False, False),
    ],
)
def test_precedence(tmp_path: Path, setting: bool | None, explicit: bool | None, expected: bool):
    assert _embedded(tmp_path, setting, explicit) is expected


def test_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_EMBEDDED_WORKER", "false")
    assert Settings().embedded_worker is False
    monkeypatch.delenv("FRONTDESK_EMBEDDED_WORKER")
    assert Settings().embedded_worker is None
