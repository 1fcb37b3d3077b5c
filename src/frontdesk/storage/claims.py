"""The hot SQL of delivery in one reviewable place: claim due messages, guard their caps.

The claim runs inside the same transaction as the re-check and the hand-off, so a
crash before commit leaves every claimed row ``queued`` for the next worker, and
duplicates to the carrier are bounded by the claim size (design.md, guarantee 2).

On SQLite ``BEGIN IMMEDIATE`` serialises every writer, so the counts behind the
caps are exact. On PostgreSQL many workers claim at once under READ COMMITTED,
where two transactions can both count "room under the cap" and both send. The
claim therefore also takes, without ever waiting:

* the message rows (``FOR UPDATE SKIP LOCKED``): disjoint batches;
* a transaction advisory lock per sending number whose tenant caps it (R-R-04
  ``number_mps``): its hand-offs are counted by one transaction at a time; an
  uncapped number's backlog is shared by all workers;
* a transaction advisory lock per (tenant, recipient) and the contact row
  (``FOR UPDATE SKIP LOCKED``): R-Q-03/R-Q-04 frequency caps and the consent
  re-check see every earlier hand-off to that person, and a STOP being written
  (which locks the contact row) is never raced (R-FCC-02, guarantee 1).

A worker fills its batch number by number (the longest-waiting first), taking a
capped number's lock before its rows, so N workers spread over the numbers; a
number another worker holds is skipped. Tenant-wide caps (campaign, brand per
day) are serialised by the hand-off itself (storage/throughput.py); claimed rows
come back grouped by tenant so those locks are taken in one order everywhere.
A message whose recipient is held elsewhere is left for the next round and its
row lock released at once (the claim runs in a savepoint that is rolled back and
retried without it), so the worker never holds a row it does not process and
never waits on a lock while holding one: no deadlock with a STOP that cancels
scheduled messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    func,
    inspect,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Integer, Text

from frontdesk.domain import throttle
from frontdesk.storage import appends
from frontdesk.storage.models import Contact, Message, Tenant

DUE_STATUSES = ("queued", "scheduled")
LOCK_NUMBER = 0x46440001
LOCK_RECIPIENT = 0x46440002
GUARD_PASSES = 4
MESSAGES = cast(Table, Message.__table__)


@dataclass(frozen=True)
class Candidate:
    id: str
    tenant_id: str
    to_phone: str
    from_phone: str | None


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(Message.status.in_(DUE_STATUSES), Message.send_at <= now)


def _recipient_key(tenant_id: str, phone: str) -> str:
    return f"{tenant_id}:{phone}"


def try_advisory_locks(session: Session, keys: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Try transaction advisory locks ``(namespace, hashtext(key))``; return those obtained.

    Never waits. Locks last until the transaction (or the enclosing savepoint) ends.
    A hash collision only makes an unrelated key wait one round.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    stmt = text(
        "SELECT k.ns, k.key, pg_try_advisory_xact_lock(k.ns, hashtext(k.key)) AS got "
        "FROM unnest(:ns, :keys) AS k(ns, key)"
    ).bindparams(
        bindparam("ns", type_=ARRAY(Integer)),
        bindparam("keys", type_=ARRAY(Text)),
    )
    rows = session.execute(
        stmt, {"ns": [ns for ns, _ in wanted], "keys": [key for _, key in wanted]}
    ).all()
    return {(int(r.ns), str(r.key)) for r in rows if r.got}


def _lock_contacts(
    session: Session, pairs: set[tuple[str, str]]
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Lock the existing contact rows without waiting: (locked, existing-but-busy)."""
    if not pairs:
        return set(), set()
    match = tuple_(Contact.tenant_id, Contact.phone).in_(sorted(pairs))
    existing = {
        (t, p) for t, p in session.execute(select(Contact.tenant_id, Contact.phone).where(match))
    }
    locked = {
        (t, p)
        for t, p in session.execute(
            select(Contact.tenant_id, Contact.phone)
            .where(match)
            .order_by(Contact.tenant_id, Contact.phone)
            .with_for_update(skip_locked=True)
        )
    }
    return locked, existing - locked


