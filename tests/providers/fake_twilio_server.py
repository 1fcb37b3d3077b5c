"""A small HTTP server on 127.0.0.1 that speaks Twilio's Messages API for tests.

It checks HTTP Basic auth like Twilio (20003 on a wrong token), records every
form it receives (repeated keys kept), and answers per destination number:
``created`` (201 with a Message resource), ``error`` (Twilio's error JSON with
a given HTTP status and code), ``server_error`` (a bare 500 page) or ``hang``
(no answer until the test releases it or the server stops).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Behaviour:
    kind: str = "created"
    status: int = 201
    code: int | None = None
    message: str = ""


CREATED = Behaviour()


def error(status: int, code: int, message: str) -> Behaviour:
    return Behaviour("error", status, code, message)


SERVER_ERROR = Behaviour("server_error", 500)
HANG = Behaviour("hang", 0)


@dataclass
class Received:
    path: str
    authorized: bool
    form: list[tuple[str, str]]

    def get(self, key: str) -> str | None:
        values = self.getlist(key)
        return values[-1] if values else None

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self.form if k == key]


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "fake-auth-token"
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = parse_qsl(raw, keep_blank_values=True)
                expected = (
                    "Basic "
                    + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                )
                authorized = self.headers.get("Authorization") == expected
                with fake._lock:
                    fake.received.append(Received(self.path, authorized, form))
                path = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                if self.path != path:
                    self._json(404, {"code": 20404, "message": "Not found", "status": 404})
                    return
                if not authorized:
                    self._json(401, _error(401, 20003, "Authenticate"))
                    return
                fields = dict(form)
                behaviour = fake.behaviours.get(fields.get("To", ""), CREATED)
                if behaviour.kind == "hang":
                    fake.release.wait(10)
                    behaviour = CREATED
                if behaviour.kind == "server_error":
                    body = b"<html>Internal Server Error</html>"
                    self.send_response(500)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if behaviour.kind == "error":
                    assert behaviour.code is not None
                    self._json(
                        behaviour.status,
                        _error(behaviour.status, behaviour.code, behaviour.message),
                    )
                    return
                self._json(201, _message(fake.account_sid, fields))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def sent(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.authorized]


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _message(account_sid: str, fields: dict[str, str]) -> dict[str, Any]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": fields.get("Body", ""),
        "direction": "outbound-api",
        "from": fields.get("From"),
        "num_segments": "1",
        "sid": sid,
        "status": "queued",
        "to": fields.get("To"),
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
