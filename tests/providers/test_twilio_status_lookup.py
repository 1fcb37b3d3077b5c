"""The Twilio adapter's status look-up against the local Twilio-speaking server.

``GET /2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json`` with Basic auth; a
settled status maps onto a receipt (R-E-01), a failure keeps Twilio's code so
R-E-02's table applies as for a webhook; anything unsettled or unanswerable is None.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from frontdesk.providers.base import StatusLookup, StatusUpdate
from frontdesk.providers.twilio import TwilioProvider
from frontdesk.services import reconcile
from frontdesk.storage.reconcile import Stuck
from tests.providers.fake_twilio_server import FakeTwilio
from tests.providers.test_twilio import provider_for, sms

UPDATED = "Tue, 10 Mar 2026 15:20:31 +0000"


@dataclass
class LookupTwilio(FakeTwilio):
    """The fake Twilio, also answering ``GET .../Messages/{sid}.json`` from ``resources``."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    gets: list[tuple[str, bool]] = field(default_factory=list)

    def start(self) -> LookupTwilio:
        super().start()
        assert self._server is not None
        fake = self
        base: Any = self._server.RequestHandlerClass

        class Handler(base):  # type: ignore[misc]
            def do_GET(self) -> None:
                token = f"{fake.account_sid}:{fake.auth_token}".encode()
                authorized = self.headers.get("Authorization") == (
                    "Basic " + base64.b64encode(token).decode()
                )
                fake.gets.append((self.path, authorized))
                prefix = f"/2010-04-01/Accounts/{fake.account_sid}/Messages/"
                sid = self.path.removeprefix(prefix).removesuffix(".json")
                if not authorized:
                    self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                elif not self.path.startswith(prefix) or sid not in fake.resources:
                    self._json(404, {"code": 20404, "message": "Not found", "status": 404})
                else:
                    self._json(200, {"sid": sid, **fake.resources[sid]})

        self._server.RequestHandlerClass = Handler
        return self

    def settle(self, sid: str, status: str, error_code: int | None = None) -> None:
        self.resources[sid] = {
            "account_sid": self.account_sid,
            "status": status,
            "error_code": error_code,
            "error_message": None,
            "date_updated": UPDATED,
        }


@pytest.fixture
def fake() -> Iterator[LookupTwilio]:
    server = LookupTwilio().start()
    yield server
    server.stop()


def _sent(fake: LookupTwilio, provider: TwilioProvider) -> str:
    result = provider.send(sms())
    assert result.accepted and result.provider_message_id
    return result.provider_message_id


def test_twilio_is_a_status_lookup() -> None:
    assert isinstance(TwilioProvider("AC1", "token"), StatusLookup)


def test_look_up_gets_the_message_resource_with_basic_auth(fake: LookupTwilio) -> None:
    provider = provider_for(fake)
    sid = _sent(fake, provider)
    fake.settle(sid, "delivered")
    update = provider.fetch_status(sid)
    assert update == StatusUpdate(
        "twilio",
        sid,
        "delivered",
        None,
        datetime(2026, 3, 10, 15, 20, 31, tzinfo=UTC),
        source="lookup",
    )
    assert fake.gets == [(f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json", True)]


@pytest.mark.parametrize(
    ("twilio_status", "error_code", "expected"),
    [
        ("accepted", None, None),
        ("queued", None, None),
        ("sending", None, None),
        ("scheduled", None, None),
        ("partially_delivered", None, None),
        ("sent", None, ("sent", None)),
        ("delivered", None, ("delivered", None)),
        ("delivered", 30008, ("delivered", None)),
        ("read", None, ("delivered", None)),
        ("undelivered", 30003, ("undelivered", "30003")),
        ("failed", 30007, ("failed", "30007")),
        ("failed", 21610, ("failed", "21610")),
        ("canceled", None, ("failed", None)),
    ],
)
def test_R_E_01_R_E_02_twilio_statuses_map_onto_receipts(
    fake: LookupTwilio,
    twilio_status: str,
    error_code: int | None,
    expected: tuple[str, str | None] | None,
) -> None:
    provider = provider_for(fake)
    sid = _sent(fake, provider)
    fake.settle(sid, twilio_status, error_code)
    update = provider.fetch_status(sid)
    assert (None if update is None else (update.status, update.error_code)) == expected


def test_an_unknown_sid_a_refused_credential_and_no_server_answer_none(
    fake: LookupTwilio,
) -> None:
    assert provider_for(fake).fetch_status("SM" + "f" * 32) is None
    sid = _sent(fake, provider_for(fake))
    fake.settle(sid, "delivered")
    wrong = TwilioProvider(fake.account_sid, "wrong-token", api_base=fake.url)
    assert wrong.fetch_status(sid) is None
    assert fake.gets[-1][1] is False
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = TwilioProvider(fake.account_sid, fake.auth_token, api_base=f"http://127.0.0.1:{port}")
    assert closed.fetch_status(sid) is None


def test_a_sid_that_is_not_a_path_segment_is_not_asked(fake: LookupTwilio) -> None:
    assert provider_for(fake).fetch_status("../Messages") is None
    assert fake.gets == []


def test_reconcile_asks_twilio_only_about_its_own_messages(fake: LookupTwilio) -> None:
    provider = provider_for(fake)
    sid = _sent(fake, provider)
    fake.settle(sid, "undelivered", 30005)
    at = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    ours = Stuck("msg_1", "ten_1", "twilio", sid, at)
    theirs = Stuck("msg_2", "ten_1", "simulator", "SMsim1", at)
    no_id = Stuck("msg_3", "ten_1", "twilio", None, at)
    answers = reconcile.look_up(provider, [ours, theirs, no_id])
    assert [(a.asked, a.update and (a.update.status, a.update.error_code)) for a in answers] == [
        (True, ("undelivered", "30005")),
        (False, None),
        (False, None),
    ]
    assert len(fake.gets) == 1