@dataclass
class Busy:
    """Sending numbers and recipients another transaction holds: skipped by the next pass."""

    numbers: set[str] = field(default_factory=set)
    recipients: set[tuple[str, str]] = field(default_factory=set)


def _guard_recipients(
    session: Session, candidates: Sequence[Candidate], busy: Busy
) -> list[Candidate]:
    """Keep the candidates whose recipient (advisory lock, contact row) this transaction holds."""
    recipients = {(c.tenant_id, c.to_phone) for c in candidates}
    held = try_advisory_locks(
        session, ((LOCK_RECIPIENT, _recipient_key(t, p)) for t, p in recipients)
    )
    _, busy_contacts = _lock_contacts(session, recipients)
    kept = []
    for c in candidates:
        recipient = (c.tenant_id, c.to_phone)
        if (LOCK_RECIPIENT, _recipient_key(*recipient)) in held and recipient not in busy_contacts:
            kept.append(c)
        else:
            busy.recipients.add(recipient)
    return kept


def number_capped(settings: Mapping[str, Any] | None) -> bool:
    """True when the tenant caps each sending number (R-R-04 ``number_mps``)."""
    return throttle.Limits.from_settings(settings).per_number is not None


def _due_numbers(
    session: Session, now: datetime, limit: int, busy: Busy
) -> list[tuple[str | None, bool]]:
    """Sending numbers with due messages, the longest-waiting first, and whether each is capped.

    ``None`` stands for messages without a sending number.
    """
    stmt = select(Message.from_phone, func.min(Message.tenant_id)).where(_due(now))
    if busy.numbers:
        stmt = stmt.where(
            or_(Message.from_phone.is_(None), Message.from_phone.notin_(sorted(busy.numbers)))
        )
    stmt = stmt.group_by(Message.from_phone).order_by(func.min(Message.send_at)).limit(limit)
    rows = session.execute(stmt).all()
    if not rows:
        return []
    settings: dict[str, Mapping[str, Any] | None] = dict(
        session.execute(
            select(Tenant.id, Tenant.settings).where(Tenant.id.in_({t for _, t in rows}))
        ).all()
    )
    return [(n, n is not None and number_capped(settings.get(t))) for n, t in rows]


def _candidates(
    session: Session, now: datetime, limit: int, number: str | None, busy: Busy
) -> list[Candidate]:
    stmt = select(Message.id, Message.tenant_id, Message.to_phone, Message.from_phone).where(
        _due(now),
        Message.from_phone.is_(None) if number is None else Message.from_phone == number,
    )
    if busy.recipients:
        stmt = stmt.where(
            tuple_(Message.tenant_id, Message.to_phone).notin_(sorted(busy.recipients))
        )
    stmt = (
        stmt.order_by(Message.send_at, Message.id)
        .limit(limit)
        .with_for_update(of=Message, skip_locked=True)
    )
    return [Candidate(r.id, r.tenant_id, r.to_phone, r.from_phone) for r in session.execute(stmt)]


def _pick(session: Session, now: datetime, limit: int, busy: Busy) -> list[Candidate]:
    """Fill the batch number by number, longest-waiting first.

    A capped number is taken whole, its lock before its rows, so N workers spread
    over the numbers instead of one batch locking all of them. An uncapped
    number needs no lock: workers share its backlog through SKIP LOCKED.
    """
    picked: list[Candidate] = []
    for number, capped in _due_numbers(session, now, limit, busy):
        if capped and not try_advisory_locks(session, [(LOCK_NUMBER, str(number))]):
            busy.numbers.add(str(number))
            continue
        picked += _candidates(session, now, limit - len(picked), number, busy)
        if len(picked) >= limit:
            break
    return picked


