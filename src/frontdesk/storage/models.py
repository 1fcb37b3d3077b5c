"""SQLAlchemy models. Every table carries ``tenant_id`` (tenants carry their own id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from frontdesk.storage.types import UTCDateTime

ID = String(32)
PHONE = String(20)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    support_email: Mapped[str | None] = mapped_column(String(320))
    support_phone: Mapped[str | None] = mapped_column(PHONE)
    status: Mapped[str] = mapped_column(String(16), default="active")
    suspension_reason: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[datetime | None]
    suspension_automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SendingNumber(Base):
    __tablename__ = "sending_numbers"
    __table_args__ = (UniqueConstraint("number", name="uq_sending_numbers_number"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    number: Mapped[str] = mapped_column(PHONE)
    provider: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[str | None] = mapped_column(String(32))
    # The tenant's carrier account this number sends through; None = the platform default.
    carrier_account_id: Mapped[str | None] = mapped_column(
        ForeignKey("carrier_accounts.id", name="fk_sending_numbers_carrier_account_id")
    )
    created_at: Mapped[datetime]


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("tenant_id", "phone", name="uq_contacts_tenant_phone"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    phone: Mapped[str] = mapped_column(PHONE)
    name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str | None] = mapped_column(String(2))
    version: Mapped[int] = mapped_column(Integer, default=0)
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConsentEventRow(Base):
    """Append-only: a database trigger refuses UPDATE and DELETE (see the migration)."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_tenant_phone", "tenant_id", "phone", "captured_at"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    phone: Mapped[str] = mapped_column(PHONE)
    kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str | None] = mapped_column(String(16))
    method: Mapped[str | None] = mapped_column(String(16))
    written: Mapped[bool] = mapped_column(Boolean, default=False)
    recipient_act: Mapped[bool] = mapped_column(Boolean, default=False)
    limited_to: Mapped[list[Any] | None] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(32))
    captured_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class Suppression(Base):
    __tablename__ = "suppressions"
    __table_args__ = (Index("ix_suppressions_tenant_phone", "tenant_id", "phone"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    phone: Mapped[str] = mapped_column(PHONE)
    reason: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(16), default="all")
    source: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(String(64))


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_messages_idempotency"),
        Index("ix_messages_due", "status", "send_at"),
        Index("ix_messages_tenant_to", "tenant_id", "to_phone", "created_at"),
        Index("ix_messages_provider_id", "provider", "provider_message_id"),
        Index("ix_messages_claims", "claim_token"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    to_phone: Mapped[str] = mapped_column(String(64))
    from_phone: Mapped[str | None] = mapped_column(PHONE)
    body: Mapped[str] = mapped_column(Text)
    media_urls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    encoding: Mapped[str] = mapped_column(String(8), default="GSM-7")
    send_at: Mapped[datetime]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(16))
    revocation_at: Mapped[datetime | None]
    appointment_starts_at: Mapped[datetime | None]
    appointment_id: Mapped[str | None] = mapped_column(String(32), index=True)
    conversation_reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The body says how to opt out (R-K-08): the monthly re-notice reads the latest.
    opt_out_notice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Sent without consent under the healthcare exemption (R-C-07): counted per patient.
    healthcare_exempt: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    handed_off_at: Mapped[datetime | None]
    # The outbox (storage/claims.py): a claimed message carries its claim's token until
    # its send is released to the carrier (``released_at``) or the claim is fenced.
    claim_token: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]


class MessageEvent(Base):
    __tablename__ = "message_events"
    __table_args__ = (
        Index("ix_message_events_message", "message_id"),
        UniqueConstraint(
            "provider", "provider_message_id", "status", name="uq_message_events_dedup"
        ),
    )
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    status: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "provider_message_id", name="uq_inbound_dedup"),
        Index("ix_inbound_tenant_from", "tenant_id", "from_phone", "received_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    from_phone: Mapped[str] = mapped_column(PHONE)
    to_phone: Mapped[str] = mapped_column(PHONE)
    body: Mapped[str] = mapped_column(Text)
    media_urls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    classification: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(48))
    actions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime]


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_tenant_phone", "tenant_id", "phone", "status"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    phone: Mapped[str] = mapped_column(PHONE)
    inbound_id: Mapped[str] = mapped_column(ForeignKey("inbound_messages.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    deadline: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Hash-chained per tenant: ``hash = sha256(prev_hash || canonical(entry))``."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_tenant_seq", "tenant_id", "seq", unique=True),)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_tenant_phone", "tenant_id", "phone", "starts_at"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    phone: Mapped[str] = mapped_column(PHONE)
    starts_at: Mapped[datetime]
    service: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24), default="booked")
    reminders: Mapped[list[Any]] = mapped_column(JSON, default=list)
    proposed_time: Mapped[str | None] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "provider_call_id", name="uq_calls_provider"),
        Index("ix_calls_tenant_caller", "tenant_id", "caller", "at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    caller: Mapped[str] = mapped_column(String(64))
    to_number: Mapped[str] = mapped_column(PHONE)
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(24))
    provider: Mapped[str] = mapped_column(String(32))
    provider_call_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(48))
    followup_message_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("tenant_id", "phone", name="uq_conversations_phone"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    phone: Mapped[str] = mapped_column(PHONE)
    owner: Mapped[str] = mapped_column(String(16), default="ai")
    state: Mapped[str] = mapped_column(String(32), default="idle")
    paused_until: Mapped[datetime | None]
    unrecognised: Mapped[int] = mapped_column(Integer, default=0)
    last_intent: Mapped[str | None] = mapped_column(String(48))
    language: Mapped[str] = mapped_column(String(8), default="en")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_inbound_at: Mapped[datetime | None]
    last_outbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Brand(Base):
    __tablename__ = "brands"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    legal_name: Mapped[str] = mapped_column(String(255))
    ein: Mapped[str | None] = mapped_column(String(16))
    entity_type: Mapped[str] = mapped_column(String(32))
    vertical: Mapped[str] = mapped_column(String(48))
    website: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(PHONE)
    status: Mapped[str] = mapped_column(String(24), default="registered")
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"))
    use_case: Mapped[str] = mapped_column(String(48))
    sub_use_cases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text)
    message_flow: Mapped[str] = mapped_column(Text)
    sample_messages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    help_message: Mapped[str] = mapped_column(Text)
    optout_message: Mapped[str] = mapped_column(Text)
    embedded_links: Mapped[bool] = mapped_column(Boolean, default=False)
    embedded_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    age_gated: Mapped[bool] = mapped_column(Boolean, default=False)
    direct_lending: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PolicyAcceptance(Base):
    __tablename__ = "policy_acceptances"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    accepted_by: Mapped[str] = mapped_column(String(200))
    accepted_at: Mapped[datetime]


class CarrierAccount(Base):
    """A tenant's own carrier account (a Twilio subaccount, an SMPP bind).

    ``config`` holds only what is not secret (Twilio ``account_sid``/``api_base``; SMPP
    ``host``, ``port``, ``system_id``, ``system_type``, ``window``). The auth token or
    password is ``secret_ciphertext``, sealed by ``secrets_box`` under the key
    ``secret_key_id`` and bound to this row's id (see ``storage.carrier_accounts``).
    """

    __tablename__ = "carrier_accounts"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    secret_key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
