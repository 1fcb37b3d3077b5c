"""The unit of work and the tenant-scoped repositories.

Services receive a :class:`UnitOfWork` and never commit; the edge (an API route,
the worker loop, a CLI command) commits. Every tenant query goes through
:meth:`UnitOfWork.tenant`, whose methods add the ``tenant_id`` filter themselves.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from types import TracebackType
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BindParameter,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from frontdesk.storage import appends, audit
from frontdesk.storage.audit import Verification
from frontdesk.storage.db import Database
from frontdesk.storage.models import (
    ApiKey,
    AuditEntry,
    ConsentEventRow,
    Contact,
    InboundMessage,
    Message,
    MessageEvent,
    Review,
    SendingNumber,
    Suppression,
    Tenant,
)

# Statuses that do not count as a message sent or on its way (caps, first message).
LIVE_EXCLUDED = ("blocked", "canceled")
EVENT_TABLE = cast(Table, MessageEvent.__table__)
MESSAGE_TABLE = cast(Table, Message.__table__)
IN_CHUNK = 500  # numbers per IN (...) list: far below SQLite's and PostgreSQL's limits


class LiveCounts(NamedTuple):
    """One number's live messages, counted (:meth:`TenantScope.live_counts_for`)."""

    live: int
    low: str
    high: str
    windowed: int
    confirmations: int
    notice_at: datetime | None  # latest ``send_at`` of one that said how to opt out
    exempt: int  # how many went without consent under the healthcare exemption (R-C-07)


