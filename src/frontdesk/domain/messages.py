"""Message categories and the delivery state machine.

The state machine never moves backwards: a late ``sent`` callback must not
overwrite ``delivered`` (design.md, "Status callbacks arrive out of order and
duplicated"; R-E-01).
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    APPOINTMENT_CONFIRMATION = "appointment_confirmation"
    APPOINTMENT_REMINDER = "appointment_reminder"
    MISSED_CALL_FOLLOWUP = "missed_call_followup"
    SERVICE_NOTIFICATION = "service_notification"
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"
    CONVERSATION = "conversation"
    # Internal categories, never accepted from the public API.
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    OPT_IN_CONFIRMATION = "opt_in_confirmation"
    HELP_REPLY = "help_reply"


PUBLIC_CATEGORIES: frozenset[Category] = frozenset(
    {
        Category.APPOINTMENT_CONFIRMATION,
        Category.APPOINTMENT_REMINDER,
        Category.MISSED_CALL_FOLLOWUP,
        Category.SERVICE_NOTIFICATION,
        Category.TRANSACTIONAL,
        Category.MARKETING,
        Category.CONVERSATION,
    }
)

COMPLIANCE_REPLIES: frozenset[Category] = frozenset(
    {Category.OPT_OUT_CONFIRMATION, Category.OPT_IN_CONFIRMATION, Category.HELP_REPLY}
)


class Status(StrEnum):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"
    BLOCKED = "blocked"


FINAL: frozenset[Status] = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED, Status.BLOCKED}
)

# Rank along the forward path; a transition is allowed only to a higher rank.
_RANK: dict[Status, int] = {
    Status.SCHEDULED: 0,
    Status.QUEUED: 1,
    Status.SENDING: 2,
    Status.SENT: 3,
    Status.DELIVERED: 4,
    Status.UNDELIVERED: 4,
    Status.FAILED: 4,
    Status.CANCELED: 4,
    Status.BLOCKED: 4,
}

_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.SCHEDULED: frozenset({Status.QUEUED, Status.SENDING, Status.CANCELED, Status.BLOCKED}),
    Status.QUEUED: frozenset(
        {Status.SCHEDULED, Status.SENDING, Status.CANCELED, Status.BLOCKED, Status.FAILED}
    ),
    # ``sending`` may return to ``scheduled``/``queued`` for a lawful retry.
    Status.SENDING: frozenset(
        {
            Status.SENT,
            Status.DELIVERED,
            Status.UNDELIVERED,
            Status.FAILED,
            Status.BLOCKED,
            Status.SCHEDULED,
            Status.QUEUED,
            Status.CANCELED,
        }
    ),
    # ``sent`` may return to ``queued`` for a lawful retry after an asynchronous failure
    # report (R-E-02: transient errors only; the status service decides).
    Status.SENT: frozenset({Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.QUEUED}),
}


def can_move(current: Status, new: Status) -> bool:
    """True when ``current -> new`` is a legal transition (never backwards)."""
    return new in _ALLOWED.get(current, frozenset())


def is_final(status: Status) -> bool:
    return status in FINAL


def rank(status: Status) -> int:
    return _RANK[status]
