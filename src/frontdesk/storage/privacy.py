"""Reads across every table that holds a number, for export and erasure (mission §6, R-D-04).

Each query filters on ``tenant_id``: a tenant exports and erases only what it
holds itself (R-D-05: no consent list crosses tenants). :func:`savepoint` gives
the consent import one nested transaction per row, so a refused row leaves
nothing behind while the accepted rows stay.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.storage.models import (
    Appointment,
    AuditEntry,
    Call,
    Conversation,
    InboundMessage,
    Message,
    MessageEvent,
    Review,
    Suppression,
)


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """SAVEPOINT … RELEASE, or ROLLBACK TO on any exception (which propagates)."""
    with session.begin_nested():
        yield


def all_suppressions(session: Session, tenant_id: str, phone: str) -> Sequence[Suppression]:
    """Every entry, lifted ones too: the DNC record is kept with its history (R-D-02)."""
    return (
        session.execute(
            select(Suppression)
            .where(Suppression.tenant_id == tenant_id, Suppression.phone == phone)
            .order_by(Suppression.created_at, Suppression.id)
        )
        .scalars()
        .all()
    )


def messages_to(session: Session, tenant_id: str, phone: str) -> Sequence[Message]:
    return (
        session.execute(
            select(Message)
            .where(Message.tenant_id == tenant_id, Message.to_phone == phone)
            .order_by(Message.created_at, Message.id)
        )
        .scalars()
        .all()
    )


def events_of(
    session: Session, tenant_id: str, message_ids: Collection[str]
) -> Sequence[MessageEvent]:
    if not message_ids:
        return []
    return (
        session.execute(
            select(MessageEvent)
            .where(
                MessageEvent.tenant_id == tenant_id,
                MessageEvent.message_id.in_(list(message_ids)),
            )
            .order_by(MessageEvent.at, MessageEvent.id)
        )
        .scalars()
        .all()
    )


def inbound_from(session: Session, tenant_id: str, phone: str) -> Sequence[InboundMessage]:
    return (
        session.execute(
            select(InboundMessage)
            .where(InboundMessage.tenant_id == tenant_id, InboundMessage.from_phone == phone)
            .order_by(InboundMessage.received_at, InboundMessage.id)
        )
        .scalars()
        .all()
    )


def reviews_of(session: Session, tenant_id: str, phone: str) -> Sequence[Review]:
    return (
        session.execute(
            select(Review)
            .where(Review.tenant_id == tenant_id, Review.phone == phone)
            .order_by(Review.created_at, Review.id)
        )
        .scalars()
        .all()
    )


def appointments_of(session: Session, tenant_id: str, phone: str) -> Sequence[Appointment]:
    return (
        session.execute(
            select(Appointment)
            .where(Appointment.tenant_id == tenant_id, Appointment.phone == phone)
            .order_by(Appointment.starts_at, Appointment.id)
        )
        .scalars()
        .all()
    )


def calls_from(session: Session, tenant_id: str, phone: str) -> Sequence[Call]:
    return (
        session.execute(
            select(Call)
            .where(Call.tenant_id == tenant_id, Call.caller == phone)
            .order_by(Call.at, Call.id)
        )
        .scalars()
        .all()
    )


def conversation_of(session: Session, tenant_id: str, phone: str) -> Conversation | None:
    return session.execute(
        select(Conversation).where(Conversation.tenant_id == tenant_id, Conversation.phone == phone)
    ).scalar_one_or_none()


def audit_about(
    session: Session, tenant_id: str, subjects: Collection[str]
) -> Sequence[AuditEntry]:
    """Entries whose subject is one of ``subjects`` (the caller narrows shared last-4 subjects)."""
    if not subjects:
        return []
    return (
        session.execute(
            select(AuditEntry)
            .where(AuditEntry.tenant_id == tenant_id, AuditEntry.subject.in_(list(subjects)))
            .order_by(AuditEntry.seq)
        )
        .scalars()
        .all()
    )
