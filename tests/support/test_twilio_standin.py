"""The test infrastructure's own tests: the Twilio stand-in and the service harness.

The stand-in is what later suites and benchmarks trust to behave like Twilio, so
its answers are checked against Twilio's documented shapes and against the
service's real consumer (``frontdesk.providers.twilio.TwilioProvider``), and its
callbacks against the official ``RequestValidator``.

Capacity (the stand-in in its own process, a raw asyncio keep-alive client in
this one; 2-core machine)::

    .venv/bin/python -m tests.support.test_twilio_standin \\
        --requests 5000 --concurrency 200 --latency 0.15

By Little's law N connections each waiting ``latency`` per answer can never
exceed N / latency requests/s (200 / 0.15 = 1,333/s), so that run shows how close
the stand-in gets to the ceiling; ``--concurrency 500`` and ``1000`` show the
headroom beyond 2,000/s. Results are in the report of the change that added it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import psycopg
import pytest
from twilio.request_validator import RequestValidator

from tests.support.service import (
    ServiceProcess,
    drop_postgres_database,
    fresh_postgres_database,
    postgres_server,
    run_cli,
)
from tests.support.twilio_standin import (
    CallbackSender,
    StandinControl,
    StandinProcess,
    TwilioStandin,
    encode_form,
    error,
    hang,
    parse_form,
    segments,
    server_error,
    throttle,
    undelivered,
)

SID = "AC" + "1" * 32
TOKEN = "token-one"
OTHER_SID = "AC" + "2" * 32
OTHER_TOKEN = "token-two"
PATIENT = "+14155550101"
BUSINESS = "+14155550100"


# helpers ------------------------------------------------------------------------------
class Receiver:
    """A tiny webhook endpoint on 127.0.0.1 that records what the stand-in posts."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.posts: list[tuple[str, dict[str, str], list[tuple[str, str]]]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
                with receiver._lock:
                    receiver.posts.append((self.path, dict(self.headers.items()), form))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def shared_carrier() -> Iterator[TwilioStandin]:
    """One stand-in for the module: a stop costs uvicorn's ~0.2 s shutdown ticks."""
    with TwilioStandin(SID, TOKEN, accounts={OTHER_SID: OTHER_TOKEN}) as standin:
        yield standin


@pytest.fixture
def carrier(shared_carrier: TwilioStandin) -> TwilioStandin:
    shared_carrier.reset()
    shared_carrier.configure(latency=0.0, callbacks=False, sent_delay=0.05, delivered_delay=0.1)
    return shared_carrier


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _http(carrier: StandinControl, sid: str = SID, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(
        base_url=carrier.url, auth=(sid, token), timeout=5.0, trust_env=False, verify=False
    )


def _create(client: httpx.Client, sid: str = SID, **form: str) -> httpx.Response:
    data = {"To": PATIENT, "From": BUSINESS, "Body": "Your cleaning is Tue at 3pm.", **form}
    return client.post(f"/2010-04-01/Accounts/{sid}/Messages.json", data=data)


# the API ------------------------------------------------------------------------------
def test_a_wrong_token_or_account_is_refused_with_20003(carrier: TwilioStandin) -> None:
    for sid, token, path_sid in [
        (SID, "wrong", SID),
        ("AC" + "9" * 32, TOKEN, "AC" + "9" * 32),
        (OTHER_SID, OTHER_TOKEN, SID),  # valid credentials, someone else's account
    ]:
        with _http(carrier, sid, token) as client:
            r = _create(client, path_sid)
        assert r.status_code == 401
        assert r.json() == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        }
    with httpx.Client(base_url=carrier.url, trust_env=False) as anonymous:
        assert _create(anonymous).status_code == 401
    assert carrier.stats()["received"] == 0
    assert carrier.stats()["refused"] == 4


