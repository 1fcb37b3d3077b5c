"""Helpers for the compliance tests: the compliance router on the `env` app, bulk traffic."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Tenant

FORM = "https://brightsmile.example/join"


def numbers(count: int, exchange: str = "212555") -> list[str]:
    """Distinct valid US numbers, spread out so they are not one sequential block."""
    return [f"+1{exchange}{(i * 37) % 10000:04d}" for i in range(count)]


def csv_of(rows: list[dict[str, str]]) -> bytes:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(r.get(h, "") for h in header) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def consent_all(t: Tenant, phones: list[str]) -> None:
    """Informational consent for every number, in one import (each row with its own evidence)."""
    base = t.env.clock.now() - timedelta(days=2)
    rows = [
        {
            "phone": p,
            "scope": "informational",
            "method": "web_form",
            "captured_at": (base + timedelta(minutes=i)).isoformat(),
            "form": FORM,
            "ip": f"203.0.113.{i % 250}",
            "user_agent": "Mozilla/5.0",
        }
        for i, p in enumerate(phones)
    ]
    r = t.env.client.post(
        "/v1/consents/import",
        headers={**t.auth, "Content-Type": "text/csv"},
        content=csv_of(rows),
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == len(phones), r.text


def send_all(t: Tenant, phones: list[str], body: str | None = None) -> list[dict[str, Any]]:
    body = body or ("Bright Smile Dental: your cleaning is Tue at 3:00 pm. Reply STOP to opt out.")
    out: list[dict[str, Any]] = []
    for start in range(0, len(phones), 500):
        chunk = phones[start : start + 500]
        r = t.post(
            "/v1/messages/batch",
            {
                "messages": [
                    {"to": p, "body": body, "category": "appointment_reminder"} for p in chunk
                ]
            },
        )
        assert r.status_code == 200, r.text
        out += r.json()["results"]
    assert all(m.get("status") == "queued" for m in out), out[:3]
    return out
