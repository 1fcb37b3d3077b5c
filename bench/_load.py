"""The load generator of ``bench/throughput.py``: raw keep-alive HTTP/1.1 over asyncio.

It runs in its own process (not sharing the server's GIL) and costs a few tens of
microseconds per request: the requests are encoded before the clock starts, and a
response is read as a status line, headers and a ``Content-Length`` body. Every
response must be 2xx and every message in it ``queued``; anything else is counted
and reported, never taken for throughput.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

BODY = "Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply C to confirm, STOP to opt out."
CHUNK = 1000


@dataclass
class Request:
    data: bytes
    messages: int


@dataclass
class Outcome:
    t_first: float = 0.0  # time.time() when the first request is written
    t_last: float = 0.0  # time.time() when the last response is read
    requests: int = 0
    queued: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {
            "t_first": self.t_first,
            "t_last": self.t_last,
            "requests": self.requests,
            "queued": self.queued,
            "refused": dict(self.refused),
            "samples": self.samples[:5],
            "p50_ms": 1000 * lat[len(lat) // 2] if lat else 0.0,
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0,
            "cpu": self.cpu,
        }


def message(phone: str) -> dict[str, str]:
    return {"to": phone, "body": BODY, "category": "appointment_reminder"}


def requests(mode: str, n: int, phones: list[str], api_key: str) -> list[Request]:
    def post(path: str, payload: object, count: int) -> Request:
        body = json.dumps(payload, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return Request(head.encode() + body, count)

    if mode == "bulk":
        return [
            post(
                "/v1/messages/batch",
                {
                    "messages": [
                        message(phones[i % len(phones)]) for i in range(s, min(n, s + CHUNK))
                    ]
                },
                min(n, s + CHUNK) - s,
            )
            for s in range(0, n, CHUNK)
        ]
    return [post("/v1/messages", message(phones[i % len(phones)]), 1) for i in range(n)]


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("chunked responses are not handled by the bench client")
    return status, await reader.readexactly(length or 0)


def _check(out: Outcome, req: Request, status: int, body: bytes) -> None:
    if not 200 <= status < 300:
        out.refused[f"http {status}"] += req.messages
        out.samples.append(f"{status}: {body[:300]!r}")
        return
    data = json.loads(body)
    items = data.get("results", [data])
    if len(items) != req.messages:
        out.refused["missing results"] += req.messages - len(items)
    for item in items:
        state = (item or {}).get("status") or f"error {(item or {}).get('error', {}).get('status')}"
        if state == "queued":
            out.queued += 1
        else:
            out.refused[state] += 1
            if len(out.samples) < 5:
                out.samples.append(json.dumps(item)[:300])


async def _drive(host: str, port: int, reqs: list[Request], concurrency: int) -> Outcome:
    out = Outcome()
    conns = [await asyncio.open_connection(host, port) for _ in range(concurrency)]
    queue = iter(reqs)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for req in queue:
            sent = time.perf_counter()
            writer.write(req.data)
            status, body = await _response(reader)
            out.latencies.append(time.perf_counter() - sent)
            out.requests += 1
            _check(out, req, status, body)
        writer.close()

    cpu = time.process_time()
    out.t_first = time.time()
    await asyncio.gather(*(connection(r, w) for r, w in conns))
    out.t_last = time.time()
    out.cpu = time.process_time() - cpu
    return out


def run(
    host: str, port: int, mode: str, n: int, phones: list[str], api_key: str, concurrency: int
) -> dict[str, Any]:
    """Encode the requests, then send them over ``concurrency`` connections; the outcome."""
    reqs = requests(mode, n, phones, api_key)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    outcome: Outcome = runner(_drive(host, port, reqs, max(1, min(concurrency, len(reqs)))))
    return outcome.as_dict()