def test_a_create_answers_201_with_a_message_resource_after_the_latency(
    carrier: TwilioStandin,
) -> None:
    carrier.configure(latency=0.2)
    with _http(carrier) as client:
        started = time.monotonic()
        r = _create(client, StatusCallback="http://127.0.0.1:9/status")
        elapsed = time.monotonic() - started
    assert r.status_code == 201, r.text
    assert 0.2 <= elapsed < 1.0
    m = r.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", m["sid"])
    assert (m["status"], m["to"], m["from"], m["account_sid"]) == ("queued", PATIENT, BUSINESS, SID)
    assert m["body"] == "Your cleaning is Tue at 3pm."
    assert m["num_segments"] == "1" and m["direction"] == "outbound-api"
    assert m["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{m['sid']}.json"
    created = parsedate_to_datetime(m["date_created"])
    assert created.tzinfo is not None and abs(created.timestamp() - time.time()) < 5
    (recorded,) = carrier.messages(PATIENT)
    assert (
        recorded["sid"] == m["sid"] and recorded["status_callback"] == "http://127.0.0.1:9/status"
    )
    assert recorded["account"] == SID and recorded["from"] == BUSINESS


def test_twilio_validation_errors_and_unknown_messages(carrier: TwilioStandin) -> None:
    with _http(carrier) as client:
        assert _create(client, To="").json()["code"] == 21604
        assert _create(client, Body="").json()["code"] == 21602
        assert _create(client, Body="", MediaUrl="https://example.com/a.png").status_code == 201
        assert _create(client, From="", MessagingServiceSid="MG" + "0" * 32).status_code == 201
        r = client.get(f"/2010-04-01/Accounts/{SID}/Messages/SM{'0' * 32}.json")
    assert r.status_code == 404 and r.json()["code"] == 20404 and r.json()["status"] == 404


def test_scripted_refusal_21610_and_throttle_then_accept(carrier: TwilioStandin) -> None:
    carrier.set_behaviour(PATIENT, error(21610))
    carrier.set_behaviour("+14155550102", throttle(times=2))
    with _http(carrier) as client:
        refused = _create(client)
        throttled = [_create(client, To="+14155550102") for _ in range(3)]
        other = _create(client, To="+14155550103")
    assert refused.status_code == 400
    assert refused.json() == {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }
    assert [r.status_code for r in throttled] == [429, 429, 201]
    assert throttled[0].json()["code"] == 20429
    assert other.status_code == 201
    stats = carrier.stats()
    assert (stats["received"], stats["refused"]) == (2, 3)
    assert PATIENT in carrier.behaviours() and "+14155550102" not in carrier.behaviours()


def test_the_service_provider_reads_the_answers(carrier: TwilioStandin) -> None:
    """The stand-in's shapes are the ones ``TwilioProvider`` parses (sid, codes, dates)."""
    from frontdesk.providers.base import OutboundSms
    from frontdesk.providers.twilio import TwilioProvider

    carrier.set_behaviour("+14155550109", error(21610))
    carrier.set_behaviour("+14155550108", server_error(503))
    carrier.configure(sent_delay=0.0, delivered_delay=0.0)
    provider = TwilioProvider(SID, TOKEN, api_base=carrier.url)
    try:
        ok = provider.send(OutboundSms("m1", PATIENT, BUSINESS, "hello"))
        refused = provider.send(OutboundSms("m2", "+14155550109", BUSINESS, "hello"))
        bare = provider.send(OutboundSms("m3", "+14155550108", BUSINESS, "hello"))
        assert ok.accepted and ok.provider_message_id is not None
        assert (refused.accepted, refused.error_code) == (False, "21610")
        assert (bare.accepted, bare.error_code) == (False, "20503")
        looked_up = provider.fetch_status(ok.provider_message_id)
        assert looked_up is not None and looked_up.status == "delivered"
        assert looked_up.at is not None
    finally:
        provider.close()


def test_server_error_is_bare_and_hang_waits_for_the_client(carrier: TwilioStandin) -> None:
    carrier.set_behaviour(PATIENT, server_error(500, times=1))
    carrier.set_behaviour("+14155550104", hang())
    with _http(carrier) as client:
        r = _create(client)
        assert r.status_code == 500 and "json" not in r.headers["content-type"]
        assert _create(client).status_code == 201  # times=1 used up
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                f"/2010-04-01/Accounts/{SID}/Messages.json",
                data={"To": "+14155550104", "From": BUSINESS, "Body": "x"},
                timeout=httpx.Timeout(5.0, read=0.3),
            )
        assert time.monotonic() - started < 2.0
    stats = carrier.wait_for(lambda s: s["in_flight"] == 0, timeout=2.0)
    assert stats["hung"] == 1


