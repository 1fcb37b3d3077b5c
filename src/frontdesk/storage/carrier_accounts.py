"""Queries of carrier accounts, and the encryption of their secrets at rest.

Tenant-scoped by construction: every function that takes a :class:`TenantScope`
filters on its ``tenant_id`` itself. The platform-wide reads at the bottom take a
:class:`UnitOfWork`: the delivery worker and the webhook edge need every tenant's
accounts before any tenant is known (which account sends this message, which token
signed this webhook), and key rotation re-seals every row.

Sealing and opening happen here and nowhere else, so a ciphertext never travels above
storage and a plaintext secret never reaches a row: each secret is sealed with
associated data naming its table, column and row id (:func:`_aad`), so a ciphertext
copied into another row — another tenant's — does not open.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from frontdesk.secrets_box import Sealed, SecretBox, SecretBoxError
from frontdesk.storage.models import CarrierAccount, SendingNumber
from frontdesk.storage.uow import TenantScope, UnitOfWork

log = logging.getLogger("frontdesk.storage.carrier_accounts")


def _aad(account_id: str) -> bytes:
    return f"carrier_accounts.secret_ciphertext:{account_id}".encode()


def _mine(scope: TenantScope, row: CarrierAccount) -> None:
    if row.tenant_id != scope.tenant_id:
        raise ValueError("row belongs to another tenant")


# --------------------------------------------------------------------------- tenant scope


def add(
    scope: TenantScope,
    box: SecretBox,
    *,
    account_id: str,
    provider: str,
    label: str,
    config: dict[str, Any],
    secret: str,
    now: datetime,
) -> CarrierAccount:
    """A new account of this tenant, its secret sealed under the box's current key."""
    sealed = box.seal_text(secret, _aad(account_id))
    row = CarrierAccount(
        id=account_id,
        tenant_id=scope.tenant_id,
        provider=provider,
        label=label,
        config=config,
        secret_ciphertext=sealed.ciphertext,
        secret_key_id=sealed.key_id,
        created_at=now,
        updated_at=now,
        disabled_at=None,
    )
    scope.add(row)
    return row


def account(scope: TenantScope, account_id: str) -> CarrierAccount | None:
    return scope.session.execute(
        select(CarrierAccount).where(
            CarrierAccount.tenant_id == scope.tenant_id, CarrierAccount.id == account_id
        )
    ).scalar_one_or_none()


def accounts(scope: TenantScope, limit: int, offset: int) -> Sequence[CarrierAccount]:
    """This tenant's accounts, disabled ones included, oldest first."""
    return (
        scope.session.execute(
            select(CarrierAccount)
            .where(CarrierAccount.tenant_id == scope.tenant_id)
            .order_by(CarrierAccount.created_at, CarrierAccount.id)
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )


def set_secret(
    scope: TenantScope, box: SecretBox, row: CarrierAccount, secret: str, now: datetime
) -> None:
    """Replace the account's secret (a rotated auth token), sealed under the current key."""
    _mine(scope, row)
    sealed = box.seal_text(secret, _aad(row.id))
    row.secret_ciphertext = sealed.ciphertext
    row.secret_key_id = sealed.key_id
    row.updated_at = now


def secret_of(box: SecretBox, row: CarrierAccount) -> str:
    """The account's secret in clear; raises :class:`SecretBoxError` when it cannot open."""
    return box.open_text(Sealed(row.secret_key_id, row.secret_ciphertext), _aad(row.id))


def numbers_of(scope: TenantScope, account_id: str) -> Sequence[SendingNumber]:
    """This tenant's sending numbers that send through the account."""
    return (
        scope.session.execute(
            select(SendingNumber)
            .where(
                SendingNumber.tenant_id == scope.tenant_id,
                SendingNumber.carrier_account_id == account_id,
            )
            .order_by(SendingNumber.created_at, SendingNumber.number)
        )
        .scalars()
        .all()
    )


def linked_numbers(scope: TenantScope) -> dict[str, list[str]]:
    """Account id → the numbers (E.164) that send through it, for this tenant; one query."""
    out: dict[str, list[str]] = {}
    rows = scope.session.execute(
        select(SendingNumber.carrier_account_id, SendingNumber.number)
        .where(
            SendingNumber.tenant_id == scope.tenant_id,
            SendingNumber.carrier_account_id.is_not(None),
        )
        .order_by(SendingNumber.created_at, SendingNumber.number)
    )
    for account_id, number in rows:
        out.setdefault(str(account_id), []).append(number)
    return out


# --------------------------------------------------------------------------- platform-wide


@dataclass(frozen=True, slots=True)
class EnabledAccount:
    """One enabled account with its secret in clear, for building its provider."""

    id: str
    tenant_id: str
    provider: str
    config: Mapping[str, Any]
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"EnabledAccount(id={self.id!r}, tenant_id={self.tenant_id!r}, "
            f"provider={self.provider!r}, config={dict(self.config)!r}, secret=***)"
        )

    __str__ = __repr__


