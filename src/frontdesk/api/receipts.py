"""Group commit for status callbacks: concurrent receipts share one transaction.

Why (issue 12): a carrier posts two or three status callbacks per message (``sent``,
``delivered``), so at 500 messages a second the webhook alone would be 1,000-1,500
write transactions a second, each taking SQLite's one write lock, and an inbound STOP
would queue behind them. Here one committer thread takes every receipt that arrived
while the previous group was being written and applies them in one transaction,
in arrival order, through ``services.status.apply_statuses`` — the same path as a
provider's pushed receipts, with its deduplication and its never-backwards state
machine.

For a caller nothing changes: its answer comes only after the transaction that
applied its receipt committed, and each receipt gets its own outcome. Under light
load a group is one receipt. If the shared transaction fails, each receipt of the
group is applied in a transaction of its own, so one bad receipt cannot fail the
others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass

from frontdesk.bootstrap import Container
from frontdesk.providers.base import StatusUpdate
from frontdesk.services import status
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.api.receipts")

MAX_GROUP = 500  # bounds how long one group holds the write lock


@dataclass
class _Receipt:
    update: StatusUpdate
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[str]

    def resolve(self, outcome: str | BaseException) -> None:
        # RuntimeError: that event loop has closed, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_settle, self.future, outcome)


def _settle(future: asyncio.Future[str], outcome: str | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class ReceiptCommitter:
    def __init__(self, container: Container, max_group: int = MAX_GROUP) -> None:
        self.container = container
        self.max_group = max_group
        self._queue: deque[_Receipt] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="frontdesk-receipts", daemon=True)
        self._thread.start()

    async def apply(self, update: StatusUpdate) -> str:
        """Apply one receipt; its outcome (``applied``, ``duplicate``, ``unknown``, …)."""
        loop = asyncio.get_running_loop()
        receipt = _Receipt(update, loop, loop.create_future())
        with self._ready:
            self._queue.append(receipt)
            self._ready.notify()
        return await receipt.future

    def stop(self, timeout: float = 10.0) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join(timeout)

    def _next_group(self) -> list[_Receipt] | None:
        with self._ready:
            while not self._queue and not self._stopping:
                self._ready.wait()
            if not self._queue:
                return None
            group: list[_Receipt] = []
            while self._queue and len(group) < self.max_group:
                group.append(self._queue.popleft())
            return group

    def _run(self) -> None:
        while (group := self._next_group()) is not None:
            try:
                outcomes: list[str | BaseException] = list(self._write(group))
            except Exception:
                log.exception("a group of %d receipts failed; applying them one by one", len(group))
                outcomes = [self._write_alone(r) for r in group]
            for receipt, outcome in zip(group, outcomes, strict=True):
                receipt.resolve(outcome)

    def _write(self, group: list[_Receipt]) -> list[str]:
        c = self.container
        with UnitOfWork(c.db) as uow:
            outcomes = status.apply_statuses(uow, [r.update for r in group], c.clock.now())
            uow.commit()
        return outcomes

    def _write_alone(self, receipt: _Receipt) -> str | BaseException:
        try:
            return self._write([receipt])[0]
        except Exception as exc:
            return exc