def test_a_hanging_create_does_not_hold_up_stop() -> None:
    standin = TwilioStandin(SID, TOKEN, behaviours={PATIENT: hang()}).start()
    outcome: list[int | str] = []

    def call() -> None:
        with _http(standin) as client:
            try:
                outcome.append(_create(client).status_code)
            except httpx.HTTPError as exc:
                outcome.append(type(exc).__name__)

    caller = threading.Thread(target=call)
    caller.start()
    standin.wait_for(lambda s: s["hung"] == 1, timeout=2.0)
    started = time.monotonic()
    standin.stop()
    caller.join(5.0)
    assert time.monotonic() - started < 3.0
    assert outcome == [503]


def test_signed_callbacks_reach_the_webhook_and_validate(
    carrier: TwilioStandin, receiver: Receiver
) -> None:
    carrier.configure(callbacks=True, sent_delay=0.02, delivered_delay=0.05)
    carrier.set_behaviour("+14155550105", undelivered(30007))
    url = f"{receiver.base}/webhooks/twilio/status?tenant=t1"
    with _http(carrier) as client:
        good = _create(client, StatusCallback=url).json()
        bad = _create(client, To="+14155550105", StatusCallback=url).json()
    stats = carrier.wait_callbacks(4)
    assert stats["callbacks"] == {"sent": 4, "ok": 4, "failed": 0, "pending": 0}
    validator = RequestValidator(TOKEN)
    seen: dict[str, list[dict[str, str]]] = {}
    for path, headers, form in receiver.posts:
        assert path == "/webhooks/twilio/status?tenant=t1"
        params = dict(form)
        assert validator.validate(url, params, headers["X-Twilio-Signature"])
        assert not RequestValidator("not-the-token").validate(
            url, params, headers["X-Twilio-Signature"]
        )
        assert params["ApiVersion"] == "2010-04-01" and params["AccountSid"] == SID
        assert params["SmsSid"] == params["MessageSid"]
        assert params["SmsStatus"] == params["MessageStatus"]
        seen.setdefault(params["MessageSid"], []).append(params)
    assert [p["MessageStatus"] for p in seen[good["sid"]]] == ["sent", "delivered"]
    assert [p["MessageStatus"] for p in seen[bad["sid"]]] == ["sent", "undelivered"]
    assert "ErrorCode" not in seen[good["sid"]][1]
    assert seen[bad["sid"]][1]["ErrorCode"] == "30007"
    assert seen[bad["sid"]][1]["To"] == "+14155550105"
    (record,) = carrier.messages(sid=bad["sid"])
    assert [(c["status"], c["http"]) for c in record["callbacks"]] == [
        ("sent", 204),
        ("undelivered", 204),
    ]
    with _http(carrier) as client:
        resource = client.get(f"/2010-04-01/Accounts/{SID}/Messages/{bad['sid']}.json").json()
    assert (resource["status"], resource["error_code"]) == ("undelivered", 30007)
    assert resource["date_sent"] is not None


def test_refused_callbacks_are_counted_as_failed(carrier: TwilioStandin) -> None:
    refusing = Receiver(status=403)
    try:
        carrier.configure(callbacks=True, sent_delay=0.0, delivered_delay=0.01)
        with _http(carrier) as client:
            _create(client, StatusCallback=f"{refusing.base}/status")
            _create(client, StatusCallback="http://127.0.0.1:9/nobody-listens")
        stats = carrier.wait_callbacks(4)
    finally:
        refusing.stop()
    assert stats["callbacks"]["failed"] == 4 and stats["callbacks"]["ok"] == 0
    first, second = carrier.messages()
    assert {c["http"] for c in first["callbacks"]} == {403}
    assert {c["error"] for c in second["callbacks"]} == {"ConnectionRefusedError"}


