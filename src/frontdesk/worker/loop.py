"""The delivery worker: in the API process on the embedded default, alone for scale-out.

Loops only (design.md, rooms): claim (``services.delivery.claim_batch``, one short
transaction) → the :class:`~frontdesk.worker.dispatch.Dispatcher` sends the hand-offs
outside any transaction, many at once → their outcomes are written back in batches
(``services.delivery.record_outcomes``); then status reports and review expiry. The
same class runs as a thread inside ``frontdesk serve`` on SQLite and as the main loop
of each ``frontdesk worker`` process on PostgreSQL, where it is woken by
``LISTEN/NOTIFY`` (storage/notify.py) and polls every ``idle_seconds`` as the
fallback. :meth:`Worker.run_forever` keeps claiming while the dispatcher has room, so
a slow carrier (150 ms a send) is answered with hundreds of sends in flight, not with
a transaction held open.

Stopping is graceful: :meth:`Worker.request_stop` only sets flags; the sends in
flight finish and their outcomes are written before the loop returns. A worker that
dies instead (kill -9, power loss) leaves claims whose outcome was never written:
after ``lease_seconds`` any worker settles them (``delivery.recover_claims``) — an
unreleased claim is simply queued again, a released one is an attempt of unknown
outcome and is retried (guarantee 2; duplicates bounded by what was in flight).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontdesk.clock import Clock
from frontdesk.providers.base import Provider, StatusUpdate
from frontdesk.services import delivery, health, inbound, reconcile, status
from frontdesk.storage import claims
from frontdesk.storage.db import Database
from frontdesk.storage.notify import DueListener, notify_due
from frontdesk.storage.uow import UnitOfWork
from frontdesk.worker.dispatch import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_PER_ACCOUNT,
    DEFAULT_SEND_TIMEOUT,
    Deferred,
    Dispatcher,
)

log = logging.getLogger("frontdesk.worker")

MAX_ERROR_BACKOFF_SECONDS = 10.0
ORPHAN_RECEIPT_SECONDS = 60.0  # a receipt may come before its send's outcome is written
HOUSEKEEPING_SECONDS = 0.5
OUTCOME_LINGER_SECONDS = 0.02
STEP_TIMEOUT_SECONDS = 120.0

Accounts = Callable[[], dict[str, str]]


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
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    per_account: int = DEFAULT_PER_ACCOUNT
    send_timeout: float = DEFAULT_SEND_TIMEOUT
    lease_seconds: float = 120.0
    accounts: Accounts | None = None
    _dispatcher: Dispatcher | None = None
    _prefix: str = field(default_factory=lambda: secrets.token_hex(6) + "-")
    _claims: int = 0
    _orphans: list[tuple[StatusUpdate, datetime]] = field(default_factory=list)
    _last_recover: datetime | None = None
    _last_housekeeping: float = 0.0
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

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(
                provider=self.provider,
                release=self._release,
                max_in_flight=self.max_in_flight,
                per_account=self.per_account,
                send_timeout=self.send_timeout,
                on_done=self._wake.set,
                now=lambda: self.clock.now().timestamp(),
            )
        return self._dispatcher

    def step(self) -> int:
        """One round: claim, send every hand-off and write the outcomes, then status
        reports, review expiry, health and reconciliation.

        Returns how many messages were claimed. Tests call this to step
        deterministically: the sends it starts are finished when it returns.
        """
        self.recover()
        claimed = self.claim(self.batch)
        self.dispatcher.wait_all(STEP_TIMEOUT_SECONDS)
        self.write_outcomes()
        self.apply_reports()
        self.expire_reviews()
        self.enforce_health()
        self.reconcile()
        return claimed

    def claim(self, limit: int) -> int:
        """Claim up to ``limit`` due messages (one transaction) and start their sends."""
        if limit <= 0:
            return 0
        self._claims += 1
        token = f"{self._prefix}{self._claims}"
        accounts = self.accounts() if self.accounts is not None else None
        name_for = getattr(self.provider, "name_for", None)
        with UnitOfWork(self.db) as uow:
            batch = delivery.claim_batch(
                uow,
                self.provider.name,
                self.clock.now(),
                limit,
                token,
                accounts=accounts,
                provider_for_account=name_for if accounts else None,
            )
            uow.commit()
        self.claimed_total += batch.result.claimed
        self.dispatcher.submit(batch.ready)
        return batch.result.claimed

    def _release(self, handoffs: Sequence[delivery.Handoff]) -> set[str]:
        """The dispatcher's compare-and-set just before the network write (its own thread)."""
        by_token: dict[str, list[str]] = {}
        for h in handoffs:
            by_token.setdefault(h.token, []).append(h.id)
        with UnitOfWork(self.db) as uow:
            now = self.clock.now()
            released: set[str] = set()
            for token, ids in by_token.items():
                released |= claims.release(uow.session, ids, token, now)
            uow.commit()
        return released

    def write_outcomes(self) -> int:
        """Write the outcomes the dispatcher has, and give back the deferred hand-offs."""
        if self._dispatcher is None:
            return 0
        outcomes, deferred = self._dispatcher.drain()
        if not outcomes and not deferred:
            return 0
        with UnitOfWork(self.db) as uow:
            now = self.clock.now()
            if outcomes:
                delivery.record_outcomes(uow, outcomes, now)
            self._give_back(uow, deferred)
            uow.commit()
        return len(outcomes) + len(deferred)

    def _give_back(self, uow: UnitOfWork, deferred: Sequence[Deferred]) -> None:
        by_token: dict[tuple[str, float], list[str]] = {}
        for d in deferred:
            by_token.setdefault((d.handoff.token, d.until), []).append(d.handoff.id)
        for (token, until), ids in by_token.items():
            now = self.clock.now()
            send_at = max(now, datetime.fromtimestamp(until, tz=now.tzinfo))
            claims.unclaim(uow.session, ids, token, send_at)

    def recover(self, *, force: bool = False) -> int:
        """Settle claims whose worker died between claim and outcome (guarantee 2), at
        most every ``lease_seconds / 2``; claims of this worker are never touched."""
        now = self.clock.now()
        every = timedelta(seconds=self.lease_seconds / 2)
        if not force and self._last_recover is not None and now - self._last_recover < every:
            return 0
        self._last_recover = now
        before = now - timedelta(seconds=self.lease_seconds)
        with UnitOfWork(self.db, write=False) as peek:
            stale = claims.stale_claims(peek.session, before, except_prefix=self._prefix)
        if not stale:
            return 0
        with UnitOfWork(self.db) as uow:
            settled = delivery.recover_claims(uow, stale, now)
            uow.commit()
        if settled:
            log.warning("settled %d claims left by a stopped worker", settled)
        return settled

    def apply_reports(self) -> int:
        """Receipts in one transaction, then each out-of-band inbound text in its own.

        Providers that push (the simulator, SMPP) hand over receipts and inbound texts
        (STOP included) here; a failing inbound text is logged and the others proceed.
        A receipt can arrive before its send's outcome (the provider id) is written
        (design.md: SMPP receipts before ``submit_sm_resp``): one that finds no message
        is tried again on the next rounds for ``ORPHAN_RECEIPT_SECONDS``.
        """
        now = self.clock.now()
        fresh = self.provider.drain_status_updates()
        updates = [u for u, _ in self._orphans] + fresh
        if updates:
            first_seen = [at for _, at in self._orphans] + [now] * len(fresh)
            with UnitOfWork(self.db) as uow:
                outcomes = status.apply_statuses(uow, updates, now)
                uow.commit()
            self._orphans = [
                (u, at)
                for u, at, outcome in zip(updates, first_seen, outcomes, strict=True)
                if outcome == "unknown"
                and (now - at).total_seconds() < ORPHAN_RECEIPT_SECONDS
                and u.source != "lookup"
            ]
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
        """Loop until :meth:`request_stop`; a failing round is logged and retried with backoff.

        Each round writes the outcomes ready, claims as many due messages as the
        dispatcher has room for, and does the housekeeping (receipts, reviews,
        health, reconciliation, stale claims) at most every ``HOUSEKEEPING_SECONDS``
        while sends are flowing. With nothing to claim it sleeps until woken: a new
        message (``wake``), a finished send, or ``idle_seconds``.
        """
        self._start_listener()
        errors = 0
        try:
            self.recover(force=True)
        except Exception:
            log.exception("recovering stale claims failed")
        try:
            while not self._stop.is_set():
                claimed = 0
                if not self.paused:
                    try:
                        claimed = self._round()
                        self.last_error = None
                        errors = 0
                    except Exception as exc:  # keep the loop alive; the rows stay claimable
                        self.last_error = f"{type(exc).__name__}: {exc}"
                        errors += 1
                        log.exception("worker round failed")
                if self._stop.is_set():
                    break
                busy = self._dispatcher is not None and self._dispatcher.pending > 0
                if errors:
                    pause = min(self.idle_seconds * 2**errors, MAX_ERROR_BACKOFF_SECONDS)
                    self._wake.wait(pause)
                    self._wake.clear()
                elif busy and claimed < self.batch:
                    # Sends in flight: gather their outcomes for a moment, so they are
                    # written (and new claims made) in batches, not one per finished send.
                    self._stop.wait(OUTCOME_LINGER_SECONDS)
                elif claimed == 0:
                    self._wake.wait(self.idle_seconds)
                    self._wake.clear()
                elif claimed < self.batch and self.linger_seconds > 0:
                    # A partial batch: let the next one fill a little instead of paying a
                    # claim's fixed cost (facts, caps) for a handful of messages.
                    self._stop.wait(self.linger_seconds)
        finally:
            self._finish_in_flight()
            self._stop_listener()

    def _round(self) -> int:
        """Write the outcomes ready, claim when the dispatcher has room for a worthwhile
        claim, and do the housekeeping on a timer while sends are flowing.

        A claim's fixed cost (facts, caps, a transaction on the one SQLite writer) is
        paid for a batch, not for every send that finishes: with sends in flight the
        worker claims only once a quarter of its window (or a whole batch) is free.
        """
        self._wake.clear()
        self.write_outcomes()
        dispatcher = self.dispatcher
        room = dispatcher.free()
        pending = dispatcher.pending
        claimed = 0
        if room > 0 and (pending == 0 or room >= min(self.batch, self.max_in_flight // 4)):
            claimed = self.claim(min(self.batch, room))
        now = time.monotonic()
        idle = claimed == 0 and dispatcher.pending == 0
        if idle or now - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
            self._last_housekeeping = now
            self.apply_reports()
            self.expire_reviews()
            self.enforce_health()
            self.reconcile()
            self.recover()
        return claimed

    def _finish_in_flight(self) -> None:
        if self._dispatcher is None:
            return
        try:
            self._dispatcher.wait_all(self.send_timeout + 5)
            self.write_outcomes()
        except Exception:
            log.exception("writing the last outcomes failed; they are settled as stale claims")

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
        if self._dispatcher is not None:
            self._dispatcher.close()
            self._dispatcher = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
