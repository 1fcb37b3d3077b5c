"""Carrier accounts (tenant): a business's own Twilio subaccount or SMPP bind (issue 12).

``POST /v1/carrier-accounts`` stores the account with its secret encrypted; no
response ever carries the secret back (``secret_set`` says one is stored).
``PATCH`` renames the account or replaces its secret; ``DELETE`` disables it, refused
with 409 while a number still sends through it. Another tenant's account id answers
404. A number is linked to an account with ``POST /v1/numbers``
``{number, carrier_account_id}``.

The secret box comes from the container when the composition root built one
(``Container.secret_box``), else from ``FRONTDESK_SECRET_KEYS`` through
:meth:`SecretBox.from_environment` once per application (see :func:`secret_box`).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from frontdesk import errors
from frontdesk.api.deps import AppContainer, TenantCaller
from frontdesk.api.schemas import iso
from frontdesk.secrets_box import SecretBox, SecretBoxError
from frontdesk.services import carrier_accounts as service
from frontdesk.storage.models import CarrierAccount

router = APIRouter()
log = logging.getLogger("frontdesk.api.carriers")
VAR = Path("var")  # where the CLI keeps var/admin-token; the development key sits beside it
_BOX_LOCK = threading.Lock()


def secret_box(request: Request, c: AppContainer) -> SecretBox:
    """The deployment's :class:`SecretBox`.

    ``Container.secret_box`` when bootstrap provides one; else ``app.state.secret_box``
    (tests set it); else built once from the environment — ``FRONTDESK_SECRET_KEYS``,
    or on the embedded SQLite default a development key in ``var/secret-keys`` — and
    kept on ``app.state``. A missing or malformed key answers 503 with how to set it,
    and nothing is stored.
    """
    box = getattr(c, "secret_box", None)
    if isinstance(box, SecretBox):
        return box
    state = request.app.state
    with _BOX_LOCK:
        box = getattr(state, "secret_box", None)
        if isinstance(box, SecretBox):
            return box
        try:
            box, where = SecretBox.from_environment(os.environ, VAR)
        except SecretBoxError as exc:
            raise errors.AppError(
                503, "Service Unavailable", f"Carrier accounts are not configured: {exc}"
            ) from exc
        log.info("carrier account secrets: keys from %s", where)
        state.secret_box = box
        return box


Box = Annotated[SecretBox, Depends(secret_box)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CarrierAccountIn(_Strict):
    """Twilio: ``account_sid`` and ``auth_token`` (``api_base`` for a regional edge).
    SMPP: ``host``, ``port``, ``system_id``, ``password`` (``system_type``, ``window``)."""

    provider: Literal["twilio", "smpp"]
    label: str = Field(max_length=200)
    account_sid: str | None = Field(default=None, max_length=34, description="Twilio: AC…")
    auth_token: SecretStr | None = Field(default=None, description="Twilio: never returned")
    api_base: str | None = Field(
        default=None, max_length=200, description="Twilio: https://…twilio.com edge"
    )
    host: str | None = Field(default=None, max_length=253, description="SMPP: the SMSC host")
    port: int | None = Field(default=None, description="SMPP: 1..65535")
    system_id: str | None = Field(default=None, max_length=64, description="SMPP: ≤ 15")
    password: SecretStr | None = Field(default=None, description="SMPP: ≤ 8, never returned")
    system_type: str | None = Field(default=None, max_length=64, description="SMPP: ≤ 12")
    window: int | None = Field(default=None, description="SMPP: submits in flight, 1..100")


class CarrierAccountPatch(_Strict):
    label: str | None = Field(default=None, max_length=200)
    auth_token: SecretStr | None = Field(default=None, description="Twilio: the new token")
    password: SecretStr | None = Field(default=None, description="SMPP: the new password")


def _view(row: CarrierAccount, numbers: list[str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "provider": row.provider,
        "label": row.label,
        "status": "disabled" if row.disabled_at is not None else "active",
        **service.public_config(row),
        "secret_set": bool(row.secret_ciphertext),
        "numbers": numbers,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "disabled_at": iso(row.disabled_at) if row.disabled_at is not None else None,
    }


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


@router.post("/v1/carrier-accounts", status_code=201, tags=["carrier accounts"])
def create_carrier_account(
    body: CarrierAccountIn, caller: TenantCaller, c: AppContainer, box: Box
) -> JSONResponse:
    """A new carrier account of this business; the secret is stored encrypted and never
    returned (``secret_set: true``)."""
    row = service.create_account(
        caller.scope,
        box,
        service.AccountInput(
            provider=body.provider,
            label=body.label,
            account_sid=body.account_sid,
            auth_token=_secret(body.auth_token),
            api_base=body.api_base,
            host=body.host,
            port=body.port,
            system_id=body.system_id,
            password=_secret(body.password),
            system_type=body.system_type,
            window=body.window,
        ),
        c.clock.now(),
        caller.actor,
    )
    caller.uow.commit()
    return JSONResponse(_view(row, []), status_code=201)


@router.get("/v1/carrier-accounts", tags=["carrier accounts"])
def list_carrier_accounts(
    caller: TenantCaller, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)
) -> dict[str, Any]:
    """This business's carrier accounts, disabled ones included, oldest first."""
    rows = service.list_accounts(caller.scope, limit, offset)
    numbers = service.linked_numbers(caller.scope)
    return {
        "items": [_view(r, numbers.get(r.id, [])) for r in rows],
        "next_offset": offset + len(rows) if len(rows) == limit else None,
    }


@router.get("/v1/carrier-accounts/{account_id}", tags=["carrier accounts"])
def get_carrier_account(account_id: str, caller: TenantCaller) -> dict[str, Any]:
    row = service.get_account(caller.scope, account_id)
    return _view(row, service.linked_numbers(caller.scope).get(row.id, []))


@router.patch("/v1/carrier-accounts/{account_id}", tags=["carrier accounts"])
def update_carrier_account(
    account_id: str, body: CarrierAccountPatch, caller: TenantCaller, c: AppContainer, box: Box
) -> dict[str, Any]:
    """Rename the account and/or replace its secret (``auth_token`` for Twilio,
    ``password`` for SMPP); 409 once it is disabled."""
    if body.auth_token is not None and body.password is not None:
        raise errors.invalid(
            "password", "one_secret", "send either auth_token or password, not both"
        )
    secret_field: str | None = None
    secret: str | None = None
    if body.auth_token is not None:
        secret_field, secret = "auth_token", body.auth_token.get_secret_value()
    elif body.password is not None:
        secret_field, secret = "password", body.password.get_secret_value()
    row = service.update_account(
        caller.scope,
        box,
        account_id,
        label=body.label,
        secret=secret,
        secret_field=secret_field,
        now=c.clock.now(),
        actor=caller.actor,
    )
    caller.uow.commit()
    return _view(row, service.linked_numbers(caller.scope).get(row.id, []))


@router.delete("/v1/carrier-accounts/{account_id}", tags=["carrier accounts"])
def disable_carrier_account(
    account_id: str, caller: TenantCaller, c: AppContainer
) -> dict[str, Any]:
    """Disable the account (kept, never erased: the audit refers to it); 409 while a
    sending number still sends through it. Disabling twice answers the same."""
    row = service.disable_account(caller.scope, account_id, c.clock.now(), caller.actor)
    caller.uow.commit()
    return _view(row, [])
