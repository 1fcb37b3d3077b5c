"""Run the real ``frontdesk worker`` command with the clock fixed at ``FRONTDESK_TEST_NOW``.

The reliability tests start this as a subprocess so that kill -9 and SIGTERM hit a
real worker process, while the gate's quiet hours see the tests' fixed Tuesday
afternoon instead of the machine's wall clock.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

import frontdesk.bootstrap
from frontdesk.cli.main import app
from frontdesk.clock import FixedClock


def main() -> None:
    at = datetime.fromisoformat(os.environ["FRONTDESK_TEST_NOW"])
    frontdesk.bootstrap.SystemClock = lambda: FixedClock(at)  # type: ignore[assignment,misc]
    app(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