# The batch reads of the hot paths, built once: constructing a select() costs more than
# running it (~150 µs against ~80 µs for a handful of numbers; issue 4).
_TENANT: BindParameter[str] = bindparam("tenant")
_PHONES: BindParameter[list[str]] = bindparam("phones", expanding=True)
_SUPPRESSIONS_FOR = (
    select(Suppression)
    .where(
        Suppression.tenant_id == _TENANT,
        Suppression.phone.in_(_PHONES),
        Suppression.lifted_at.is_(None),
    )
    .order_by(Suppression.created_at)
)
_CONSENT_EVENTS_FOR = (
    select(
        ConsentEventRow.id,
        ConsentEventRow.phone,
        ConsentEventRow.kind,
        ConsentEventRow.scope,
        ConsentEventRow.method,
        ConsentEventRow.written,
        ConsentEventRow.recipient_act,
        ConsentEventRow.limited_to,
        ConsentEventRow.captured_at,
    )
    .where(ConsentEventRow.tenant_id == _TENANT, ConsentEventRow.phone.in_(_PHONES))
    .order_by(ConsentEventRow.captured_at, ConsentEventRow.recorded_at)
)
_CONTACTS_FOR = select(
    Contact.phone, Contact.state, Contact.postal_code, Contact.timezone, Contact.last_inbound_at
).where(Contact.tenant_id == _TENANT, Contact.phone.in_(_PHONES))
_UNDER_REVIEW_FOR = select(Review.phone).where(
    Review.tenant_id == _TENANT, Review.phone.in_(_PHONES), Review.status == "pending"
)
_WINDOW_START = bindparam("start", type_=Message.send_at.type)
_WINDOW_END = bindparam("end", type_=Message.send_at.type)
_LIVE_COUNTS_FOR = (
    select(
        Message.to_phone,
        func.count(),
        func.min(Message.id),
        func.max(Message.id),
        func.sum(
            case(
                (
                    and_(
                        Message.category.notin_(bindparam("skip", expanding=True)),
                        Message.send_at > _WINDOW_START,
                        Message.send_at < _WINDOW_END,
                    ),
                    1,
                ),
                else_=0,
            )
        ),
        func.sum(case((Message.category == bindparam("confirmation"), 1), else_=0)),
        func.max(case((Message.opt_out_notice, Message.send_at), else_=None)),
        func.sum(case((Message.healthcare_exempt, 1), else_=0)),
    )
    .where(
        Message.tenant_id == _TENANT,
        Message.to_phone.in_(_PHONES),
        Message.status.notin_(LIVE_EXCLUDED),
    )
    .group_by(Message.to_phone)
)
_KEY_TENANT = (
    select(Tenant)
    .join(ApiKey, ApiKey.tenant_id == Tenant.id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)
_SENDING_NUMBERS = (
    select(SendingNumber)
    .where(SendingNumber.tenant_id == _TENANT)
    .order_by(SendingNumber.created_at)
)
_BY_IDEMPOTENCY_KEY = select(Message).where(
    Message.tenant_id == _TENANT, Message.idempotency_key == bindparam("key")
)


@lru_cache(maxsize=16)
def _live_sends_statement(
    categories: bool, skip: bool, start: bool, end: bool
) -> Select[str, str, datetime, datetime, str, str | None]:
    stmt = select(
        Message.to_phone,
        Message.id,
        Message.send_at,
        Message.created_at,
        Message.category,
        Message.subject,
    ).where(
        Message.tenant_id == _TENANT,
        Message.to_phone.in_(_PHONES),
        Message.status.notin_(LIVE_EXCLUDED),
    )
    if categories:
        stmt = stmt.where(Message.category.in_(bindparam("categories", expanding=True)))
    if skip:
        stmt = stmt.where(Message.category.notin_(bindparam("skip", expanding=True)))
    if start:
        stmt = stmt.where(Message.send_at > _WINDOW_START)
    if end:
        stmt = stmt.where(Message.send_at < _WINDOW_END)
    return stmt.order_by(Message.send_at, Message.id)


class TenantScope:
    """All reads and writes of one tenant's data."""

    def __init__(self, session: Session, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    # tenant ---------------------------------------------------------------
    def tenant(self) -> Tenant:
        row = self.session.get(Tenant, self.tenant_id)
        assert row is not None
        return row

    def add(self, row: Any) -> None:
        if getattr(row, "tenant_id", None) != self.tenant_id:
            raise ValueError("row belongs to another tenant")
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    def queue_message(self, row: dict[str, Any]) -> None:
        """Queue a new message row (bulk-written, see appends); for callers that need no ORM
        object back."""
        if row.get("tenant_id") != self.tenant_id:
            raise ValueError("row belongs to another tenant")
        appends.add(self.session, MESSAGE_TABLE, row)

    @staticmethod
    def message_row(msg: Message) -> dict[str, Any]:
        return {column.key: getattr(msg, column.key) for column in MESSAGE_TABLE.columns}

    def add_event(
        self,
        message_id: str,
        status: str,
        at: datetime,
        detail: dict[str, Any] | None = None,
        *,
        provider: str | None = None,
        provider_message_id: str | None = None,
        error_code: str | None = None,
    ) -> None:
        """Queue one row of a message's history (append-only; written in bulk, see appends)."""
        appends.add(
            self.session,
            EVENT_TABLE,
            {
                "tenant_id": self.tenant_id,
                "message_id": message_id,
                "status": status,
                "provider": provider,
                "provider_message_id": provider_message_id,
                "error_code": error_code,
                "detail": detail or {},
                "at": at,
            },
        )

    # contacts ---------------------------------------------------------------
    def contact(self, phone: str) -> Contact | None:
        return self.session.execute(
            select(Contact).where(Contact.tenant_id == self.tenant_id, Contact.phone == phone)
        ).scalar_one_or_none()

    def contact_by_id(self, contact_id: str) -> Contact | None:
        return self.session.execute(
            select(Contact).where(Contact.tenant_id == self.tenant_id, Contact.id == contact_id)
        ).scalar_one_or_none()

    def lock_contact(self, phone: str) -> Contact | None:
        """Lock the contact row: a STOP and a hand-off to the same number serialise on it."""
        stmt = select(Contact).where(Contact.tenant_id == self.tenant_id, Contact.phone == phone)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return self.session.execute(stmt).scalar_one_or_none()

    def fence_claims(self, phone: str, *, marketing_only: bool = False) -> int:
        """A revocation's fence on the outbox (storage/claims.py): this number's claims not
        yet released to the carrier go back to the queue, where the re-check blocks them.
        Call it after :meth:`lock_contact`."""
        from frontdesk.storage.claims import fence_recipient

        return fence_recipient(self.session, self.tenant_id, phone, marketing_only=marketing_only)

    def fence_all_claims(self) -> int:
        """A suspension's fence (R-R-06): every unreleased claim of the tenant."""
        from frontdesk.storage.claims import fence_tenant

        return fence_tenant(self.session, self.tenant_id)

    def contacts(self, limit: int, offset: int) -> Sequence[Contact]:
        return (
            self.session.execute(
                select(Contact)
                .where(Contact.tenant_id == self.tenant_id)
                .order_by(Contact.created_at, Contact.id)
                .limit(limit)
                .offset(offset)
            )
            .scalars()
            .all()
        )

    # consent ---------------------------------------------------------------
    def consent_events(self, phone: str) -> Sequence[ConsentEventRow]:
        return (
            self.session.execute(
                select(ConsentEventRow)
                .where(ConsentEventRow.tenant_id == self.tenant_id, ConsentEventRow.phone == phone)
                .order_by(ConsentEventRow.captured_at, ConsentEventRow.recorded_at)
            )
            .scalars()
            .all()
        )

    # suppressions ------------------------------------------------------------
    def active_suppressions(self, phone: str) -> Sequence[Suppression]:
        return (
            self.session.execute(
                select(Suppression)
                .where(
                    Suppression.tenant_id == self.tenant_id,
                    Suppression.phone == phone,
                    Suppression.lifted_at.is_(None),
                )
                .order_by(Suppression.created_at)
            )
            .scalars()
            .all()
        )

    def suppressions(self, limit: int, offset: int) -> Sequence[Suppression]:
        return (
            self.session.execute(
                select(Suppression)
                .where(Suppression.tenant_id == self.tenant_id, Suppression.lifted_at.is_(None))
                .order_by(Suppression.created_at, Suppression.id)
                .limit(limit)
                .offset(offset)
            )
            .scalars()
            .all()
        )

    def count_suppressions(self) -> int:
        return int(
            self.session.execute(
                select(func.count())
                .select_from(Suppression)
                .where(Suppression.tenant_id == self.tenant_id, Suppression.lifted_at.is_(None))
            ).scalar_one()
        )

    # messages ---------------------------------------------------------------
    def message(self, message_id: str) -> Message | None:
        return self.session.execute(
            select(Message).where(Message.tenant_id == self.tenant_id, Message.id == message_id)
        ).scalar_one_or_none()

    def message_by_idempotency_key(self, key: str) -> Message | None:
        return self.session.execute(
            _BY_IDEMPOTENCY_KEY, {"tenant": self.tenant_id, "key": key}
        ).scalar_one_or_none()

    def messages(
        self, *, to: str | None, status: str | None, since: datetime | None, limit: int, offset: int
    ) -> Sequence[Message]:
        stmt = select(Message).where(Message.tenant_id == self.tenant_id)
        if to is not None:
            stmt = stmt.where(Message.to_phone == to)
        if status is not None:
            stmt = stmt.where(Message.status == status)
        if since is not None:
            stmt = stmt.where(Message.created_at >= since)
        stmt = stmt.order_by(Message.created_at.desc(), Message.id).limit(limit).offset(offset)
        return self.session.execute(stmt).scalars().all()

    def pending_messages_to(self, phone: str) -> Sequence[Message]:
        return (
            self.session.execute(
                select(Message).where(
                    Message.tenant_id == self.tenant_id,
                    Message.to_phone == phone,
                    Message.status.in_(("scheduled", "queued")),
                )
            )
            .scalars()
            .all()
        )

    def has_outbound_to(self, phone: str, exclude_id: str | None = None) -> bool:
        """True when an earlier message to this number was accepted (first-message rules)."""
        stmt = select(Message.id).where(
            Message.tenant_id == self.tenant_id,
            Message.to_phone == phone,
            Message.status.notin_(LIVE_EXCLUDED),
        )
        if exclude_id is not None:
            stmt = stmt.where(Message.id != exclude_id)
        return self.session.execute(stmt.limit(1)).first() is not None

    def _exempt_between(self, start: datetime, end: datetime) -> tuple[Any, ...]:
        """This tenant's live messages sent under the healthcare exemption (R-C-07) with
        ``send_at`` strictly inside (``start``, ``end``)."""
        return (
            Message.tenant_id == self.tenant_id,
            Message.status.notin_(LIVE_EXCLUDED),
            Message.healthcare_exempt,
            Message.send_at > start,
            Message.send_at < end,
        )

    def exempt_sends(
        self, phone: str, start: datetime, end: datetime, exclude_id: str | None = None
    ) -> list[datetime]:
        """``send_at`` of live messages to this number sent under the healthcare exemption
        (R-C-07) strictly inside (``start``, ``end``), in order."""
        stmt = select(Message.send_at).where(
            *self._exempt_between(start, end), Message.to_phone == phone
        )
        if exclude_id is not None:
            stmt = stmt.where(Message.id != exclude_id)
        return list(self.session.execute(stmt.order_by(Message.send_at)).scalars())

    def exempt_sends_for(
        self, phones: Collection[str], start: datetime, end: datetime
    ) -> list[tuple[str, str, datetime]]:
        """(phone, id, send_at) of :meth:`exempt_sends` for many numbers."""
        out: list[tuple[str, str, datetime]] = []
        for chunk in self._chunks(phones):
            stmt = select(Message.to_phone, Message.id, Message.send_at).where(
                *self._exempt_between(start, end), Message.to_phone.in_(chunk)
            )
            out += [(p, i, at) for p, i, at in self.session.execute(stmt)]
        return out

    def last_opt_out_notice(self, phone: str) -> datetime | None:
        """``send_at`` of the latest live message to this number that said how to opt
        out (R-K-08 monthly re-notice); None when none did."""
        stmt = select(func.max(Message.send_at)).where(
            Message.tenant_id == self.tenant_id,
            Message.to_phone == phone,
            Message.status.notin_(LIVE_EXCLUDED),
            Message.opt_out_notice,
        )
        return self.session.execute(stmt).scalar_one_or_none()

    def confirmations_since(
        self, phone: str, since: datetime, exclude_id: str | None = None
    ) -> int:
        stmt = (
            select(func.count())
            .select_from(Message)
            .where(
                Message.tenant_id == self.tenant_id,
                Message.to_phone == phone,
                Message.category == "opt_out_confirmation",
                Message.status.notin_(LIVE_EXCLUDED),
                Message.created_at >= since,
            )
        )
        if exclude_id is not None:
            stmt = stmt.where(Message.id != exclude_id)
        return int(self.session.execute(stmt).scalar_one())

    def sends_around(
        self,
        phone: str,
        start: datetime,
        end: datetime,
        exclude_id: str | None = None,
        *,
        skip_categories: Collection[str] = (),
    ) -> Sequence[tuple[datetime, str, str | None]]:
        """(send_at, category, subject) of live messages to a number in a time range.

        ``skip_categories`` leaves out categories the caller does not count (the
        frequency caps ignore conversational and compliance replies, R-Q-04): what
        remains is bounded by the cap, so a number with thousands of replies in a
        day no longer returns them all on every send (issue 4).
        """
        stmt = select(Message.send_at, Message.category, Message.subject).where(
            Message.tenant_id == self.tenant_id,
            Message.to_phone == phone,
            Message.status.notin_(LIVE_EXCLUDED),
            Message.send_at > start,
            Message.send_at < end,
        )
        if skip_categories:
            stmt = stmt.where(Message.category.notin_(tuple(skip_categories)))
        if exclude_id is not None:
            stmt = stmt.where(Message.id != exclude_id)
        stmt = stmt.order_by(Message.send_at, Message.id)
        return [(r[0], r[1], r[2]) for r in self.session.execute(stmt)]

    # batch reads for many recipients at once (issue 4) ---------------------------------
    def _chunks(self, phones: Collection[str]) -> Iterator[list[str]]:
        ordered = sorted(set(phones))
        for i in range(0, len(ordered), IN_CHUNK):
            yield ordered[i : i + IN_CHUNK]

    def active_suppressions_for(self, phones: Collection[str]) -> Sequence[Suppression]:
        """Active suppressions of many numbers, each number's in ``created_at`` order."""
        out: list[Suppression] = []
        for chunk in self._chunks(phones):
            out += self.session.execute(
                _SUPPRESSIONS_FOR, {"tenant": self.tenant_id, "phones": chunk}
            ).scalars()
        return out

    def consent_events_for(self, phones: Collection[str]) -> Sequence[Row[Any]]:
        """Consent ledger rows of many numbers, in the order :meth:`consent_events` uses.

        Only the columns the consent fold reads (not the evidence): rows, not
        entities, so thousands of them cost no identity-map work."""
        out: list[Row[Any]] = []
        for chunk in self._chunks(phones):
            out += self.session.execute(
                _CONSENT_EVENTS_FOR, {"tenant": self.tenant_id, "phones": chunk}
            ).all()
        return out

    def contacts_for(self, phones: Collection[str]) -> Sequence[Row[Any]]:
        """(phone, state, postal_code, timezone, last_inbound_at) of many contacts."""
        out: list[Any] = []
        for chunk in self._chunks(phones):
            out += self.session.execute(
                _CONTACTS_FOR, {"tenant": self.tenant_id, "phones": chunk}
            ).all()
        return out

    def phones_under_review(self, phones: Collection[str]) -> set[str]:
        out: set[str] = set()
        for chunk in self._chunks(phones):
            out.update(
                self.session.execute(
                    _UNDER_REVIEW_FOR, {"tenant": self.tenant_id, "phones": chunk}
                ).scalars()
            )
        return out

    def live_counts_for(
        self,
        phones: Collection[str],
        *,
        skip_categories: Collection[str],
        start: datetime,
        end: datetime,
        confirmation: str,
    ) -> dict[str, LiveCounts]:
        """Per number: its live messages (count, smallest and largest id: enough to
        answer :meth:`has_outbound_to` with or without one excluded id), how many of
        them are not in ``skip_categories`` with ``send_at`` strictly inside
        (``start``, ``end``), how many are of the ``confirmation`` category, and the
        latest ``send_at`` of those that said how to opt out (R-K-08).

        One aggregate query, no rows: the batch facts read a number's send history
        only when these counts say it could reach a cap (issue 4)."""
        out: dict[str, LiveCounts] = {}
        params: dict[str, Any] = {
            "tenant": self.tenant_id,
            "skip": list(skip_categories),
            "start": start,
            "end": end,
            "confirmation": confirmation,
        }
        for chunk in self._chunks(phones):
            params["phones"] = chunk
            for phone, count, low, high, windowed, confirms, notice, exempt in self.session.execute(
                _LIVE_COUNTS_FOR, params
            ):
                out[phone] = LiveCounts(
                    int(count),
                    low,
                    high,
                    int(windowed or 0),
                    int(confirms or 0),
                    notice,
                    int(exempt or 0),
                )
        return out

    def live_sends_for(
        self,
        phones: Collection[str],
        *,
        categories: Collection[str] | None = None,
        skip_categories: Collection[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Sequence[tuple[str, str, datetime, datetime, str, str | None]]:
        """(phone, id, send_at, created_at, category, subject) of live messages to many
        numbers, optionally limited to categories and an open ``send_at`` range."""
        stmt = _live_sends_statement(
            categories is not None, bool(skip_categories), start is not None, end is not None
        )
        params: dict[str, Any] = {
            "tenant": self.tenant_id,
            "categories": list(categories or ()),
            "skip": list(skip_categories),
            "start": start,
            "end": end,
        }
        out: list[tuple[str, str, datetime, datetime, str, str | None]] = []
        for chunk in self._chunks(phones):
            params["phones"] = chunk
            out += [
                (r[0], r[1], r[2], r[3], r[4], r[5]) for r in self.session.execute(stmt, params)
            ]
        return out

    def message_events(self, message_id: str) -> Sequence[MessageEvent]:
        return (
            self.session.execute(
                select(MessageEvent)
                .where(
                    MessageEvent.tenant_id == self.tenant_id, MessageEvent.message_id == message_id
                )
                .order_by(MessageEvent.at, MessageEvent.id)
            )
            .scalars()
            .all()
        )

    # inbound and reviews -------------------------------------------------------
    def inbound_by_provider_id(
        self, provider: str, provider_message_id: str
    ) -> InboundMessage | None:
        return self.session.execute(
            select(InboundMessage).where(
                InboundMessage.tenant_id == self.tenant_id,
                InboundMessage.provider == provider,
                InboundMessage.provider_message_id == provider_message_id,
            )
        ).scalar_one_or_none()

    def pending_reviews(self, phone: str) -> Sequence[Review]:
        return (
            self.session.execute(
                select(Review).where(
                    Review.tenant_id == self.tenant_id,
                    Review.phone == phone,
                    Review.status == "pending",
                )
            )
            .scalars()
            .all()
        )

    def review(self, review_id: str) -> Review | None:
        return self.session.execute(
            select(Review).where(Review.tenant_id == self.tenant_id, Review.id == review_id)
        ).scalar_one_or_none()

    # numbers ---------------------------------------------------------------
    def sending_numbers(self) -> Sequence[SendingNumber]:
        return self.session.execute(_SENDING_NUMBERS, {"tenant": self.tenant_id}).scalars().all()

    # audit ---------------------------------------------------------------
    def audit(
        self, at: datetime, actor: str, action: str, subject: str | None, data: dict[str, Any]
    ) -> None:
        audit.append(self.session, self.tenant_id, at, actor, action, subject, data)

    def audit_entries(
        self, since: datetime | None, limit: int, offset: int
    ) -> Sequence[AuditEntry]:
        stmt = select(AuditEntry).where(AuditEntry.tenant_id == self.tenant_id)
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= since)
        return (
            self.session.execute(stmt.order_by(AuditEntry.seq).limit(limit).offset(offset))
            .scalars()
            .all()
        )

    def verify_audit(self) -> Verification:
        return audit.verify(self.session, self.tenant_id)


class UnitOfWork:
    """One transaction. ``commit`` is called by the edge, never by a service."""

    def __init__(self, db: Database, *, write: bool = True) -> None:
        self._factory = db.sessionmaker(write=write)
        self.dialect = db.dialect
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def tenant(self, tenant_id: str) -> TenantScope:
        return TenantScope(self.session, tenant_id)

    # platform-level lookups (no tenant yet) ------------------------------------------
    def tenant_row(self, tenant_id: str) -> Tenant | None:
        return self.session.get(Tenant, tenant_id)

    def add_tenant(self, row: Tenant) -> None:
        self.session.add(row)

    def tenant_for_key_hash(self, key_hash: str) -> Tenant | None:
        return self.session.execute(_KEY_TENANT, {"key_hash": key_hash}).scalar_one_or_none()

    def tenant_for_number(self, number: str) -> Tenant | None:
        return self.session.execute(
            select(Tenant)
            .join(SendingNumber, SendingNumber.tenant_id == Tenant.id)
            .where(SendingNumber.number == number)
        ).scalar_one_or_none()

    def tenant_count(self) -> int:
        return int(self.session.execute(select(func.count()).select_from(Tenant)).scalar_one())

    def ping(self) -> None:
        self.session.execute(text("SELECT 1"))

    def message_by_provider_id(self, provider: str, provider_message_id: str) -> Message | None:
        return self.session.execute(
            select(Message).where(
                Message.provider == provider, Message.provider_message_id == provider_message_id
            )
        ).scalar_one_or_none()

    def expired_reviews(self, now: datetime) -> Sequence[Review]:
        return (
            self.session.execute(
                select(Review).where(Review.status == "pending", Review.deadline <= now)
            )
            .scalars()
            .all()
        )

    def touch_contact(self, tenant_id: str, phone: str, now: datetime) -> None:
        self.session.execute(
            update(Contact)
            .where(Contact.tenant_id == tenant_id, Contact.phone == phone)
            .values(version=Contact.version + 1, updated_at=now)
        )
