"""The outbox's sending side: many hand-offs in flight, none inside a transaction.

The worker claims messages in a short transaction (``services.delivery.claim_batch``)
and gives the hand-offs to a :class:`Dispatcher`, which runs them on its own asyncio
loop in a daemon thread:

1. a hand-off waits for a slot of its carrier account (:class:`AccountLane`) and a
   slot of the process (``max_in_flight``);
2. it is *released* just before its network write: the hand-offs that reached this
   point together are released in one compare-and-set transaction
   (``storage.claims.release``, run by the ``release`` callable on a thread of its
   own). One a revocation fenced is not released and is reported as such — nothing
   is sent after the STOP that forbids it has committed;
3. it is sent (``providers.base.AsyncSend`` when the provider has it, else the
   provider's ``send`` on a thread pool), bounded by ``send_timeout``, and its
   outcome is queued for the worker to write back in a batch.

Back-pressure (issue 12): an answer that says the account is over its rate or its
carrier is overloaded (``domain.carrier_errors.slows_account``: Twilio 429 and 5xx,
SMPP throttled or queue full) pauses that account with exponential backoff and
halves its window; successes open it again one slot at a time. A hand-off that
meets the pause is given back (``deferred``) for the worker to unclaim with the
pause's end as its new ``send_at``: nothing is dropped, and other accounts go on.
Pauses are measured on the worker's clock, so tests step through them.

The dispatcher never touches the database itself; ``release`` is the composition's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from frontdesk.domain import carrier_errors
from frontdesk.providers.base import AsyncSend, Provider, SendResult
from frontdesk.services.delivery import Handoff, Outcome

log = logging.getLogger("frontdesk.dispatch")

Release = Callable[[Sequence[Handoff]], set[str]]

DEFAULT_MAX_IN_FLIGHT = 256
DEFAULT_PER_ACCOUNT = 256
DEFAULT_SEND_TIMEOUT = 30.0
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0


@dataclass(frozen=True, slots=True)
class Deferred:
    """A hand-off not sent because its account is paused until ``until`` (seconds on the
    dispatcher's ``now``: the worker's clock)."""

    handoff: Handoff
    until: float


@dataclass
class AccountLane:
    """One carrier account's window: additive increase, multiplicative decrease."""

    ceiling: int
    limit: float = 0.0
    in_flight: int = 0
    paused_until: float = 0.0
    backoff: float = 0.0
    throttled: int = 0
    _changed: asyncio.Condition | None = None

    def __post_init__(self) -> None:
        if self.limit <= 0:
            self.limit = float(self.ceiling)

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def observe(self, sent: SendResult, now: float) -> None:
        if not sent.accepted and carrier_errors.slows_account(sent.error_code):
            self.throttled += 1
            self.backoff = min(max(self.backoff * 2, BACKOFF_FIRST), BACKOFF_MAX)
            self.paused_until = max(self.paused_until, now + self.backoff)
            self.limit = max(1.0, self.limit / 2)
        elif sent.accepted:
            self.backoff = 0.0
            self.limit = min(float(self.ceiling), self.limit + 1)


