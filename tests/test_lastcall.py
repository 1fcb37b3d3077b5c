"""``lastcall.remember_last``: the last answer is reused only for the very same object."""

from __future__ import annotations

from datetime import UTC, datetime

from frontdesk.lastcall import remember_last


def test_the_same_object_reuses_the_answer_and_an_equal_one_is_worked_out_again() -> None:
    calls: list[datetime] = []

    @remember_last
    def render(moment: datetime) -> str:
        calls.append(moment)
        return moment.isoformat()

    first = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)
    twin = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)
    assert render(first) == render(first) == "2026-11-29T02:30:00+00:00"
    assert len(calls) == 1
    assert render(twin) == render(first)
    assert calls == [first, twin, first], "only the last argument is remembered"
    assert render.__name__ == "render"
