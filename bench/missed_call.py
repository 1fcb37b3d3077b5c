"""Missed-call text-back latency: from the callback to the hand-off to the carrier.

Method: a fresh embedded deployment (SQLite file in a temp dir, migrations run, the
worker thread running as in ``frontdesk serve``, the carrier simulator), driven
in-process through the ASGI app with Starlette's TestClient. For each missed call
from a new caller, the clock starts just before ``POST /v1/calls/missed`` and
stops when the simulator's ``send`` is entered for that caller, i.e. after the
API transaction committed, the worker woke, claimed the row, re-ran the gate and
handed it off. Two runs: sequential calls (one at a time, waiting for each
hand-off) and a burst (all calls posted back to back, hand-offs collected after).
Times use ``time.perf_counter``. Target (issue 6): p99 ≤ 1 s.

Run: ``.venv/bin/python bench/missed_call.py [calls]`` (default 200).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402

from frontdesk.api import routes_flows  # noqa: E402
from frontdesk.api.app import create_app  # noqa: E402
from frontdesk.bootstrap import build  # noqa: E402
from frontdesk.config import Settings  # noqa: E402
from frontdesk.providers.base import OutboundSms, SendResult  # noqa: E402
from frontdesk.providers.simulator import CarrierSimulator  # noqa: E402

ADMIN = "bench-admin"
BUSINESS = "+14155550100"


@dataclass
class TimedSimulator(CarrierSimulator):
    handed_off: dict[str, float] = field(default_factory=dict)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def send(self, message: OutboundSms) -> SendResult:
        at = time.perf_counter()
        with self.arrived:
            self.handed_off.setdefault(message.to, at)
            self.arrived.notify_all()
        return super().send(message)

    def wait_for(self, to: str, timeout: float = 10.0) -> float:
        with self.arrived:
            self.arrived.wait_for(lambda: to in self.handed_off, timeout)
        return self.handed_off[to]


def callers(n: int, start: int) -> list[str]:
    return [f"+1305{2000000 + start + i:07d}" for i in range(n)]


def summary(name: str, ms: list[float]) -> str:
    qs = statistics.quantiles(ms, n=100)
    return (
        f"{name:<12} n={len(ms):>4}  p50={statistics.median(ms):7.1f} ms  "
        f"p95={qs[94]:7.1f} ms  p99={qs[98]:7.1f} ms  max={max(ms):7.1f} ms"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            admin_token=ADMIN,
            worker_idle_seconds=0.2,
        )
        sim = TimedSimulator(seed=1)
        container = build(settings, provider=sim)
        app = create_app(container, start_worker=True)
        if not any(getattr(r, "path", "") == "/v1/calls/missed" for r in app.routes):
            app.include_router(routes_flows.router)
        with TestClient(app) as client:
            r = client.post(
                "/v1/tenants",
                headers={"Authorization": f"Bearer {ADMIN}"},
                json={
                    "name": "Bright Smile Dental",
                    "timezone": "America/New_York",
                    "support_phone": "+14155550199",
                },
            )
            auth = {"Authorization": f"Bearer {r.json()['api_key']}"}
            client.post(
                "/v1/numbers", headers=auth, json={"number": BUSINESS, "provider": "simulator"}
            )
            version = client.get("/v1/policy", headers=auth).json()["version"]
            client.post(
                "/v1/policy/accept", headers=auth, json={"version": version, "accepted_by": "Bench"}
            )

            def post(caller: str) -> Any:
                resp = client.post(
                    "/v1/calls/missed", headers=auth, json={"from": caller, "to": BUSINESS}
                )
                assert resp.status_code == 201 and resp.json()["outcome"] == "texted", resp.text
                return resp

            for caller in callers(10, 900000):  # warm-up
                post(caller)
                sim.wait_for(caller)

            sequential = []
            for caller in callers(n, 0):
                t0 = time.perf_counter()
                post(caller)
                sequential.append((sim.wait_for(caller) - t0) * 1000)

            burst_callers = callers(n, 100000)
            started = {}
            for caller in burst_callers:
                started[caller] = time.perf_counter()
                post(caller)
            burst = [(sim.wait_for(c) - started[c]) * 1000 for c in burst_callers]
        container.close()
    print(summary("sequential", sequential))
    print(summary("burst", burst))


if __name__ == "__main__":
    main()
