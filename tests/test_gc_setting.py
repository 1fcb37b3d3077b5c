"""``bootstrap.tune_gc`` for the long-running processes (issue 4: the collector cost
about 10 % of the server's CPU). Run in a child interpreter: the collector's settings
are process-wide and the test process must keep its own."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from frontdesk.bootstrap import tune_gc
before = gc.get_threshold()
tune_gc({threshold})
cycle = []
cycle.append(cycle)
del cycle
print(json.dumps({{"before": before, "after": gc.get_threshold(),
                   "frozen": gc.get_freeze_count(), "collected": gc.collect()}}))
"""


def probe(threshold: int) -> dict[str, list[int] | int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(threshold=threshold)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, list[int] | int] = json.loads(out.stdout)
    return result


def test_the_young_generation_threshold_is_raised_and_start_up_objects_are_frozen() -> None:
    got = probe(50_000)
    assert got["after"] == [50_000, *got["before"][1:]]  # type: ignore[index]
    assert isinstance(got["frozen"], int) and got["frozen"] > 1_000
    assert got["collected"] == 1, "a cycle made afterwards is still collected"


def test_zero_keeps_pythons_default_threshold() -> None:
    got = probe(0)
    assert got["after"] == got["before"]
