"""A stand-in OpenAI-compatible server on 127.0.0.1 for the LLM adapter tests.

A real HTTP server in a thread (``http.server``), so the adapter's httpx client, its
timeouts and its error handling run exactly as against vLLM, Ollama or llama-server.
Each test scripts the answers: a callable gets the parsed request body and returns
``Answer(status, content | body, delay)``. Requests are recorded for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    content: str | None = None  # the assistant message text
    body: str | None = None  # a raw body instead of a chat completion
    delay: float = 0.0


Script = Callable[[dict[str, Any]], Answer]


@dataclass
class FakeServer:
    base_url: str
    script: Script
    requests: list[dict[str, Any]] = field(default_factory=list)
    models_status: int = 200


def completion(content: str, model: str = "fake-model") -> str:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
    )


def nlu(intent: str, confidence: float = 0.9, needs_human: bool = False, **slots: str) -> str:
    return json.dumps(
        {"intent": intent, "slots": slots, "confidence": confidence, "needs_human": needs_human}
    )


@contextmanager
def fake_openai(script: Script) -> Iterator[FakeServer]:
    state: dict[str, FakeServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def do_GET(self) -> None:
            server = state["server"]
            if self.path.endswith("/models"):
                self._send(
                    server.models_status,
                    json.dumps(
                        {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
                    ),
                )
            else:
                self._send(404, "{}")

        def do_POST(self) -> None:
            server = state["server"]
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            request["_auth"] = self.headers.get("Authorization")
            server.requests.append(request)
            if not self.path.endswith("/chat/completions"):
                self._send(404, "{}")
                return
            answer = server.script(request)
            if answer.delay:
                time.sleep(answer.delay)
            if answer.body is not None:
                self._send(answer.status, answer.body)
            else:
                self._send(answer.status, completion(answer.content or ""))

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    state["server"] = FakeServer(base_url=f"http://127.0.0.1:{port}/v1", script=script)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state["server"]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
