"""``frontdesk serve`` under cProfile, every thread included (``bench/throughput.py --profile``).

``python -m cProfile`` sees only the main thread, which in the server is the event
loop: the route handlers run in the thread pool and the embedded worker in its own
thread. Here each new thread gets its own profiler (``threading.setprofile`` enables
it on the thread's first event), timed in that thread's CPU time
(``time.thread_time``: waiting for the GIL or for SQLite's lock costs nothing), and
all of them are merged into one file when the server stops on SIGINT (uvicorn's
graceful shutdown).

    python bench/_serve.py OUT.prof --host 127.0.0.1 --port 8123   (settings from FRONTDESK_*)
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from types import FrameType
from typing import Any

profiles: list[cProfile.Profile] = []


def _start_profiler(_frame: FrameType, _event: str, _arg: Any) -> None:
    prof = cProfile.Profile(time.thread_time)
    profiles.append(prof)
    prof.enable()


def main() -> None:
    out, rest = sys.argv[1], sys.argv[2:]
    from frontdesk.cli.main import app

    threading.setprofile(_start_profiler)
    main_prof = cProfile.Profile(time.thread_time)
    main_prof.enable()
    try:
        app(["serve", "--no-seed", *rest])
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        main_prof.disable()
        stats = pstats.Stats(main_prof)
        for prof in list(profiles):
            stats.add(prof)
        stats.dump_stats(out)


if __name__ == "__main__":
    main()