def _claim_ids_postgres(session: Session, now: datetime, limit: int) -> list[str]:
    """Claim in a savepoint; if a recipient is busy, roll back and claim around it.

    The rollback releases every row and lock the pass took, so nothing is held
    for a message this worker will not process.
    """
    busy = Busy()
    for _ in range(GUARD_PASSES):
        savepoint = session.begin_nested()
        picked = _pick(session, now, limit, busy)
        kept = _guard_recipients(session, picked, busy)
        if len(kept) == len(picked):
            savepoint.commit()
            return [c.id for c in kept]
        savepoint.rollback()
    return []


def _claim_ids_sqlite(session: Session, now: datetime, limit: int) -> list[str]:
    """The ``limit`` longest-waiting due messages, one index range per status.

    ``status IN (...) ORDER BY send_at`` makes SQLite read and sort every due row
    on every claim (15 ms per claim with a 100,000-message backlog); each status
    alone is one ordered range of ``ix_messages_due`` (0.05 ms), and merging the
    two heads gives the same order."""
    heads: list[tuple[datetime, str]] = []
    for status in DUE_STATUSES:
        for send_at, message_id in session.execute(
            _DUE_HEAD, {"status": status, "now": now, "limit": limit}
        ):
            heads.append((send_at, message_id))
    heads.sort()
    return [message_id for _, message_id in heads[:limit]]


_DUE_HEAD = (
    select(Message.send_at, Message.id)
    .where(
        Message.status == bindparam("status"),
        Message.send_at <= bindparam("now", type_=Message.send_at.type),
    )
    .order_by(Message.send_at, Message.id)
    .limit(bindparam("limit"))
)


def _claim(session: Session, now: datetime, limit: int, *, mark: bool) -> list[str]:
    if session.get_bind().dialect.name == "postgresql":
        ids = _claim_ids_postgres(session, now, limit)
    else:
        ids = _claim_ids_sqlite(session, now, limit)
    if ids and mark:
        session.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(status="sending", attempts=Message.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


@dataclass(slots=True)
class Claimed:
    """A claimed message as the hand-off reads it: its columns, no ORM object (issue 4).

    The hand-off writes its outcome back through :class:`MessageUpdates`; the rare
    outcome that needs the full row (a carrier failure) loads it with
    :func:`load_message`.
    """

    id: str
    tenant_id: str
    to_phone: str
    from_phone: str | None
    body: str
    media_urls: list[Any] | None
    category: str
    subject: str | None
    send_at: datetime
    appointment_starts_at: datetime | None
    revocation_at: datetime | None
    attempts: int
    provider: str | None
    error_code: str | None
    healthcare_exempt: bool


_CLAIMED_COLUMNS = [MESSAGES.c[name] for name in Claimed.__dataclass_fields__]


def claim_due_rows(
    session: Session, now: datetime, limit: int, writes: MessageUpdates | None = None
) -> list[Claimed]:
    """Claim up to ``limit`` due messages for this transaction and mark them ``sending``
    (one more attempt).

    The oldest due messages are claimed; they come back grouped by tenant (oldest
    first within a tenant), so locks the hand-off takes per tenant (campaign and
    brand caps, the audit chain) are taken in the same order by every worker and
    cannot deadlock between workers. Rows, not ORM objects (see :class:`Claimed`).

    On SQLite, given the batch's ``writes``, the marking is queued there instead of
    written at once, so it reaches each row together with the hand-off's own update:
    one row update per message, not two (issue 4). That is safe there because the
    claim, the re-check and the hand-off are one transaction holding the only write
    lock, and nothing in it tells ``queued`` from ``sending`` before the updates are
    written (both are live to the facts; a path that loads a full row writes the
    queued updates first). PostgreSQL marks the rows at once, as before.
    """
    mark = writes is None or session.get_bind().dialect.name == "postgresql"
    ids = _claim(session, now, limit, mark=mark)
    if not ids:
        return []
    c = MESSAGES.c
    rows = [
        Claimed(*row)
        for row in session.execute(
            select(*_CLAIMED_COLUMNS).where(c.id.in_(ids)).order_by(c.tenant_id, c.send_at, c.id)
        )
    ]
    if not mark and writes is not None:
        for row in rows:
            row.attempts += 1
            writes.set(row.id, status="sending", attempts=row.attempts, updated_at=now)
    return rows


def load_message(session: Session, message_id: str) -> Message:
    """The full row, read afresh (what the session held may predate a bulk update)."""
    msg = session.get(Message, message_id, populate_existing=True)
    assert msg is not None
    return msg


def loaded_messages(session: Session) -> dict[str, Message]:
    """The messages the session holds, by id (read from the identity, never loaded)."""
    out: dict[str, Message] = {}
    for obj in session.identity_map.values():
        if isinstance(obj, Message):
            identity = inspect(obj).identity
            if identity is not None:
                out[str(identity[0])] = obj
    return out


class MessageUpdates:
    """Column values for message rows, written with one ``executemany`` per column set.

    Rows loaded into the session are flushed before and expired after the write,
    so no ORM object is left stale.
    """

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Any]] = {}

    def __bool__(self) -> bool:
        return bool(self._rows)

    def discard(self, message_id: str) -> None:
        self._rows.pop(message_id, None)

    def set(self, message_id: str, **values: Any) -> None:
        row = self._rows.get(message_id)
        if row is None:
            self._rows[message_id] = values
        else:
            row.update(values)

    def write(self, session: Session) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, {}
        loaded = [obj for mid, obj in loaded_messages(session).items() if mid in rows]
        if loaded:
            session.flush()
        appends.update_by_id(session, MESSAGES, rows)
        for obj in loaded:
            session.expire(obj)