def test_status_follows_the_clock_without_callbacks_and_lists_page(
    carrier: TwilioStandin,
) -> None:
    carrier.configure(sent_delay=0.05, delivered_delay=0.1)
    with _http(carrier) as client:
        sids = [_create(client, Body=f"n{i}").json()["sid"] for i in range(5)]
        _create(client, OTHER_SID, To="+14155550106")  # wrong credentials for OTHER_SID
        url = f"/2010-04-01/Accounts/{SID}/Messages/{sids[0]}.json"
        assert client.get(url).json()["status"] in ("queued", "sent")
        time.sleep(0.12)
        assert client.get(url).json()["status"] == "delivered"
        page = client.get(
            f"/2010-04-01/Accounts/{SID}/Messages.json", params={"PageSize": 2, "To": PATIENT}
        ).json()
        assert [m["sid"] for m in page["messages"]] == [sids[4], sids[3]]
        assert page["next_page_uri"].endswith("PageSize=2&Page=1")
        last = client.get(page["next_page_uri"].replace("Page=1", "Page=2")).json()
        assert [m["sid"] for m in last["messages"]] == [sids[0]]
        assert last["next_page_uri"] is None and last["previous_page_uri"] is not None
    with _http(carrier, OTHER_SID, OTHER_TOKEN) as other:
        assert _create(other, OTHER_SID).status_code == 201
        assert (
            other.get(f"/2010-04-01/Accounts/{OTHER_SID}/Messages/{sids[0]}.json").status_code
            == 404
        )


def test_the_control_api_over_http(carrier: TwilioStandin) -> None:
    control = httpx.Client(base_url=f"{carrier.url}/_standin", trust_env=False, verify=False)
    new_sid, new_token = "AC" + "3" * 32, "token-three"
    assert control.post("/accounts", json={"sid": new_sid, "token": new_token}).status_code == 200
    r = control.post(
        "/behaviour",
        json={"to": PATIENT, "kind": "error", "status": 400, "code": 21610, "times": None},
    )
    assert r.status_code == 200 and r.json()[PATIENT]["code"] == 21610
    assert control.post("/behaviour", json={"to": PATIENT, "kind": "nonsense"}).status_code == 400
    with _http(carrier, new_sid, new_token) as client:
        assert _create(client, new_sid).status_code == 400
        assert _create(client, new_sid, To="+14155550107").status_code == 201
    assert [m["to"] for m in control.get("/messages", params={"to": "+14155550107"}).json()] == [
        "+14155550107"
    ]
    stats = control.get("/stats").json()
    assert (stats["received"], stats["refused"]) == (1, 1)
    assert stats["first_at"] <= stats["last_at"]
    assert control.post("/reset").json()["received"] == 0
    assert control.get("/messages").json() == [] and control.get("/behaviour").json() == {}
    with _http(carrier, new_sid, new_token) as client:
        assert _create(client, new_sid).status_code == 201  # accounts survive a reset
    control.close()


def test_concurrent_creates_wait_on_timers_not_threads(carrier: TwilioStandin) -> None:
    carrier.configure(latency=0.3)
    elapsed, statuses = asyncio.run(_raw_load(carrier.port, 100, 100))
    assert statuses == {201: 100}
    assert elapsed < 6.0  # 100 × 0.3 s would take 30 s one at a time
    stats = carrier.stats()
    assert stats["received"] == 100 and stats["max_in_flight"] >= 50 and stats["in_flight"] == 0


def test_memory_is_bounded() -> None:
    with TwilioStandin(SID, TOKEN, max_messages=3) as standin, _http(standin) as client:
        sids = [_create(client, Body=str(i)).json()["sid"] for i in range(5)]
        assert standin.stats()["stored"] == 3 and standin.stats()["received"] == 5
        assert [m["sid"] for m in standin.messages()] == sids[2:]
        old = client.get(f"/2010-04-01/Accounts/{SID}/Messages/{sids[0]}.json")
        assert old.status_code == 404