def enabled_accounts(uow: UnitOfWork, box: SecretBox) -> list[EnabledAccount]:
    """Every tenant's enabled accounts, secrets opened (the worker's router reload).

    A row whose secret does not open (its key was dropped from ``FRONTDESK_SECRET_KEYS``)
    is left out and logged by id and key id: the other tenants keep sending, and that
    account's messages fail with the router's ``account_unavailable`` until the key is
    restored.
    """
    out: list[EnabledAccount] = []
    rows = uow.session.execute(
        select(CarrierAccount)
        .where(CarrierAccount.disabled_at.is_(None))
        .order_by(CarrierAccount.created_at, CarrierAccount.id)
    ).scalars()
    for row in rows:
        try:
            secret = secret_of(box, row)
        except SecretBoxError as exc:
            log.error(
                "carrier account %s: its secret (key id %s) does not open: %s",
                row.id,
                row.secret_key_id,
                exc,
            )
            continue
        out.append(EnabledAccount(row.id, row.tenant_id, row.provider, dict(row.config), secret))
    return out


def number_accounts(uow: UnitOfWork) -> dict[str, str]:
    """Sending number (E.164) → the carrier account id it sends through, every tenant;
    numbers on the platform default are absent."""
    rows = uow.session.execute(
        select(SendingNumber.number, SendingNumber.carrier_account_id).where(
            SendingNumber.carrier_account_id.is_not(None)
        )
    )
    return {number: str(account_id) for number, account_id in rows}


def account_id_for_number(uow: UnitOfWork, number: str) -> str | None:
    """The carrier account a sending number belongs to (None = the platform default, or
    not a sending number): which token a webhook to that number is signed with."""
    return uow.session.execute(
        select(SendingNumber.carrier_account_id).where(SendingNumber.number == number)
    ).scalar_one_or_none()


def accounts_to_reseal(uow: UnitOfWork, box: SecretBox) -> Sequence[CarrierAccount]:
    """Every account (disabled ones too) whose secret is not under the current key."""
    return (
        uow.session.execute(
            select(CarrierAccount)
            .where(CarrierAccount.secret_key_id != box.current_key_id)
            .order_by(CarrierAccount.tenant_id, CarrierAccount.created_at, CarrierAccount.id)
        )
        .scalars()
        .all()
    )


def reseal(box: SecretBox, row: CarrierAccount) -> None:
    """Re-seal the row's secret under the current key (key rotation); the secret and
    ``updated_at`` are unchanged: the account's configuration did not change."""
    sealed = box.reseal(Sealed(row.secret_key_id, row.secret_ciphertext), _aad(row.id))
    row.secret_ciphertext = sealed.ciphertext
    row.secret_key_id = sealed.key_id


def any_accounts(uow: UnitOfWork) -> bool:
    """Whether any tenant has an enabled carrier account (no secret is opened)."""
    return (
        uow.session.execute(
            select(CarrierAccount.id).where(CarrierAccount.disabled_at.is_(None)).limit(1)
        ).first()
        is not None
    )