def next_due_at(session: Session) -> datetime | None:
    """The earliest ``send_at`` waiting, one index look-up per status (see the claim)."""
    found = [
        session.execute(
            select(func.min(Message.send_at)).where(Message.status == status)
        ).scalar_one_or_none()
        for status in DUE_STATUSES
    ]
    times = [t for t in found if t is not None]
    return min(times) if times else None


# --- the outbox: claims released to the carrier outside any transaction (issue 12) ------
#
# A claimed message is ``sending`` with its claim's ``claim_token`` and ``released_at``
# NULL. Just before its network write the dispatcher *releases* it with a
# compare-and-set (:func:`release`): only rows still carrying the token and not
# released are released. A revocation (STOP, a suppression, a tenant suspended) *fences*
# the recipient's unreleased claims in its own transaction (:func:`fence_recipient`,
# :func:`fence_tenant`): they go back to ``queued``, so the next hand-off's re-check
# blocks them with the revocation's own reason. Both statements write the same message
# rows, so the database orders them: a release that commits first was handed off before
# the revocation; a fence that commits first leaves nothing to release. No message is
# handed to a carrier after the revocation that forbids it has committed.


def _fenced_values() -> dict[str, Any]:
    return {
        "status": "queued",
        "attempts": Message.attempts - 1,
        "claim_token": None,
        "claimed_at": None,
        "handed_off_at": None,
    }


def _unreleased(ids: Sequence[str], token: str) -> ColumnElement[bool]:
    """Rows among ``ids`` still claimed by ``token`` and not released to the carrier."""
    return and_(
        Message.id.in_(ids),
        Message.claim_token == token,
        Message.status == "sending",
        Message.released_at.is_(None),
    )