def test_parse_form_matches_urllib() -> None:
    form = [
        ("To", "+14155550101"),
        ("Body", "Café & co: 50% off + tea ☕"),
        ("MediaUrl", "https://example.com/a.png?x=1&y=2"),
        ("MediaUrl", "https://example.com/b.png"),
        ("StatusCallback", ""),
    ]
    fields, media = parse_form(urlencode(form).encode())
    assert fields == {"To": "+14155550101", "Body": form[1][1], "StatusCallback": ""}
    assert media == [form[2][1], form[3][1]]
    assert parse_form(b"") == ({}, [])
    callback = {"MessageSid": "SM" + "a" * 32, "To": "+14155550101", "Body": "héllo & co"}
    assert encode_form(callback) == urlencode(callback).encode()
    assert parse_form(encode_form(callback)) == (callback, [])


def test_the_callback_sender_reuses_connections_and_retries_a_stale_one() -> None:
    """The service restarts under a running stand-in (kill -9 tests): a pooled
    connection the old process held must not lose the next callback."""
    first = TwilioStandin(SID, TOKEN).start()
    port = first.port
    url = f"http://127.0.0.1:{port}/_standin/stats"

    async def scenario() -> list[int]:
        sender = CallbackSender(limit=4, timeout=5.0)
        codes = [await sender.post(url, {"a": "1"}, {}) for _ in range(3)]
        assert sum(len(idle) for idle in sender._idle.values()) == 1  # one connection, reused
        await asyncio.to_thread(first.stop)
        second = await asyncio.to_thread(TwilioStandin(SID, TOKEN, port=port).start)
        try:
            codes.append(await sender.post(url, {"a": "2"}, {}))  # stale, then a fresh one
        finally:
            await asyncio.to_thread(second.stop)
            await sender.aclose()
        return codes

    assert asyncio.run(scenario()) == [404, 404, 404, 404]  # stats is GET-only: a 404 answer


def test_segments() -> None:
    assert segments("") == 1
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2
    assert segments("a" * 306) == 2 and segments("a" * 307) == 3
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension: 2 septets each
    assert segments("’" * 70) == 1 and segments("’" * 71) == 2  # curly quote: UCS-2
    assert segments("😀" * 35) == 1 and segments("😀" * 36) == 2  # surrogate pairs
    assert segments("a`b") == 1 and segments("`" * 71) == 2  # backtick is not GSM-7
    assert segments("a" * 158 + "{") == 1 and segments("a" * 159 + "{") == 2
    assert segments("a" * 152 + "{" + "a" * 152) == 3  # 306 septets; the pair cannot split


def test_the_standalone_process_prints_its_port_and_obeys_the_cli(tmp_path: Path) -> None:
    with StandinProcess(
        SID,
        TOKEN,
        latency=0.01,
        behaviours={PATIENT: error(21610)},
        accounts={OTHER_SID: OTHER_TOKEN},
        log_dir=tmp_path,
    ) as standin:
        assert standin.port > 0
        with _http(standin) as client:
            assert _create(client).json()["code"] == 21610
            assert _create(client, To="+14155550107").status_code == 201
        with _http(standin, OTHER_SID, OTHER_TOKEN) as other:
            assert _create(other, OTHER_SID, To="+14155550108").status_code == 201
        assert standin.stats()["received"] == 2
        pid = standin.pid
    assert pid is not None and standin.process is None


# the service harness ------------------------------------------------------------------
@pytest.mark.slow
def test_the_service_harness_serves_survives_kill_9_and_restarts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fd.db"
    run_cli(["migrate"], database_url=url, cwd=tmp_path)
    service = ServiceProcess(["serve", "--no-seed"], database_url=url, workdir=tmp_path / "svc")
    with service:
        health = service.wait_ready()
        assert health is not None and health["status"] == "ok"
        with service.client() as client:
            assert client.get("/healthz").status_code == 200
            # The admin token reached the service through the clean environment.
            unknown = "/v1/tenants/no-such-tenant"
            assert client.get(unknown, headers=service.admin_headers).status_code == 404
            assert client.get(unknown).status_code == 401, service.output()
        first_pid = service.pid
        assert service.kill() == -9
        assert not service.alive
        service.restart()
        assert service.pid != first_pid and service.alive
        with service.client() as client:
            assert client.get("/healthz").status_code == 200
    assert not service.alive
    assert service.stdout_text().count("=== start #") == 2
    assert "Frontdesk" in service.stdout_text()