@dataclass
class Dispatcher:
    provider: Provider
    release: Release
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    per_account: int = DEFAULT_PER_ACCOUNT
    send_timeout: float = DEFAULT_SEND_TIMEOUT
    on_done: Callable[[], None] | None = None
    now: Callable[[], float] = time.time
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _idle: threading.Condition = field(init=False)
    _outcomes: list[Outcome] = field(default_factory=list)
    _deferred: list[Deferred] = field(default_factory=list)
    _pending: int = 0
    _lanes: dict[str | None, AccountLane] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None
    _releasing: list[tuple[Handoff, asyncio.Future[bool]]] = field(default_factory=list)
    _release_task: asyncio.Task[None] | None = None
    _tasks: set[asyncio.Future[None]] = field(default_factory=set)
    _db: concurrent.futures.ThreadPoolExecutor | None = None
    _blocking: concurrent.futures.ThreadPoolExecutor | None = None
    stats: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._idle = threading.Condition(self._lock)
        if self.max_in_flight < 1 or self.per_account < 1:
            raise ValueError("the dispatcher needs at least one send in flight")

    # --- the worker's side (any thread) -------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            ready = threading.Event()

            def run() -> None:
                loop = _new_loop()
                asyncio.set_event_loop(loop)
                self._loop = loop
                self._slots = asyncio.Semaphore(self.max_in_flight)
                ready.set()
                loop.run_forever()
                loop.run_until_complete(self._shutdown())
                loop.close()

            self._db = concurrent.futures.ThreadPoolExecutor(1, "frontdesk-release")
            self._thread = threading.Thread(target=run, name="frontdesk-dispatch", daemon=True)
            self._thread.start()
        ready.wait()

    def submit(self, handoffs: Sequence[Handoff]) -> None:
        """Start sending these hand-offs; their outcomes come back through :meth:`drain`."""
        if not handoffs:
            return
        self.start()
        assert self._loop is not None
        with self._lock:
            self._pending += len(handoffs)
        items = list(handoffs)
        self._loop.call_soon_threadsafe(self._start_all, items)

    @property
    def pending(self) -> int:
        """Hand-offs submitted whose outcome has not been drained."""
        with self._lock:
            return self._pending

    def free(self) -> int:
        return max(self.max_in_flight - self.pending, 0)

    def drain(self) -> tuple[list[Outcome], list[Deferred]]:
        """The outcomes and deferrals ready so far (each returned once)."""
        with self._lock:
            outcomes, self._outcomes = self._outcomes, []
            deferred, self._deferred = self._deferred, []
            self._pending -= len(outcomes) + len(deferred)
            return outcomes, deferred

    def wait_all(self, timeout: float) -> bool:
        """Block until every submitted hand-off has an outcome (tests, ``Worker.step``)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while len(self._outcomes) + len(self._deferred) < self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._thread = None
        self._loop = None
        for pool in (self._db, self._blocking):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def lane(self, account: str | None) -> AccountLane:
        lane = self._lanes.get(account)
        if lane is None:
            lane = self._lanes[account] = AccountLane(self.per_account)
        return lane

    # --- the loop's side ----------------------------------------------------------------

    def _start_all(self, handoffs: list[Handoff]) -> None:
        chains: dict[tuple[str, str], list[Handoff]] = {}
        for handoff in handoffs:
            chains.setdefault((handoff.tenant_id, handoff.sms.to), []).append(handoff)
        for chain in chains.values():
            task = asyncio.ensure_future(self._run_chain(chain))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_chain(self, chain: list[Handoff]) -> None:
        """One recipient's hand-offs, in order, one at a time: each was re-checked with
        the same facts, so after an answer that changes them (the recipient opted out
        at the carrier, an invalid or landline number: ``recipient_changed``) the rest
        are given back unsent, to be re-checked — and blocked — at the next claim."""
        for i, handoff in enumerate(chain):
            sent = await self._run(handoff)
            if sent is not None and carrier_errors.recipient_changed(sent.error_code):
                for rest in chain[i + 1 :]:
                    self._count("given_back")
                    self._finish(deferred=Deferred(rest, self.now()))
                return

    def _finish(self, outcome: Outcome | None = None, deferred: Deferred | None = None) -> None:
        with self._lock:
            if outcome is not None:
                self._outcomes.append(outcome)
            if deferred is not None:
                self._deferred.append(deferred)
            self._idle.notify_all()
        if self.on_done is not None:
            self.on_done()

    async def _run(self, handoff: Handoff) -> SendResult | None:
        """Send one hand-off; its outcome is queued. The carrier's answer, or None when
        nothing was sent (fenced, deferred)."""
        name = self.provider.name
        try:
            lane = self.lane(handoff.sms.account)
            if not await self._enter(lane, handoff):
                return None
            try:
                assert self._slots is not None
                async with self._slots:
                    if not await self._released(handoff):
                        self._count("fenced")
                        self._finish(Outcome(handoff, None, name))
                        return None
                    sent = await self._send(handoff)
                lane.observe(sent, self.now())
            finally:
                lane.in_flight -= 1
                async with lane.changed:
                    lane.changed.notify_all()
            self._count("accepted" if sent.accepted else "refused")
            self._finish(Outcome(handoff, sent, name))
            return sent
        except Exception as exc:  # never lose a hand-off: a failure is an attempt that failed
            log.exception("dispatch of %s failed", handoff.id)
            failed = SendResult(False, error_code=None, error_message=type(exc).__name__)
            self._finish(Outcome(handoff, failed, name))
            return failed

    async def _enter(self, lane: AccountLane, handoff: Handoff) -> bool:
        """Take a slot of the account's window, or give the hand-off back while the account
        is paused (the worker queues it again for the pause's end).

        The loop is single-threaded, so the check and the wait below happen without
        another coroutine between them; the bounded wait is a safety net only."""
        while True:
            if lane.paused_until > self.now():
                self._count("deferred")
                self._finish(deferred=Deferred(handoff, lane.paused_until))
                return False
            if lane.in_flight < int(lane.limit):
                lane.in_flight += 1
                return True
            async with lane.changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.changed.wait(), 0.5)

    async def _released(self, handoff: Handoff) -> bool:
        """Release with the others that reach their network write in the same moment."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._releasing.append((handoff, future))
        if self._release_task is None or self._release_task.done():
            self._release_task = asyncio.ensure_future(self._release_batches())
        return await future

    async def _release_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while self._releasing:
            await asyncio.sleep(0)  # let the hand-offs of this moment join the batch
            batch, self._releasing = self._releasing, []
            try:
                released = await loop.run_in_executor(
                    self._db, self.release, [h for h, _ in batch]
                )
            except Exception:
                log.exception("release of %d hand-offs failed; they stay claimed", len(batch))
                released = set()
            for handoff, future in batch:
                if not future.done():
                    future.set_result(handoff.id in released)

    async def _send(self, handoff: Handoff) -> SendResult:
        try:
            if isinstance(self.provider, AsyncSend):
                return await asyncio.wait_for(
                    self.provider.send_async(handoff.sms), self.send_timeout
                )
            if self._blocking is None:
                self._blocking = concurrent.futures.ThreadPoolExecutor(32, "frontdesk-send")
            loop = asyncio.get_running_loop()
            return await asyncio.wait_for(
                loop.run_in_executor(self._blocking, self.provider.send, handoff.sms),
                self.send_timeout,
            )
        except TimeoutError:
            log.warning("send of %s timed out after %.0f s", handoff.id, self.send_timeout)
            return SendResult(False, error_code="network", error_message="TimeoutError")
        except Exception as exc:  # the carrier may or may not have it: a transient failure
            log.warning("send of %s raised %s", handoff.id, type(exc).__name__)
            return SendResult(False, error_code=None, error_message=type(exc).__name__)

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    async def _shutdown(self) -> None:
        aclose = getattr(self.provider, "aclose", None)
        if callable(aclose):
            try:
                await aclose()
            except Exception:
                log.warning("closing the provider's async client failed", exc_info=True)


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it comes with ``uvicorn[standard]``): the dispatcher's loop
    does little but move sockets, which uvloop does at a fraction of asyncio's CPU."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
