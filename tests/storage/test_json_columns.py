"""JSON columns are written with orjson (issue 4) and read back exactly as the standard
library would have stored them, on the embedded default."""

from __future__ import annotations

import json

from sqlalchemy import text

from frontdesk.storage.db import json_text
from frontdesk.storage.models import MessageEvent
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import T0, Env


def test_values_round_trip_as_the_standard_library_reads_them() -> None:
    for value in [
        [],
        {},
        {"reasons": ["quiet_hours"], "stage": "accept"},
        {"n": 2**70},
        {1: "int key"},
        {"text": "Señor 😀 \u2028"},
        [1.5, None, True],
    ]:
        assert json.loads(json_text(value)) == json.loads(json.dumps(value)), value


def test_a_stored_event_detail_reads_back_unchanged(env: Env) -> None:
    t = env.tenant()
    mid = t.send("+13055550142").json()["id"]
    detail = {"stage": "test", "big": 2**70, "note": "Señor"}
    with UnitOfWork(env.container.db) as uow:
        uow.tenant(t.id).add_event(mid, "queued", T0, detail)
        uow.commit()
    with UnitOfWork(env.container.db) as uow:
        raw = (
            uow.session.execute(
                text("SELECT detail FROM message_events WHERE message_id = :m ORDER BY id DESC"),
                {"m": mid},
            )
            .scalars()
            .first()
        )
        back = (
            uow.session.query(MessageEvent)
            .filter_by(message_id=mid)
            .order_by(MessageEvent.id.desc())
            .first()
        )
        assert json.loads(raw) == detail
        assert back is not None and back.detail == detail
