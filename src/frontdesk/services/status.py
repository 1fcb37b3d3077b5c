"""Apply carrier status reports: deduplicated, and never moving a message backwards (R-E-01)."""

from __future__ import annotations

from datetime import datetime

from frontdesk.domain.messages import Status, can_move
from frontdesk.providers.base import StatusUpdate
from frontdesk.storage.models import MessageEvent
from frontdesk.storage.uow import UnitOfWork

_STATUS_MAP = {
    "accepted": "sending",
    "queued": "sending",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}


def apply_status(uow: UnitOfWork, update: StatusUpdate, now: datetime) -> str:
    """Returns ``applied``, ``duplicate``, ``stale`` (recorded, no change) or ``unknown``."""
    msg = uow.message_by_provider_id(update.provider, update.provider_message_id)
    if msg is None:
        return "unknown"
    status = _STATUS_MAP.get(update.status.lower())
    if status is None:
        return "unknown"
    scope = uow.tenant(msg.tenant_id)
    for ev in scope.message_events(msg.id):
        if (
            ev.provider == update.provider
            and ev.status == status
            and ev.provider_message_id == update.provider_message_id
        ):
            return "duplicate"
    scope.add(
        MessageEvent(
            tenant_id=msg.tenant_id,
            message_id=msg.id,
            status=status,
            provider=update.provider,
            provider_message_id=update.provider_message_id,
            error_code=update.error_code,
            detail={"callback": True},
            at=update.at or now,
        )
    )
    current = Status(msg.status)
    new = Status(status)
    if current == new or not can_move(current, new):
        return "stale"
    msg.status = new.value
    if update.error_code:
        msg.error_code = update.error_code
    msg.updated_at = now
    return "applied"
