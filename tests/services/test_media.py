"""R-S-02: MMS media must be reachable, of a carried type, and 600 KB in all.

Checked against a real HTTP server on 127.0.0.1 serving files of given sizes
and types; ``allow_insecure_loopback`` is the only way plain http is accepted.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from frontdesk.domain.reasons import ReasonCode
from frontdesk.services.media import ALLOWED_TYPES, MAX_TOTAL_BYTES, check_media


@dataclass(frozen=True)
class File:
    content_type: str
    size: int
    head: bool = True  # answers HEAD (else 405)
    length: bool = True  # sends Content-Length
    status: int = 200
    location: str | None = None


FILES: dict[str, File] = {
    "/small.jpg": File("image/jpeg", 100 * 1024),
    "/photo.png": File("image/png; charset=binary", 300 * 1024),
    "/big.jpg": File("image/jpeg", 700 * 1024),
    "/card.vcf": File("text/vcard", 2 * 1024),
    "/page.html": File("text/html", 1024),
    "/app.exe": File("application/octet-stream", 1024),
    "/gone.jpg": File("image/jpeg", 0, status=404),
    "/nohead.gif": File("image/gif", 50 * 1024, head=False),
    "/nolength.jpg": File("image/jpeg", 650 * 1024, length=False),
    "/moved.jpg": File("", 0, status=302, location="/small.jpg"),
    "/loop.jpg": File("", 0, status=302, location="/loop.jpg"),
    "/escape.jpg": File("", 0, status=302, location="https://10.0.0.1/x.jpg"),
}


@pytest.fixture(scope="module")
def media_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, with_body: bool) -> None:
            f = FILES.get(self.path)
            if f is None:
                self.send_error(404)
                return
            if not with_body and not f.head:
                self.send_error(405)
                return
            self.send_response(f.status)
            if f.location:
                self.send_header("Location", f.location)
            if f.content_type:
                self.send_header("Content-Type", f.content_type)
            if f.length:
                self.send_header("Content-Length", str(f.size))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if with_body and f.status == 200:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(b"\0" * f.size)

        def do_HEAD(self) -> None:
            self._answer(False)

        def do_GET(self) -> None:
            self._answer(True)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as c:
        yield c


def check(client: httpx.Client, *urls: str, **kw: Any) -> list[str]:
    reasons = check_media(
        list(urls),
        provider_supports_mms=kw.pop("provider_supports_mms", True),
        client=client,
        allow_insecure_loopback=kw.pop("allow_insecure_loopback", True),
        **kw,
    )
    assert all(r.code is ReasonCode.MEDIA_NOT_ALLOWED and r.rule == "R-S-02" for r in reasons)
    assert all(r.fix for r in reasons)
    return [r.message for r in reasons]


def test_R_S_02_allowed_files_within_600_kb_pass(client: httpx.Client, media_server: str) -> None:
    urls = [f"{media_server}/small.jpg", f"{media_server}/photo.png", f"{media_server}/card.vcf"]
    assert check(client, *urls) == []
    assert check(client) == []


def test_R_S_02_total_over_600_kb_is_refused(client: httpx.Client, media_server: str) -> None:
    exactly = [f"{media_server}/photo.png", f"{media_server}/photo.png"]
    assert check(client, *exactly) == [], "600 KB is within the limit"
    urls = [*exactly, f"{media_server}/card.vcf"]
    [message] = check(client, *urls)
    assert "600 KB" in message
    [single] = check(client, f"{media_server}/big.jpg")
    assert "600 KB" in single


def test_R_S_02_type_outside_the_list_is_refused_naming_the_url(
    client: httpx.Client, media_server: str
) -> None:
    messages = check(client, f"{media_server}/page.html", f"{media_server}/app.exe")
    assert len(messages) == 2
    assert "/page.html" in messages[0] and "text/html" in messages[0]
    assert "/app.exe" in messages[1] and "application/octet-stream" in messages[1]


def test_R_S_02_unreachable_media_is_refused(client: httpx.Client, media_server: str) -> None:
    [message] = check(client, f"{media_server}/gone.jpg")
    assert "/gone.jpg" in message and "HTTP 404" in message


def test_R_S_02_server_without_head_is_checked_by_get(
    client: httpx.Client, media_server: str
) -> None:
    assert check(client, f"{media_server}/nohead.gif") == []


def test_R_S_02_size_without_content_length_is_counted(
    client: httpx.Client, media_server: str
) -> None:
    [message] = check(client, f"{media_server}/nolength.jpg")
    assert "600 KB" in message


def test_R_S_02_redirects_are_followed_and_each_hop_checked(
    client: httpx.Client, media_server: str
) -> None:
    assert check(client, f"{media_server}/moved.jpg") == []
    [loop] = check(client, f"{media_server}/loop.jpg")
    assert "redirects more than" in loop
    [escape] = check(client, f"{media_server}/escape.jpg")
    assert "private" in escape


def test_R_S_02_only_https_without_the_loopback_flag(
    client: httpx.Client, media_server: str
) -> None:
    [plain] = check(client, f"{media_server}/small.jpg", allow_insecure_loopback=False)
    assert "https" in plain
    [ftp] = check(client, "ftp://cdn.example.com/a.jpg")
    assert "https" in ftp
    [internal] = check(client, "https://192.168.1.5/a.jpg", allow_insecure_loopback=False)
    assert "private" in internal
    [local] = check(client, "https://localhost/a.jpg", allow_insecure_loopback=False)
    assert "private" in local


def test_R_S_02_more_than_ten_files_is_refused(client: httpx.Client, media_server: str) -> None:
    [message] = check(client, *[f"{media_server}/card.vcf"] * 11)
    assert "at most 10" in message


def test_R_S_02_sms_only_sender_cannot_send_media(client: httpx.Client) -> None:
    [message] = check(client, "https://cdn.example.com/a.jpg", provider_supports_mms=False)
    assert "SMS only" in message


def test_R_S_02_timeout_is_a_refusal_not_a_hang(client: httpx.Client) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow.jpg"
        [message] = check(client, url, timeout=0.3)
    finally:
        listener.close()
    assert "did not answer within 0.3 s" in message


def test_signed_query_strings_stay_out_of_the_reason(client: httpx.Client) -> None:
    [message] = check(
        client,
        "http://cdn.example.com/a.jpg?X-Amz-Signature=secret",
        allow_insecure_loopback=False,
    )
    assert "secret" not in message and "cdn.example.com/a.jpg" in message


def test_allowed_list_and_limit_are_the_documented_defaults() -> None:
    assert MAX_TOTAL_BYTES == 600 * 1024
    assert {"image/jpeg", "image/png", "image/gif", "application/pdf"} <= ALLOWED_TYPES
    assert "text/html" not in ALLOWED_TYPES
