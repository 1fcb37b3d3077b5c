"""Request dependencies: the container, the unit of work, and who is calling."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from frontdesk.bootstrap import Container
from frontdesk.errors import AppError
from frontdesk.services import keys
from frontdesk.storage.models import Tenant
from frontdesk.storage.uow import TenantScope, UnitOfWork


async def container(request: Request) -> Container:
    """Async on purpose: a plain attribute read must not cost a thread-pool hop per request."""
    c: Container = request.app.state.container
    return c


def uow(c: Annotated[Container, Depends(container)]) -> Iterator[UnitOfWork]:
    with UnitOfWork(c.db) as unit:
        yield unit


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(detail: str) -> AppError:
    err = AppError(401, "Unauthorized", detail)
    return err


@dataclass
class Caller:
    tenant: Tenant
    scope: TenantScope
    uow: UnitOfWork

    @property
    def actor(self) -> str:
        return f"key:{self.tenant.id}"


def tenant_caller(
    unit: Annotated[UnitOfWork, Depends(uow)],
    c: Annotated[Container, Depends(container)],
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    token = _bearer(authorization)
    if token is None:
        raise _unauthorized("Send 'Authorization: Bearer <api key>'.")
    if c.settings.admin_token and secrets.compare_digest(token, c.settings.admin_token):
        raise AppError(403, "Forbidden", "This route needs a tenant API key, not the admin token.")
    return caller_in(unit, token)


def caller_in(unit: UnitOfWork, token: str) -> Caller:
    """The tenant whose API key ``token`` is, in ``unit``; for routes that open their own
    units of work (a read, then a write) after :func:`tenant_token` checked the shape."""
    tenant = unit.tenant_for_key_hash(keys.digest(token))
    if tenant is None:
        raise _unauthorized("The API key is not valid; check it or create a new one.")
    return Caller(tenant=tenant, scope=unit.tenant(tenant.id), uow=unit)


async def tenant_token(
    c: Annotated[Container, Depends(container)],
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    """The bearer token of a tenant route, checked for shape only (no database): routes
    that look the key up themselves (the group-committed single send) use it."""
    token = _bearer(authorization)
    if token is None:
        raise _unauthorized("Send 'Authorization: Bearer <api key>'.")
    if c.settings.admin_token and secrets.compare_digest(token, c.settings.admin_token):
        raise AppError(403, "Forbidden", "This route needs a tenant API key, not the admin token.")
    return token


def admin_caller(
    unit: Annotated[UnitOfWork, Depends(uow)],
    c: Annotated[Container, Depends(container)],
    authorization: Annotated[str | None, Header()] = None,
) -> UnitOfWork:
    token = _bearer(authorization)
    if token is None:
        raise _unauthorized("Send 'Authorization: Bearer <admin token>'.")
    if c.settings.admin_token and secrets.compare_digest(token, c.settings.admin_token):
        return unit
    if unit.tenant_for_key_hash(keys.digest(token)) is not None:
        raise AppError(403, "Forbidden", "This route is for the platform operator's admin token.")
    raise _unauthorized("The admin token is not valid; see FRONTDESK_ADMIN_TOKEN.")


TenantCaller = Annotated[Caller, Depends(tenant_caller)]
TenantToken = Annotated[str, Depends(tenant_token)]
AdminUoW = Annotated[UnitOfWork, Depends(admin_caller)]
AppContainer = Annotated[Container, Depends(container)]
UoWDep = Annotated[UnitOfWork, Depends(uow)]