@pytest.mark.postgres
def test_fresh_postgres_database_is_created_and_dropped() -> None:
    url = fresh_postgres_database()  # skips when no server answers
    name = url.rsplit("/", 1)[1]
    assert re.fullmatch(r"frontdesk_test_\d+_[0-9a-f]{8}", name)  # tests/storage/pg.py's STALE
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (name,)
    drop_postgres_database(url)
    with psycopg.connect(postgres_server().admin_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchall()
    assert found == []


# capacity -----------------------------------------------------------------------------
async def _raw_load(port: int, total: int, concurrency: int) -> tuple[float, Counter[int]]:
    """``total`` creates over ``concurrency`` keep-alive connections; (seconds, statuses).

    Requests are encoded before the clock starts, and a response is read as a head
    plus a Content-Length body, so the client costs microseconds per request.
    """
    auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    path = f"/2010-04-01/Accounts/{SID}/Messages.json"
    requests = []
    for i in range(total):
        body = f"To=%2B1415555{i % 10000:04d}&From=%2B14155550100&Body=Reminder+{i}".encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    pending = iter(requests)
    statuses: Counter[int] = Counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in pending:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            statuses[int(head[9:12])] += 1
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
        writer.close()
        await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - started, statuses


async def _httpx_load(url: str, total: int, concurrency: int) -> tuple[float, Counter[int]]:
    statuses: Counter[int] = Counter()
    pending = iter(range(total))
    async with httpx.AsyncClient(
        base_url=url,
        auth=(SID, TOKEN),
        trust_env=False,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    ) as client:

        async def worker() -> None:
            for i in pending:
                r = await client.post(
                    f"/2010-04-01/Accounts/{SID}/Messages.json",
                    data={"To": PATIENT, "From": BUSINESS, "Body": f"Reminder {i}"},
                )
                statuses[r.status_code] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, statuses


def _process_cpu(standin: TwilioStandin | StandinProcess) -> float:
    """User + system CPU seconds of a stand-in process so far (0.0 in-process)."""
    if not isinstance(standin, StandinProcess) or standin.pid is None:
        return 0.0
    fields = Path(f"/proc/{standin.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    p = argparse.ArgumentParser(description="Measure the Twilio stand-in's create capacity.")
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--latency", type=float, default=0.15)
    p.add_argument("--client", choices=("raw", "httpx"), default="raw")
    p.add_argument("--in-process", action="store_true", help="stand-in in this process's thread")
    args = p.parse_args()
    standin: TwilioStandin | StandinProcess = (
        TwilioStandin(SID, TOKEN, latency=args.latency)
        if args.in_process
        else StandinProcess(SID, TOKEN, latency=args.latency)
    )
    with standin:
        cpu_before = _process_cpu(standin)
        if args.client == "raw":
            elapsed, statuses = asyncio.run(
                _raw_load(standin.port, args.requests, args.concurrency)
            )
        else:
            elapsed, statuses = asyncio.run(
                _httpx_load(standin.url, args.requests, args.concurrency)
            )
        cpu_used = _process_cpu(standin) - cpu_before
        stats = standin.stats()
    per_request = cpu_used / args.requests if cpu_used > 0 else None
    ceiling = args.concurrency / args.latency if args.latency > 0 else None
    rate = args.requests / elapsed
    print(
        json.dumps(
            {
                "requests": args.requests,
                "concurrency": args.concurrency,
                "latency": args.latency,
                "client": args.client,
                "standin": "thread" if args.in_process else "process",
                "seconds": round(elapsed, 3),
                "requests_per_s": round(rate),
                "ceiling_per_s": round(ceiling) if ceiling else None,
                "of_ceiling": round(rate / ceiling, 3) if ceiling else None,
                "statuses": dict(statuses),
                "standin_received": stats["received"],
                "standin_max_in_flight": stats["max_in_flight"],
                # The stand-in's own CPU per create, and the rate one free core would
                # sustain at that cost: the figure that survives a busy machine.
                "standin_cpu_us_per_request": round(per_request * 1e6) if per_request else None,
                "standin_cpu_bound_per_s": round(1 / per_request) if per_request else None,
                "loadavg_1min": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
