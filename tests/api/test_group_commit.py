"""Group commit of single sends (api/group_commit.py, issue 4): concurrent requests share a
transaction, yet each is decided, stored and answered as if it had been sent alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from frontdesk.api.group_commit import SendCommitter
from frontdesk.services import messages
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import Env, Tenant

BODY = (
    "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm. "
    "Reply STOP to opt out."
)


def committer(env: Env) -> SendCommitter:
    c: SendCommitter = env.client.app.state.send_committer  # type: ignore[attr-defined]
    return c


@contextmanager
def write_lock_held(env: Env, queued: int) -> Iterator[None]:
    """Hold SQLite's write lock so the committer's first group waits while ``queued`` more
    requests line up behind it; the next group then holds all of them."""
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with UnitOfWork(env.container.db) as uow:
            uow.tenant_count()  # BEGIN IMMEDIATE: the write lock is ours
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(10)


async def _post_all(env: Env, requests: list[tuple[dict[str, str], dict[str, Any]]]) -> list[Any]:
    transport = httpx.ASGITransport(app=env.client.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = asyncio.ensure_future(
            client.post("/v1/messages", headers=requests[0][0], json=requests[0][1])
        )
        while committer(env).taken == 0 and not first.done():
            await asyncio.sleep(0.001)
        rest = [
            asyncio.ensure_future(client.post("/v1/messages", headers=h, json=j))
            for h, j in requests[1:]
        ]
        return [await first, *(await asyncio.gather(*rest))]


def post_concurrently(env: Env, requests: list[tuple[dict[str, str], dict[str, Any]]]) -> list[Any]:
    """Send ``requests`` at once; the first takes the committer, the others queue behind it."""
    with write_lock_held(env, len(requests) - 1):
        done: list[Any] = []
        runner = threading.Thread(target=lambda: done.extend(asyncio.run(_post_all(env, requests))))
        runner.start()
        for _ in range(2000):
            if committer(env).queued >= len(requests) - 1:
                break
            threading.Event().wait(0.005)
    runner.join(30)
    return done


def send(t: Tenant, to: str, **extra: Any) -> tuple[dict[str, str], dict[str, Any]]:
    return t.auth, {"to": to, "body": BODY, "category": "appointment_reminder", **extra}


def test_R_Q_04_concurrent_single_sends_count_each_other_like_sequential_ones(env: Env) -> None:
    t = env.tenant()
    t.consent("+13055550111")
    responses = post_concurrently(env, [send(t, "+13055550111") for _ in range(5)])
    assert [r.status_code for r in responses] == [201] * 5
    reasons = [r.json()["reasons"] for r in responses]
    assert reasons[:3] == [[], [], []]
    assert reasons[3:] == [["frequency_cap"], ["frequency_cap"]]
    assert len({r.json()["id"] for r in responses}) == 5
    assert committer(env).groups == 2  # the first alone, the four queued behind it together


def test_each_request_of_a_group_gets_its_own_decision(env: Env) -> None:
    t = env.tenant()
    t.consent("+13055550112")
    responses = post_concurrently(
        env,
        [
            send(t, "+13055550112"),
            send(t, "+13055550199"),
            send(t, "+13055550112", category="marketing"),
        ],
    )
    assert [r.json()["status"] for r in responses] == ["queued", "blocked", "blocked"]
    assert "no_consent" in responses[1].json()["reasons"]


def test_same_idempotency_key_in_one_burst_stores_one_message(env: Env) -> None:
    t = env.tenant()
    t.consent("+13055550113")
    responses = post_concurrently(
        env, [send(t, "+13055550113", idempotency_key="k-1") for _ in range(3)]
    )
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r.status_code for r in responses) == [200, 200, 201]
    assert len(t.get("/v1/messages").json()["items"]) == 1


def test_an_unknown_key_is_refused_alone(env: Env) -> None:
    t = env.tenant()
    t.consent("+13055550114")
    bad = {"Authorization": "Bearer fd_live_not_a_key"}
    responses = post_concurrently(
        env, [send(t, "+13055550114"), (bad, send(t, "+13055550114")[1]), send(t, "+13055550114")]
    )
    assert [r.status_code for r in responses] == [201, 401, 201]
    assert responses[1].headers["content-type"].startswith("application/problem+json")


def test_a_failure_inside_the_group_fails_only_its_own_request(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = env.tenant()
    for n in ("+13055550115", "+13055550116", "+13055550117"):
        t.consent(n)
    real = messages.submit_row

    def failing(scope: Any, cmd: messages.SendCommand, *a: Any, **kw: Any) -> Any:
        if cmd.to == "+13055550116":
            raise RuntimeError("storage fault")
        return real(scope, cmd, *a, **kw)

    monkeypatch.setattr(messages, "submit_row", failing)
    responses = post_concurrently(
        env, [send(t, "+13055550115"), send(t, "+13055550116"), send(t, "+13055550117")]
    )
    assert [r.status_code for r in responses] == [201, 500, 201]
    stored = {m["to"] for m in t.get("/v1/messages").json()["items"]}
    assert stored == {"+13055550115", "+13055550117"}


def test_stop_writes_what_is_queued_and_a_later_send_starts_again(env: Env) -> None:
    t = env.tenant()
    t.consent("+13055550118")
    assert t.send("+13055550118").status_code == 201
    committer(env).stop()
    assert t.send("+13055550118").status_code == 201
    assert committer(env).requests == 2


def test_an_answer_for_a_caller_whose_event_loop_closed_is_dropped_not_raised() -> None:
    """The committer thread must survive a caller that went away (its loop closed)."""
    from frontdesk.api.group_commit import _Request
    from frontdesk.domain.messages import Category

    loop = asyncio.new_event_loop()
    future: asyncio.Future[Any] = loop.create_future()
    loop.close()
    cmd = messages.SendCommand(to="+13055550111", body=BODY, category=Category.APPOINTMENT_REMINDER)
    _Request("hash", cmd, (), loop, future).resolve((201, {}))  # no exception
