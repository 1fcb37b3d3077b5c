"""The idempotency fingerprint is stored (messages.request_hash): its encoding is frozen."""

from __future__ import annotations

from datetime import UTC, datetime

from frontdesk.domain.messages import Category
from frontdesk.services.messages import SendCommand


def command(**kw: object) -> SendCommand:
    base: dict[str, object] = {
        "to": "+13055550111",
        "body": "Bright Smile Dental: see you Tue. Reply STOP to opt out.",
        "category": Category.APPOINTMENT_REMINDER,
        "send_at": datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
        "idempotency_key": "k1",
    }
    base.update(kw)
    return SendCommand(**base)  # type: ignore[arg-type]


def test_fingerprint_is_the_stored_encoding() -> None:
    """A retry with the same key after an upgrade must still match the stored hash."""
    golden = "11bc9690518f010729c1c57be9a35fdc8e1c2e3d51f80f1dac09f5a00bc7fd00"
    assert command().fingerprint() == golden


def test_fingerprint_ignores_the_key_and_sees_every_other_field() -> None:
    assert command(idempotency_key="other").fingerprint() == command().fingerprint()
    assert command(body="x").fingerprint() != command().fingerprint()
    assert command(subject="s").fingerprint() != command().fingerprint()
    assert command(media_urls=("https://a.example/x.png",)).fingerprint() != command().fingerprint()
