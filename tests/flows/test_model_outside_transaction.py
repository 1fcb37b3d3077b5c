"""The tenant's model is asked with no transaction open (receptionist.md §2.2, R-FCC-02).

A model call lasts up to its timeout. Held inside the inbound write transaction it
would hold SQLite's one write lock — the lock a STOP, a receipt and every hand-off
wait for — so the model is consulted between a read and the write, and its answers
are replayed in the write. What changed in between (a STOP, a staff takeover) wins
over the model's answer. Each test probes the database file while the stand-in
model is answering: ``BEGIN IMMEDIATE`` on a second connection succeeds only if no
one holds the write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from frontdesk.providers.base import InboundSms
from frontdesk.services import conversations, inbound
from frontdesk.storage.uow import UnitOfWork
from tests.api.test_twilio_webhooks import SMS, inbound_form
from tests.api.twilio_env import TwilioEnv, twilio_env
from tests.conftest import BUSINESS_NUMBER, Env, Tenant
from tests.receptionist.fake_openai import Answer, FakeServer, fake_openai, nlu

PATIENT = "+13055550142"
UNCLEAR = "yo when r u guys around"


def write_lock_is_free(path: Path) -> bool:
    con = sqlite3.connect(path, timeout=0)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()


class Model:
    """A stand-in model that answers ``ask_hours`` and, while answering, probes the lock
    and runs whatever the test scripts to happen meanwhile."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.lock_free: list[bool] = []
        self.meanwhile: list[Any] = []

    def __call__(self, request: dict[str, Any]) -> Answer:
        self.lock_free.append(write_lock_is_free(self.db_path))
        while self.meanwhile:
            self.meanwhile.pop(0)()
        return Answer(content=nlu("ask_hours"))


def use_model(client: TestClient, auth: dict[str, str], server: FakeServer) -> None:
    r = client.patch(
        "/v1/tenant/settings",
        headers=auth,
        json={"llm": {"base_url": server.base_url, "model": "fake-model"}},
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def model(env: Env) -> Iterator[tuple[Model, FakeServer, Tenant]]:
    m = Model(env.db_path)
    t = env.tenant()
    with fake_openai(m) as server:
        use_model(env.client, t.auth, server)
        yield m, server, t


def inbound_now(env: Env, t: Tenant, body: str) -> dict[str, Any]:
    env.clock.advance(timedelta(minutes=1))
    r = t.inbound(PATIENT, body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def bodies_sent(env: Env) -> list[str]:
    env.step()
    return [m.body for m in env.simulator.sent_to(PATIENT)]


def test_the_api_asks_the_model_with_no_write_lock_held(
    env: Env, model: tuple[Model, FakeServer, Tenant]
) -> None:
    m, server, t = model
    got = inbound_now(env, t, UNCLEAR)
    assert m.lock_free == [True]
    assert got["intent"] == "ask_hours" and "replied" in got["actions"]
    assert len(server.requests) == 1
    [reply] = bodies_sent(env)
    assert "Bright Smile Dental" in reply


def test_R_FCC_02_a_STOP_committed_while_the_model_answers_wins(
    env: Env, model: tuple[Model, FakeServer, Tenant]
) -> None:
    m, _, t = model

    def stop_arrives() -> None:
        with UnitOfWork(env.container.db) as uow:
            scope = uow.tenant(t.id)
            sms = InboundSms("api", "stop-1", PATIENT, BUSINESS_NUMBER, "STOP")
            inbound.handle_inbound(scope, sms, env.clock.now())
            uow.commit()

    m.meanwhile.append(stop_arrives)
    got = inbound_now(env, t, UNCLEAR)

    assert m.lock_free == [True]
    assert "replied" not in got["actions"]
    [confirmation] = bodies_sent(env)
    assert "unsubscribed" in confirmation.lower()


def test_a_staff_takeover_while_the_model_answers_routes_the_text_to_staff(
    env: Env, model: tuple[Model, FakeServer, Tenant]
) -> None:
    m, _, t = model

    def staff_take_over() -> None:
        with UnitOfWork(env.container.db) as uow:
            conversations.takeover(uow.tenant(t.id), PATIENT, env.clock.now(), "staff:ana")
            uow.commit()

    m.meanwhile.append(staff_take_over)
    got = inbound_now(env, t, UNCLEAR)
    assert got["actions"] == ["routed_to_staff"]
    assert bodies_sent(env) == []


def test_a_keyword_never_waits_for_the_model(
    env: Env, model: tuple[Model, FakeServer, Tenant]
) -> None:
    _, server, t = model
    for word in ("STOP", "START", "HELP"):
        inbound_now(env, t, word)
    assert server.requests == []


def test_the_worker_asks_the_model_with_no_write_lock_held(
    env: Env, model: tuple[Model, FakeServer, Tenant]
) -> None:
    """A text the carrier pushes (simulator, SMPP) takes the same two steps."""
    m, server, _ = model
    env.simulator.reply(PATIENT, BUSINESS_NUMBER, UNCLEAR)
    env.step()
    assert m.lock_free == [True]
    assert len(server.requests) == 1
    [reply] = bodies_sent(env)
    assert "Bright Smile Dental" in reply


def test_the_twilio_webhook_asks_the_model_with_no_write_lock_held(tmp_path: Path) -> None:
    with twilio_env(tmp_path) as tw:
        _twilio_case(tw, tmp_path / "frontdesk.db")


def _twilio_case(tw: TwilioEnv, db_path: Path) -> None:
    m = Model(db_path)
    t = tw.tenant()
    with fake_openai(m) as server:
        use_model(tw.client, t.auth, server)
        assert tw.webhook(SMS, inbound_form(UNCLEAR)).status_code == 200
    assert m.lock_free == [True]
    assert len(server.requests) == 1
    tw.step()
    [reply] = tw.fake.sent()
    assert reply.get("To") == PATIENT
