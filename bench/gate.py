"""Gate decisions per second with facts in memory (issue 3 target: >= 100,000/s on one core).

Method: build N distinct recipients (mixed area codes, some with a state), a few
consent states and a handful of message bodies (as a real batch has: one template
per category, personalised names), then time ``gate.evaluate`` over the mix in one
process on one core. Reported: decisions per second (best and median of R rounds)
and the share of allowed / deferred / blocked decisions, so a change that makes the
gate "fast" by skipping rules shows up.

Three workloads: a bulk batch decided within two minutes (templated bodies: the
content screen is reused, as in a real batch), hand-offs spread over a day, and
every body unique (a personalised body per recipient defeats the screen's cache).

Run: .venv/bin/python bench/gate.py [--decisions 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from frontdesk.domain import gate
from frontdesk.domain.consent import (
    ConsentEvent,
    ConsentState,
    EventKind,
    Method,
    Scope,
    fold,
)
from frontdesk.domain.messages import Category

AREA = ["415", "305", "212", "208", "405", "512", "801", "602", "850", "617", "702", "907"]
STATES = [None, None, None, "FL", "TX", "CA", "NY", "OK", "MD", "RI"]
BODIES = [
    (
        Category.APPOINTMENT_REMINDER,
        "Bright Smile Dental: hi {n}, your cleaning is Tue at 3:00 pm. Reply C to confirm. "
        "Reply STOP to opt out.",
    ),
    (
        Category.APPOINTMENT_CONFIRMATION,
        "Bright Smile Dental: {n}, you're booked for Thu at 9:30 am. Reply STOP to opt out.",
    ),
    (
        Category.SERVICE_NOTIFICATION,
        "Bright Smile Dental: {n}, our office is closed Monday for the holiday. Reply STOP to "
        "opt out.",
    ),
    (
        Category.MARKETING,
        "Bright Smile Dental: {n}, whitening is 20% off this month! Reply STOP to opt out.",
    ),
]
NAMES = ["Maria", "Sam", "Priya", "Chen", "Ana", "Tom", "Lee", "Jo"]


def _consents(now: datetime) -> list[ConsentState]:
    info = ConsentEvent(
        EventKind.GRANTED, Scope.INFORMATIONAL, Method.WEB_FORM, now - timedelta(days=30)
    )
    mkt = ConsentEvent(
        EventKind.GRANTED, Scope.MARKETING, Method.WEB_FORM, now - timedelta(days=30), written=True
    )
    return [fold([info]), fold([info, mkt]), fold([]), fold([info])]


def workload(
    n: int, seed: int = 1, spread: timedelta = timedelta(days=1), unique_bodies: bool = False
) -> list[tuple[gate.MessageRequest, gate.Facts, datetime]]:
    rng = random.Random(seed)
    base = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    tenant = gate.TenantFacts(
        name="Bright Smile Dental",
        timezone="America/Los_Angeles",
        numbers=frozenset({"+14155550100"}),
    )
    consents = _consents(base)
    items = []
    for i in range(n):
        to = f"+1{rng.choice(AREA)}555{rng.randrange(100, 200):04d}"
        category, template = rng.choice(BODIES)
        contact = gate.ContactFacts(
            opted_out=rng.random() < 0.05,
            consent=rng.choice(consents),
            state=rng.choice(STATES),
            first_message=rng.random() < 0.2,
        )
        now = base + spread * rng.random()
        name = f"{rng.choice(NAMES)} #{i}" if unique_bodies else rng.choice(NAMES)
        req = gate.MessageRequest(to=to, body=template.format(n=name), category=category)
        items.append((req, gate.Facts(tenant=tenant, contact=contact), now))
    return items


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--decisions", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"gate.evaluate, {args.decisions:,} decisions x {args.rounds} rounds, one core")
    for label, spread in (
        ("bulk batch (decided within 2 minutes)", timedelta(minutes=2)),
        ("hand-offs spread over 24 hours", timedelta(days=1)),
    ):
        run(label, workload(args.decisions, spread=spread), args.rounds)
    run(
        "every body unique (no content-screen reuse)",
        workload(args.decisions // 4, spread=timedelta(minutes=2), unique_bodies=True),
        args.rounds,
    )


def run(
    label: str, items: list[tuple[gate.MessageRequest, gate.Facts, datetime]], rounds: int
) -> None:
    outcomes: Counter[str] = Counter()
    for req, facts, now in items[:5000]:  # warm caches the way a running service has them
        gate.evaluate(req, facts, now)
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for req, facts, now in items:
            gate.evaluate(req, facts, now)
        rates.append(len(items) / (time.perf_counter() - t0))
    for req, facts, now in items:
        outcomes[gate.evaluate(req, facts, now).status.value] += 1
    total = sum(outcomes.values())
    print(
        f"  {label}: median {statistics.median(rates):,.0f}/s, best {max(rates):,.0f}/s; "
        + ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(outcomes.items()))
    )


if __name__ == "__main__":
    main()
