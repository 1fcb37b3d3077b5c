"""Group commit for single sends: concurrent ``POST /v1/messages`` share one transaction.

Why (issue 4, ≥ 800 single-message requests per second on two cores): on the
embedded default every write transaction holds SQLite's one write lock, so
requests are written one after another anyway, and each paid the same fixed cost
— ``BEGIN IMMEDIATE``, the API key, the tenant's numbers, policy and campaign
facts, the audit chain head, the commit. Here one committer thread takes every
request that arrived while the previous group was being written and writes them
in one transaction, in arrival order, through the same
:func:`~frontdesk.services.messages.prepare_batch` / :func:`~frontdesk.services.messages.submit`
path as ``/v1/messages/batch``.

What does not change for a caller:

* each request gets its own decision, stored message and response, and that
  response is sent only after the transaction that stored the message committed;
* a request sees every earlier one (R-Q-04 caps, first-message rules), exactly
  as if they had been sent one by one;
* under light load a group is one request: nothing waits for a timer.

A request's own problem (an unknown API key, an idempotency key reused for a
different message) is answered for that request alone. If the shared transaction
fails for any other reason, every request of the group is retried in a
transaction of its own, so one bad request cannot fail the others. Two requests
with the same idempotency key never share a group: the later one waits for the
next, and finds the first one's message.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from frontdesk import errors
from frontdesk.api import views
from frontdesk.bootstrap import Container
from frontdesk.domain.reasons import Reason
from frontdesk.services import keys, messages
from frontdesk.storage.models import Tenant
from frontdesk.storage.uow import UnitOfWork

log = logging.getLogger("frontdesk.api.group_commit")

MAX_GROUP = 200  # bounds how long one group holds the write lock (a STOP must not wait long)

Outcome = tuple[int, dict[str, Any]] | errors.AppError | BaseException


@dataclass
class _Request:
    key_hash: str
    cmd: messages.SendCommand
    media: tuple[Reason, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[tuple[int, dict[str, Any]]]

    def resolve(self, outcome: Outcome) -> None:
        try:
            self.loop.call_soon_threadsafe(_settle, self.future, outcome)
        except RuntimeError:  # that event loop has closed: nobody is waiting any more
            log.warning("a send's caller went away before its answer")


def _settle(future: asyncio.Future[tuple[int, dict[str, Any]]], outcome: Outcome) -> None:
    if future.done():  # the client went away; its message is stored all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _unknown_key() -> errors.AppError:
    return errors.AppError(
        401, "Unauthorized", "The API key is not valid; check it or create a new one."
    )


class SendCommitter:
    """One thread that writes queued single sends in groups (see the module docstring)."""

    def __init__(self, container: Container, max_group: int = MAX_GROUP) -> None:
        self._c = container
        self._max_group = max_group
        self._queue: deque[_Request] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.taken = 0
        self.groups = 0
        self.requests = 0

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    async def send(
        self, token: str, cmd: messages.SendCommand, media: tuple[Reason, ...] = ()
    ) -> tuple[int, dict[str, Any]]:
        """Queue one send for the caller holding API key ``token``; (HTTP status, message).

        ``media`` are the R-S-02 problems already found in its media URLs."""
        loop = asyncio.get_running_loop()
        request = _Request(keys.digest(token), cmd, media, loop, loop.create_future())
        with self._cond:
            if self._stopping:
                raise errors.AppError(503, "Shutting down", "The service is stopping; retry.")
            self._queue.append(request)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="frontdesk-send-committer", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return await request.future

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread (a later send starts a new one)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            if self._thread is thread and (thread is None or not thread.is_alive()):
                self._thread = None
            self._stopping = False

    # ------------------------------------------------------------------ the thread
    def _next_group(self) -> list[_Request] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            group: list[_Request] = []
            seen: set[tuple[str, str]] = set()
            held: list[_Request] = []
            while self._queue and len(group) < self._max_group:
                request = self._queue.popleft()
                key = request.cmd.idempotency_key
                if key is not None:
                    if (request.key_hash, key) in seen:
                        held.append(request)
                        continue
                    seen.add((request.key_hash, key))
                group.append(request)
            self._queue.extendleft(reversed(held))
            self.taken += len(group)
            return group

    def _run(self) -> None:
        while True:
            group = self._next_group()
            if group is None:
                return
            try:
                outcomes = self._write(group)
            except Exception:
                log.exception("group of %d sends failed; retrying one by one", len(group))
                outcomes = [self._write_alone(request) for request in group]
            except BaseException as exc:  # never leave a caller waiting forever
                for request in group:
                    request.resolve(exc)
                raise
            self.groups += 1
            self.requests += len(group)
            self._c.worker.wake()
            for request, outcome in zip(group, outcomes, strict=True):
                request.resolve(outcome)

    def _write_alone(self, request: _Request) -> Outcome:
        try:
            return self._write([request])[0]
        except Exception as exc:
            log.exception("a single send failed")
            return exc

    def _write(self, group: list[_Request]) -> list[Outcome]:
        """Decide and store every request of ``group`` in one transaction, in order."""
        now = self._c.clock.now()
        outcomes: list[Outcome | None] = [None] * len(group)
        with UnitOfWork(self._c.db) as uow:
            tenants: dict[str, Tenant | None] = {}
            by_tenant: dict[str, list[int]] = {}
            for index, request in enumerate(group):
                if request.key_hash not in tenants:
                    tenants[request.key_hash] = uow.tenant_for_key_hash(request.key_hash)
                tenant = tenants[request.key_hash]
                if tenant is None:
                    outcomes[index] = _unknown_key()
                else:
                    by_tenant.setdefault(tenant.id, []).append(index)
            for tenant_id, indexes in by_tenant.items():
                scope = uow.tenant(tenant_id)
                batch = messages.prepare_batch(scope, [group[i].cmd for i in indexes], now)
                for i in indexes:
                    try:
                        accepted = messages.submit_row(
                            scope,
                            group[i].cmd,
                            now,
                            f"key:{tenant_id}",
                            media_reasons=group[i].media,
                            batch=batch,
                        )
                    except errors.AppError as exc:
                        outcomes[i] = exc
                        continue
                    outcomes[i] = (
                        201 if accepted.created else 200,
                        views.message_row(accepted.row),
                    )
            uow.commit()
        return [o if o is not None else RuntimeError("no outcome") for o in outcomes]
