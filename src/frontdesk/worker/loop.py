"""The delivery worker: in the API process on the embedded default, alone for scale-out."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from frontdesk.clock import Clock
from frontdesk.providers.base import Provider
from frontdesk.services import delivery, inbound, status
from frontdesk.storage.db import Database
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.worker")


@dataclass
class Worker:
    db: Database
    provider: Provider
    clock: Clock
    batch: int = 100
    idle_seconds: float = 0.2
    inbound_handler: object | None = None
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    last_error: str | None = None
    paused: bool = False

    def wake(self) -> None:
        self._wake.set()

    def step(self) -> int:
        """One round: hand off due messages, apply status reports, expire reviews.

        Returns how many messages were claimed. Tests call this to step deterministically.
        """
        with UnitOfWork(self.db) as uow:
            result = delivery.deliver_batch(uow, self.provider, self.clock.now(), self.batch)
            uow.commit()
        self.apply_reports()
        self.expire_reviews()
        return result.claimed

    def deliver_one(self) -> bool:
        with UnitOfWork(self.db) as uow:
            claimed = delivery.deliver_one(uow, self.provider, self.clock.now())
            uow.commit()
        self.apply_reports()
        return claimed

    def apply_reports(self) -> int:
        updates = self.provider.drain_status_updates()
        if not updates:
            return 0
        with UnitOfWork(self.db) as uow:
            for update in updates:
                status.apply_status(uow, update, self.clock.now())
            uow.commit()
        return len(updates)

    def expire_reviews(self) -> int:
        now = self.clock.now()
        with UnitOfWork(self.db) as uow:
            expired = list(uow.expired_reviews(now))
            for review in expired:
                inbound.expire_review(uow.tenant(review.tenant_id), review, now)
            if expired:
                uow.commit()
        return len(expired)

    def drain(self, rounds: int = 1000) -> int:
        """Step until nothing is due (tests and the demo)."""
        total = 0
        for _ in range(rounds):
            claimed = self.step()
            total += claimed
            if claimed == 0:
                break
        return total

    def run_forever(self) -> None:
        while not self._stop.is_set():
            claimed = 0
            if not self.paused:
                try:
                    claimed = self.step()
                    self.last_error = None
                except Exception as exc:  # keep the loop alive; the row stays queued
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("worker step failed")
            if claimed == 0:
                self._wake.wait(self.idle_seconds)
                self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run_forever, name="frontdesk-worker", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
