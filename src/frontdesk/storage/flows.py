"""Tenant-scoped queries for the receptionist flows: appointments, calls, conversations.

Each helper takes a :class:`TenantScope` and adds the ``tenant_id`` filter itself
(design.md: every query is tenant-scoped by construction). Services call these;
nothing outside ``storage`` imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from frontdesk.storage.models import Appointment, Call, Conversation, InboundMessage, Message
from frontdesk.storage.uow import TenantScope

LIVE_APPOINTMENT = ("booked", "confirmed", "reschedule_requested")
PENDING_MESSAGE = ("scheduled", "queued")


# appointments ------------------------------------------------------------------------
def appointment(scope: TenantScope, appointment_id: str) -> Appointment | None:
    return scope.session.execute(
        select(Appointment).where(
            Appointment.tenant_id == scope.tenant_id, Appointment.id == appointment_id
        )
    ).scalar_one_or_none()


def appointments(
    scope: TenantScope, *, phone: str | None, limit: int, offset: int
) -> Sequence[Appointment]:
    stmt = select(Appointment).where(Appointment.tenant_id == scope.tenant_id)
    if phone is not None:
        stmt = stmt.where(Appointment.phone == phone)
    stmt = stmt.order_by(Appointment.starts_at, Appointment.id).limit(limit).offset(offset)
    return scope.session.execute(stmt).scalars().all()


def next_appointment(scope: TenantScope, phone: str, now: datetime) -> Appointment | None:
    """The earliest live appointment of this number that has not started yet."""
    return (
        scope.session.execute(
            select(Appointment)
            .where(
                Appointment.tenant_id == scope.tenant_id,
                Appointment.phone == phone,
                Appointment.status.in_(LIVE_APPOINTMENT),
                Appointment.starts_at > now,
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .limit(1)
        )
        .scalars()
        .first()
    )


def appointment_messages(
    scope: TenantScope, appointment_id: str, *, pending_only: bool = False
) -> Sequence[Message]:
    stmt = select(Message).where(
        Message.tenant_id == scope.tenant_id, Message.appointment_id == appointment_id
    )
    if pending_only:
        stmt = stmt.where(Message.status.in_(PENDING_MESSAGE))
    return scope.session.execute(stmt.order_by(Message.send_at, Message.id)).scalars().all()


# calls ---------------------------------------------------------------------------------
def call_by_provider_id(scope: TenantScope, provider: str, provider_call_id: str) -> Call | None:
    return scope.session.execute(
        select(Call).where(
            Call.tenant_id == scope.tenant_id,
            Call.provider == provider,
            Call.provider_call_id == provider_call_id,
        )
    ).scalar_one_or_none()


def followed_up_call_since(scope: TenantScope, caller: str, since: datetime) -> Call | None:
    """A call from this caller since ``since`` that already produced a live follow-up text."""
    return (
        scope.session.execute(
            select(Call)
            .join(
                Message,
                (Message.id == Call.followup_message_id) & (Message.tenant_id == Call.tenant_id),
            )
            .where(
                Call.tenant_id == scope.tenant_id,
                Call.caller == caller,
                Call.at >= since,
                Message.status.notin_(("blocked", "canceled")),
            )
            .order_by(Call.at.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


# conversations ---------------------------------------------------------------------------
def conversation(scope: TenantScope, phone: str) -> Conversation | None:
    return scope.session.execute(
        select(Conversation).where(
            Conversation.tenant_id == scope.tenant_id, Conversation.phone == phone
        )
    ).scalar_one_or_none()


def conversations(scope: TenantScope, *, limit: int, offset: int) -> Sequence[Conversation]:
    return (
        scope.session.execute(
            select(Conversation)
            .where(Conversation.tenant_id == scope.tenant_id)
            .order_by(Conversation.updated_at.desc(), Conversation.id)
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )


def inbound_from(scope: TenantScope, phone: str, limit: int) -> Sequence[InboundMessage]:
    return (
        scope.session.execute(
            select(InboundMessage)
            .where(InboundMessage.tenant_id == scope.tenant_id, InboundMessage.from_phone == phone)
            .order_by(InboundMessage.received_at.desc(), InboundMessage.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def outbound_to(scope: TenantScope, phone: str, limit: int) -> Sequence[Message]:
    return (
        scope.session.execute(
            select(Message)
            .where(Message.tenant_id == scope.tenant_id, Message.to_phone == phone)
            .order_by(Message.created_at.desc(), Message.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def ai_replies_since(scope: TenantScope, phone: str, since: datetime) -> int:
    """Automated conversation replies accepted to this number since ``since`` (caps, §2.3.8)."""
    return int(
        scope.session.execute(
            select(func.count())
            .select_from(Message)
            .where(
                Message.tenant_id == scope.tenant_id,
                Message.to_phone == phone,
                Message.conversation_reply.is_(True),
                Message.status.notin_(("blocked", "canceled")),
                Message.created_at >= since,
            )
        ).scalar_one()
    )
