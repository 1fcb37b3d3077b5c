"""Benchmark: median microseconds per ``frontdesk.domain.segments.count`` call.

Run: ``.venv/bin/python bench/segments.py``. Each body is counted ``--number`` times per
round; the per-call time of each round is recorded and the median over ``--rounds`` rounds
is printed, with the segment count as a sanity check.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from frontdesk.domain import segments
from frontdesk.domain.segments import count

FAMILY = "👨\u200d👩\u200d👧\u200d👦"
SHORT_GSM = "Hi Ana, your table for 2 is ready at 7pm. Reply STOP to opt out."
SHORT_UCS2 = "Hi Ana, your table’s ready 🎉 Reply STOP to opt out."
LONG_GSM = ("Order #1234 is ready for pickup {today}; total €12.50 [paid]. " * 25)[:1530]
LONG_UCS2 = ("Merci beaucoup ! Votre commande est prête 👍🏽 " + FAMILY + " ") * 12
LONG_SMART = ("It’s “ready” — see you soon… " * 50)[:1500]

CASES: list[tuple[str, str, bool]] = [
    ("short GSM-7", SHORT_GSM, False),
    ("short UCS-2", SHORT_UCS2, False),
    ("long GSM-7 (1,530 chars)", LONG_GSM, False),
    ("long UCS-2 emoji", LONG_UCS2, False),
    ("long smart-encoded", LONG_SMART, True),
]


def median_us(call: Callable[[], object], number: int, rounds: int) -> float:
    per_call = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            call()
        per_call.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(per_call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"{'body':<28}{'chars':>7}{'units':>7}{'enc':>7}{'segs':>6}{'median µs':>12}")
    for name, body, smart in CASES:
        result = count(body, smart_encoding=smart)
        # count() is memoised; time the computation itself, not a cache hit.
        raw = getattr(count, "__wrapped__", count)
        us = median_us(partial(raw, body, smart_encoding=smart), args.number, args.rounds)
        print(
            f"{name:<28}{result.characters:>7}{result.units:>7}{result.encoding:>7}"
            f"{result.segments:>6}{us:>12.1f}"
        )
    table_ms = median_us(segments._build_gcb_table, 1, args.rounds) / 1000
    print(f"grapheme table build at import: {table_ms:.2f} ms (median)")


if __name__ == "__main__":
    main()
