"""Latency of the inbound keyword classifier (receptionist.md §1.4 "Measured cost").

Median and p90 of one ``classify`` call over the held-out set and over a 10k-message mix
(keywords, natural opt-outs, hard negatives, long messages), timed with perf_counter_ns.
Run: ``.venv/bin/python bench/keywords.py``. Target: median ≤ 50 µs.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from frontdesk.domain.keywords import Classification, KeywordContext, classify  # noqa: E402


def load_texts(name: str) -> list[str]:
    lines = (ROOT / "data" / "replies" / name).read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0].replace("\\n", "\n") for line in lines if line.strip()]


def mix(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    corpus = load_texts("train.tsv") + load_texts("heldout.tsv")
    long_texts = [
        "Hi there, I wanted to let you know that I will be running about fifteen minutes late "
        "to my appointment this afternoon because of traffic on the highway, sorry about that!",
        "I have asked you several times now to stop sending me these messages and I am getting "
        "really tired of it, please remove my number from whatever list you have me on.",
    ]
    pool = corpus + long_texts * 20 + ["STOP", "Yes", "C", "ok", "Thanks!"] * 40
    return [rng.choice(pool) for _ in range(n)]


def timings(texts: list[str], ctx: KeywordContext) -> tuple[list[int], dict[str, int]]:
    for text in texts[:200]:
        classify(text, ctx)
    out: list[int] = []
    counts: dict[str, int] = {}
    for text in texts:
        start = time.perf_counter_ns()
        result = classify(text, ctx)
        out.append(time.perf_counter_ns() - start)
        counts[result.classification.value] = counts.get(result.classification.value, 0) + 1
    return out, counts


def main() -> None:
    ctx = KeywordContext(pending_appointment=True)
    rows = [("held-out set", load_texts("heldout.tsv")), ("10k mix", mix(10_000))]
    model_texts = [t for t in load_texts("heldout.tsv") if classify(t, ctx).model_score is not None]
    rows.append(("held-out, model ran", model_texts))
    print(f"{'set':<22} {'n':>6} {'median µs':>10} {'p90 µs':>8} {'max µs':>8}")
    for name, texts in rows:
        ns, counts = timings(texts, ctx)
        qs = statistics.quantiles(ns, n=10)
        print(f"{name:<22} {len(ns):>6} {statistics.median(ns) / 1000:>10.1f} "
              f"{qs[8] / 1000:>8.1f} {max(ns) / 1000:>8.1f}   "
              + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    assert Classification.OPT_OUT.value == "opt_out"


if __name__ == "__main__":
    main()
