"""Per-transaction memos: facts read once per transaction instead of once per message.

Why this is safe (issue 4): a value memoised here lives only until the current
transaction ends. On SQLite the transaction holds the database write lock from
``BEGIN IMMEDIATE``, and on PostgreSQL every memo has its own lock discipline
(the audit chain head is read under ``pg_advisory_xact_lock``), so no other
transaction can change what was read. Changes made *inside* the transaction are
caught by the listeners below:

* any rollback (a savepoint's too) drops every memo: rows it saw may be gone;
* a flush that writes, or a ``session.add`` of, a tenant-level row (tenant,
  sending number, brand, campaign, policy acceptance) drops the tenant-level
  memos, so a number linked or a policy accepted earlier in the same
  transaction is seen by the next decision.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from frontdesk.storage.models import Brand, Campaign, PolicyAcceptance, SendingNumber, Tenant

_KEY = "frontdesk.txmemo"
TENANT_LEVEL = (Tenant, SendingNumber, Brand, Campaign, PolicyAcceptance)


def memo(session: Session, name: str) -> dict[Any, Any]:
    """The memo ``name`` for the session's current (root) transaction, created on first use.

    Before the transaction begins there is nothing to key on: the caller gets a
    throw-away dict (a miss next time, never a value from an earlier transaction).
    """
    txn = session.get_transaction()
    if txn is None:  # no transaction yet: nothing read now may outlive the one about to begin
        return {}
    held = session.info.get(_KEY)
    if held is None or held[0] is not txn:
        held = (txn, {})
        session.info[_KEY] = held
    memos: dict[str, dict[Any, Any]] = held[1]
    found = memos.get(name)
    if found is None:
        found = memos[name] = {}
    return found


def drop_tenant_level(session: Session) -> None:
    held = session.info.get(_KEY)
    if held is not None:
        held[1].pop("tenant_facts", None)


def drop_all(session: Session) -> None:
    session.info.pop(_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _on_rollback(session: Session, previous_transaction: Any) -> None:
    drop_all(session)


@event.listens_for(Session, "after_flush")
def _on_flush(session: Session, flush_context: Any) -> None:
    if _KEY not in session.info:
        return
    for group in (session.new, session.dirty, session.deleted):
        if any(isinstance(obj, TENANT_LEVEL) for obj in group):
            drop_tenant_level(session)
            return


@event.listens_for(Session, "before_attach")
def _on_attach(session: Session, instance: object) -> None:
    if isinstance(instance, TENANT_LEVEL):
        drop_tenant_level(session)
