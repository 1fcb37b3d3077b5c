"""The delivery worker: in the API process on the embedded default, alone for scale-out.

Loops only (design.md, rooms): claim → ``services.delivery`` → commit, then status
reports and review expiry. The same class runs as a thread inside ``frontdesk
serve`` on SQLite and as the main loop of each ``frontdesk worker`` process on
PostgreSQL, where it is woken by ``LISTEN/NOTIFY`` (storage/notify.py) and polls
every ``idle_seconds`` as the fallback.

Stopping is graceful: :meth:`Worker.request_stop` only sets flags, so the batch
in hand is finished and committed before the loop returns. A worker that dies
instead (kill -9, power loss) holds its claims only inside its open transaction;
PostgreSQL rolls that back and the rows are ``queued`` again for any other worker
(guarantee 2).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from frontdesk.clock import Clock
from frontdesk.providers.base import Provider
from frontdesk.services import delivery, health, inbound, reconcile, status
from frontdesk.storage.db import Database
from frontdesk.storage.notify import DueListener, notify_due
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.worker")

MAX_ERROR_BACKOFF_SECONDS = 10.0


@dataclass
class Worker:
    db: Database
    provider: Provider
    clock: Clock
    batch: int = 100
    idle_seconds: float = 0.2
    linger_seconds: float = 0.02
    listen: bool = True
    health_every_seconds: float = 300.0
    reconcile_every_seconds: float = 60.0
    reconcile_policy: reconcile.ReconcilePolicy = reconcile.DEFAULT_POLICY
    _last_health: datetime | None = None
    _last_reconcile: datetime | None = None
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _listener: DueListener | None = None
    last_error: str | None = None
    paused: bool = False
    claimed_total: int = 0

    def wake(self) -> None:
        """Messages may be due: wake this process's loop and, on PostgreSQL, every worker."""
        self._wake.set()
        if self.db.dialect == "postgresql":
            notify_due(self.db)

    def step(self) -> int:
        """One round: hand off due messages, apply status reports, expire reviews.

        Returns how many messages were claimed. Tests call this to step deterministically.
        """
        with UnitOfWork(self.db) as uow:
            result = delivery.deliver_batch(uow, self.provider, self.clock.now(), self.batch)
            uow.commit()
        self.claimed_total += result.claimed
        self.apply_reports()
        self.expire_reviews()
        self.enforce_health()
        self.reconcile()
        return result.claimed

    def deliver_one(self) -> bool:
        with UnitOfWork(self.db) as uow:
            claimed = delivery.deliver_one(uow, self.provider, self.clock.now())
            uow.commit()
        self.apply_reports()
        return claimed

    def apply_reports(self) -> int:
        """Receipts in one transaction, then each out-of-band inbound text in its own.

        Providers that push (the simulator, SMPP) hand over receipts and inbound texts
        (STOP included) here; a failing inbound text is logged and the others proceed.
        """
        now = self.clock.now()
        updates = self.provider.drain_status_updates()
        if updates:
            with UnitOfWork(self.db) as uow:
                status.apply_statuses(uow, updates, now)
                uow.commit()
        texts = self.provider.drain_inbound()
        for sms in texts:
            try:
                with UnitOfWork(self.db, write=False) as peek:
                    question = status.consult_inbound(peek, sms, now)
                answers = question.ask() if question is not None else None
                with UnitOfWork(self.db) as uow:
                    status.apply_inbound(uow, sms, now, answers=answers)
                    uow.commit()
            except Exception:
                log.exception("inbound text from ...%s not applied", sms.sender[-4:])
        return len(updates) + len(texts)

    def enforce_health(self) -> list[str]:
        """R-E-04 / R-R-06: assess every active tenant; suspend those past the thresholds."""
        now = self.clock.now()
        if (
            self._last_health is not None
            and (now - self._last_health).total_seconds() < self.health_every_seconds
        ):
            return []
        self._last_health = now
        with UnitOfWork(self.db) as uow:
            suspended = health.enforce(uow, now)
            uow.commit()
        return suspended

    def reconcile(self) -> int:
        """Guarantee 2: settle messages left ``sending`` or ``sent`` (a receipt lost or
        missed) by asking the carrier, at most every ``reconcile_every_seconds``. The read and the
        settling are two transactions; the carrier is asked between them, holding none
        (services/reconcile.py). Returns how many messages were settled."""
        now = self.clock.now()
        if (
            self._last_reconcile is not None
            and (now - self._last_reconcile).total_seconds() < self.reconcile_every_seconds
        ):
            return 0
        self._last_reconcile = now
        with UnitOfWork(self.db, write=False) as peek:
            stuck = reconcile.stuck(peek, now, self.reconcile_policy)
        if not stuck:
            return 0
        answers = reconcile.look_up(self.provider, stuck)
        with UnitOfWork(self.db) as uow:
            result = reconcile.settle(uow, answers, now, self.reconcile_policy)
            uow.commit()
        return result.resolved + result.unresolved

    def expire_reviews(self) -> int:
        """Expire overdue reviews; the write transaction (on SQLite, the database write
        lock) is taken only when a read finds one, not on every step."""
        now = self.clock.now()
        with UnitOfWork(self.db, write=False) as peek:
            if not peek.expired_reviews(now):
                return 0
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

    def _start_listener(self) -> None:
        if self.listen and self.db.dialect == "postgresql" and self._listener is None:
            self._listener = DueListener(self.db.url, self._wake.set)
            self._listener.start()

    def _stop_listener(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def run_forever(self) -> None:
        """Loop until :meth:`request_stop`; a failing step is logged and retried with backoff."""
        self._start_listener()
        errors = 0
        try:
            while not self._stop.is_set():
                claimed = 0
                if not self.paused:
                    try:
                        claimed = self.step()
                        self.last_error = None
                        errors = 0
                    except Exception as exc:  # keep the loop alive; the row stays queued
                        self.last_error = f"{type(exc).__name__}: {exc}"
                        errors += 1
                        log.exception("worker step failed")
                if self._stop.is_set():
                    break
                if claimed == 0 or errors:
                    pause = self.idle_seconds
                    if errors:
                        pause = min(self.idle_seconds * 2**errors, MAX_ERROR_BACKOFF_SECONDS)
                    self._wake.wait(pause)
                    self._wake.clear()
                elif claimed < self.batch and self.linger_seconds > 0:
                    # A partial batch: let the next one fill a little instead of paying a
                    # step's fixed cost (claim, facts, receipts) for a handful of messages.
                    self._stop.wait(self.linger_seconds)
        finally:
            self._stop_listener()

    def request_stop(self) -> None:
        """Ask the loop to return after the batch in hand; safe in a signal handler.

        The handler may interrupt the loop inside ``self._wake.wait()`` while it holds
        the event's lock, so the event is set from a helper thread, never inline.
        """
        self._stop.set()
        threading.Thread(target=self._wake.set, name="frontdesk-stop", daemon=True).start()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.run_forever, name="frontdesk-worker", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
