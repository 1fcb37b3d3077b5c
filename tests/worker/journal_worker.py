"""A delivery worker process for the reliability tests (run with ``python -m``).

Its carrier is the simulator, slowed by a few milliseconds per send, that appends
``<time_ns> <message id> <provider id>`` to a journal file and fsyncs it before
``send`` returns: the journal is what the carrier saw, even when the process is
killed a moment later.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from datetime import datetime

from frontdesk.bootstrap import build
from frontdesk.clock import FixedClock
from frontdesk.config import Settings
from frontdesk.providers.base import OutboundSms, SendResult
from frontdesk.providers.simulator import CarrierSimulator


@dataclass
class JournalingSimulator(CarrierSimulator):
    journal_fd: int = -1
    delay: float = 0.0

    def send(self, message: OutboundSms) -> SendResult:
        if self.delay:
            time.sleep(self.delay)
        result = super().send(message)
        if result.accepted:
            line = f"{time.time_ns()} {message.message_id} {result.provider_message_id}\n"
            os.write(self.journal_fd, line.encode())
            os.fsync(self.journal_fd)
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--at", required=True, help="the fixed clock, ISO 8601 with offset")
    parser.add_argument("--delay-ms", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pause-ms",
        type=float,
        default=0.0,
        help="pause between batches, so another process's write can take the SQLite lock",
    )
    args = parser.parse_args()
    fd = os.open(args.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    clock = FixedClock(datetime.fromisoformat(args.at))
    sim = JournalingSimulator(
        seed=args.seed, clock=clock, journal_fd=fd, delay=args.delay_ms / 1000
    )
    # The only worker: claims left by a killed one are settled at once (no lease to wait).
    settings = Settings(database_url=args.db, worker_batch=args.batch, claim_lease_seconds=0)
    container = build(settings, clock=clock, provider=sim, migrate=False, embedded_worker=False)
    print("started", flush=True)
    claimed = 0
    while True:
        step = container.worker.step()
        claimed += step
        if step == 0:
            break
        time.sleep(args.pause_ms / 1000)
    print(f"claimed {claimed}", flush=True)
    container.close()
    os.close(fd)


if __name__ == "__main__":
    main()