def release(session: Session, ids: Sequence[str], token: str, now: datetime) -> set[str]:
    """Compare-and-set: release the claims still held by ``token``; the ids released."""
    released: set[str] = set()
    for chunk in _chunked(ids):
        rows = session.execute(
            update(Message)
            .where(_unreleased(chunk, token))
            .values(released_at=now)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
        released.update(str(r[0]) for r in rows)
    return released


def unclaim(session: Session, ids: Sequence[str], token: str, send_at: datetime) -> int:
    """Give claims back unsent (an account paused by its carrier): ``queued`` at ``send_at``."""
    count = 0
    for chunk in _chunked(ids):
        result = session.execute(
            update(Message)
            .where(_unreleased(chunk, token))
            .values(**_fenced_values(), send_at=send_at)
            .execution_options(synchronize_session=False)
        )
        count += int(getattr(result, "rowcount", 0) or 0)
    return count


def fence_recipient(
    session: Session, tenant_id: str, phone: str, *, marketing_only: bool = False
) -> int:
    """A revocation's fence: unreleased claims to ``phone`` go back to ``queued``.

    Call after the recipient's contact lock (the order a hand-off takes), inside the
    revocation's transaction. Returns how many claims were fenced.
    """
    where = [Message.tenant_id == tenant_id, Message.to_phone == phone]
    if marketing_only:
        where.append(Message.category == "marketing")
    return _fence(session, where)


def fence_tenant(session: Session, tenant_id: str) -> int:
    """A suspension's fence (R-R-06): every unreleased claim of the tenant is fenced."""
    return _fence(session, [Message.tenant_id == tenant_id])


def _fence(session: Session, where: list[ColumnElement[bool]]) -> int:
    result = session.execute(
        update(Message)
        .where(
            *where,
            Message.status == "sending",
            Message.claim_token.is_not(None),
            Message.released_at.is_(None),
        )
        .values(**_fenced_values())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class StaleClaim:
    id: str
    tenant_id: str
    token: str
    released: bool


def stale_claims(
    session: Session,
    claimed_before: datetime,
    *,
    except_prefix: str | None = None,
    limit: int = 500,
) -> list[StaleClaim]:
    """Claims older than ``claimed_before`` whose outcome was never written (a worker
    died between claim and outcome), skipping the tokens of a live worker's prefix."""
    c = MESSAGES.c
    stmt = (
        select(c.id, c.tenant_id, c.claim_token, c.released_at)
        .where(
            c.claim_token.is_not(None),
            c.status == "sending",
            c.claimed_at <= claimed_before,
        )
        .order_by(c.claimed_at)
        .limit(limit)
    )
    if except_prefix is not None:
        stmt = stmt.where(~c.claim_token.startswith(except_prefix))
    return [
        StaleClaim(str(r.id), str(r.tenant_id), str(r.claim_token), r.released_at is not None)
        for r in session.execute(stmt)
    ]


def _chunked(ids: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    items = list(ids)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def held_by_claim(session: Session, pairs: Sequence[tuple[str, str]]) -> set[str]:
    """The ids among ``(id, token)`` whose row still carries that claim's token."""
    wanted = dict(pairs)
    held: set[str] = set()
    for chunk in _chunked(list(wanted)):
        for mid, token in session.execute(
            select(Message.id, Message.claim_token).where(Message.id.in_(chunk))
        ):
            if token is not None and wanted.get(str(mid)) == token:
                held.add(str(mid))
    return held


def recipients_in_flight(session: Session) -> set[tuple[str, str]]:
    """(tenant, recipient) pairs with a claim whose outcome is not written yet."""
    c = MESSAGES.c
    return {
        (str(t), str(p))
        for t, p in session.execute(
            select(c.tenant_id, c.to_phone).where(c.claim_token.is_not(None)).distinct()
        )
    }


def put_back(session: Session, ids: Sequence[str]) -> None:
    """Undo the claim's marking of rows it will not hand off this round (PostgreSQL marks
    at claim time): ``queued`` again, the attempt not counted."""
    for chunk in _chunked(ids):
        session.execute(
            update(Message)
            .where(Message.id.in_(chunk))
            .values(status="queued", attempts=Message.attempts - 1)
            .execution_options(synchronize_session=False)
        )
