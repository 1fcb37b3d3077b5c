"""Carrier accounts per tenant (issue 12): create, list, rotate the secret, disable, and
the link of a sending number to the account it sends through.

An ISV platform gives each business its own carrier account (a Twilio subaccount, an
SMPP bind), so registration, throughput, spend and reputation stay per business. The
account's secret (auth token, bind password) is sealed by storage under the current
key of the :class:`SecretBox` and never leaves this room in clear except towards the
providers (:func:`router_configs`): no response, audit entry or log line carries it.

Validation follows the carriers' own limits so an account that would never
authenticate is refused here, with the field and the fix, rather than at the first
send: a Twilio account SID is ``AC`` and 32 hex digits; SMPP 3.4 (§5.2.1, §5.2.2)
caps ``system_id`` at 15 characters, ``password`` at 8 and ``system_type`` at 12
(C-Octet strings of 16, 9 and 13 octets with their NUL).

Services never commit; every change is an audit entry (design.md, guarantee 3).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final
from urllib.parse import urlsplit

from frontdesk import errors
from frontdesk.ids import new_id
from frontdesk.providers.accounts import CarrierAccountConfig
from frontdesk.secrets_box import SecretBox
from frontdesk.storage import carrier_accounts as store
from frontdesk.storage.models import CarrierAccount, SendingNumber
from frontdesk.storage.uow import TenantScope, UnitOfWork

PROVIDERS = ("twilio", "smpp")
TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
# Twilio's regional edges are hosts under twilio.com; any other host would receive the
# tenant's token and make the worker call an address of the tenant's choosing.
TWILIO_API_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*twilio\.com$")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?$")
PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]*$")  # no spaces or control characters
MAX_TOKEN = 128
SMPP_SYSTEM_ID_MAX = 15
SMPP_PASSWORD_MAX = 8
SMPP_SYSTEM_TYPE_MAX = 12
SMPP_WINDOW_MAX = 100
LABEL_MAX = 200


class Unset(Enum):
    """A field the client left out, told apart from an explicit null (which, for a
    number's ``carrier_account_id``, means the platform default)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET

TWILIO_FIELDS = frozenset({"account_sid", "auth_token", "api_base"})
SMPP_FIELDS = frozenset({"host", "port", "system_id", "password", "system_type", "window"})


@dataclass(frozen=True)
class AccountInput:
    """A new account as the client gave it; fields of the other provider must be None."""

    provider: str
    label: str
    account_sid: str | None = None
    auth_token: str | None = None
    api_base: str | None = None
    host: str | None = None
    port: int | None = None
    system_id: str | None = None
    password: str | None = None
    system_type: str | None = None
    window: int | None = None

    def __repr__(self) -> str:  # the secret is masked wherever the input is shown
        return f"AccountInput(provider={self.provider!r}, label={self.label!r}, secret=***)"


def _refuse(problems: list[errors.FieldError]) -> errors.AppError:
    detail = "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
    return errors.AppError(422, "Invalid request", detail, problems)


def _check_label(label: str | None, problems: list[errors.FieldError]) -> str:
    text = (label or "").strip()
    if not text:
        problems.append(
            errors.FieldError("label", "missing", "give the account a name, e.g. 'Main office'")
        )
    elif len(text) > LABEL_MAX:
        problems.append(
            errors.FieldError("label", "too_long", f"label is at most {LABEL_MAX} characters")
        )
    return text


def _check_token(field_name: str, value: str | None, problems: list[errors.FieldError]) -> None:
    if value is None or not value.strip():
        problems.append(
            errors.FieldError(
                field_name, "missing", f"{field_name} is required: the account's auth token"
            )
        )
    elif len(value) > MAX_TOKEN or not PRINTABLE_ASCII.match(value):
        problems.append(
            errors.FieldError(
                field_name,
                "invalid_token",
                f"{field_name} must be 1-{MAX_TOKEN} printable characters without spaces; "
                "copy it from the Twilio console",
            )
        )


def _check_password(value: str | None, problems: list[errors.FieldError]) -> None:
    if value is None or value == "":
        problems.append(
            errors.FieldError("password", "missing", "password is required: the bind password")
        )
    elif len(value) > SMPP_PASSWORD_MAX or not PRINTABLE_ASCII.match(value):
        problems.append(
            errors.FieldError(
                "password",
                "invalid_password",
                f"password must be 1-{SMPP_PASSWORD_MAX} printable ASCII characters "
                "(SMPP 3.4 §5.2.2)",
            )
        )


def _check_api_base(value: str | None, problems: list[errors.FieldError]) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if (
        parts.scheme != "https"
        or not TWILIO_API_HOST.match(host)
        or parts.username
        or parts.password
        or parts.port not in (None, 443)
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        problems.append(
            errors.FieldError(
                "api_base",
                "invalid_api_base",
                "api_base must be an https URL of a Twilio host, e.g. "
                "https://api.dublin.ie1.twilio.com; leave it out for the platform's default",
            )
        )
        return None
    return f"https://{host}"


def _check_host(value: str | None, problems: list[errors.FieldError]) -> str:
    text = (value or "").strip()
    if not text:
        problems.append(errors.FieldError("host", "missing", "host is required: the SMSC's name"))
        return text
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if not HOSTNAME.match(text):
        problems.append(
            errors.FieldError(
                "host", "invalid_host", "host must be a host name or an IP address, no scheme"
            )
        )
    return text


def _twilio(data: AccountInput, problems: list[errors.FieldError]) -> tuple[dict[str, Any], str]:
    sid = (data.account_sid or "").strip()
    if not TWILIO_SID.match(sid):
        problems.append(
            errors.FieldError(
                "account_sid",
                "invalid_account_sid" if sid else "missing",
                "account_sid must be 'AC' followed by 32 hex digits, as in the Twilio console",
            )
        )
    _check_token("auth_token", data.auth_token, problems)
    config: dict[str, Any] = {"account_sid": sid}
    api_base = _check_api_base(data.api_base, problems)
    if api_base is not None:
        config["api_base"] = api_base
    return config, (data.auth_token or "").strip()


def _smpp(data: AccountInput, problems: list[errors.FieldError]) -> tuple[dict[str, Any], str]:
    host = _check_host(data.host, problems)
    if data.port is None:
        problems.append(errors.FieldError("port", "missing", "port is required, e.g. 2775"))
    elif not 1 <= data.port <= 65535:
        problems.append(errors.FieldError("port", "invalid_port", "port must be 1..65535"))
    system_id = data.system_id or ""
    if not system_id:
        problems.append(
            errors.FieldError("system_id", "missing", "system_id is required: the bind login")
        )
    elif len(system_id) > SMPP_SYSTEM_ID_MAX or not PRINTABLE_ASCII.match(system_id):
        problems.append(
            errors.FieldError(
                "system_id",
                "invalid_system_id",
                f"system_id must be 1-{SMPP_SYSTEM_ID_MAX} printable ASCII characters "
                "(SMPP 3.4 §5.2.1)",
            )
        )
    _check_password(data.password, problems)
    system_type = data.system_type or ""
    if len(system_type) > SMPP_SYSTEM_TYPE_MAX or not PRINTABLE_ASCII.match(system_type):
        problems.append(
            errors.FieldError(
                "system_type",
                "invalid_system_type",
                f"system_type must be at most {SMPP_SYSTEM_TYPE_MAX} printable ASCII "
                "characters (SMPP 3.4 §5.2.3)",
            )
        )
    if data.window is not None and not 1 <= data.window <= SMPP_WINDOW_MAX:
        problems.append(
            errors.FieldError(
                "window", "invalid_window", f"window must be 1..{SMPP_WINDOW_MAX} submits in flight"
            )
        )
    config: dict[str, Any] = {
        "host": host,
        "port": data.port,
        "system_id": system_id,
        "system_type": system_type,
    }
    if data.window is not None:
        config["window"] = data.window
    return config, data.password or ""


def _foreign_fields(data: AccountInput, provider: str) -> list[errors.FieldError]:
    given = {name for name in TWILIO_FIELDS | SMPP_FIELDS if getattr(data, name) is not None}
    other = SMPP_FIELDS if provider == "twilio" else TWILIO_FIELDS
    return [
        errors.FieldError(
            name,
            "not_for_provider",
            f"{name} is not a field of a {provider} account; remove it",
        )
        for name in sorted(given & other)
    ]


# --------------------------------------------------------------------------- use cases


def create_account(
    scope: TenantScope, box: SecretBox, data: AccountInput, now: datetime, actor: str
) -> CarrierAccount:
    """A new carrier account of this tenant. Every problem is refused at once (422)."""
    problems: list[errors.FieldError] = []
    if data.provider not in PROVIDERS:
        raise _refuse(
            [
                errors.FieldError(
                    "provider", "unknown_provider", "provider must be 'twilio' or 'smpp'"
                )
            ]
        )
    label = _check_label(data.label, problems)
    problems += _foreign_fields(data, data.provider)
    config, secret = (_twilio if data.provider == "twilio" else _smpp)(data, problems)
    if problems:
        raise _refuse(problems)
    row = store.add(
        scope,
        box,
        account_id=new_id("acct"),
        provider=data.provider,
        label=label,
        config=config,
        secret=secret,
        now=now,
    )
    scope.audit(
        now,
        actor,
        "carrier_account.created",
        row.id,
        {"provider": row.provider, "label": row.label, **public_config(row)},
    )
    return row


def public_config(row: CarrierAccount) -> dict[str, Any]:
    """The account's configuration fit to show: only non-secret keys, by provider."""
    config = row.config or {}
    keys = (
        ("account_sid", "api_base")
        if row.provider == "twilio"
        else (
            "host",
            "port",
            "system_id",
            "system_type",
            "window",
        )
    )
    return {k: config.get(k) for k in keys if k in config}


def list_accounts(scope: TenantScope, limit: int, offset: int) -> Sequence[CarrierAccount]:
    return store.accounts(scope, limit, offset)


def get_account(scope: TenantScope, account_id: str) -> CarrierAccount:
    """This tenant's account; another tenant's id answers like an unknown one (404)."""
    row = store.account(scope, account_id)
    if row is None:
        raise errors.not_found("carrier account")
    return row


def linked_numbers(scope: TenantScope) -> dict[str, list[str]]:
    return store.linked_numbers(scope)


def update_account(
    scope: TenantScope,
    box: SecretBox,
    account_id: str,
    *,
    label: str | None,
    secret: str | None,
    secret_field: str | None,
    now: datetime,
    actor: str,
) -> CarrierAccount:
    """Rename the account and/or replace its secret (a rotated token or password).

    ``secret_field`` is the request field the secret came in (``auth_token`` or
    ``password``): it must be the account's provider's, so a client that confuses two
    accounts is told rather than storing an SMPP password as a Twilio token.
    """
    row = get_account(scope, account_id)
    if row.disabled_at is not None:
        raise errors.conflict(
            "The carrier account is disabled; create a new one with POST /v1/carrier-accounts."
        )
    problems: list[errors.FieldError] = []
    new_label = _check_label(label, problems) if label is not None else None
    if secret_field is not None:
        expected = "auth_token" if row.provider == "twilio" else "password"
        if secret_field != expected:
            problems.append(
                errors.FieldError(
                    secret_field,
                    "not_for_provider",
                    f"this is a {row.provider} account: send its secret as {expected}",
                )
            )
        elif row.provider == "twilio":
            _check_token("auth_token", secret, problems)
        else:
            _check_password(secret, problems)
    if problems:
        raise _refuse(problems)
    changed: list[str] = []
    if new_label is not None and new_label != row.label:
        row.label = new_label
        row.updated_at = now
        changed.append("label")
    if secret_field is not None and secret is not None:
        store.set_secret(
            scope, box, row, secret.strip() if row.provider == "twilio" else secret, now
        )
        changed.append("secret")
    if changed:
        scope.audit(
            now,
            actor,
            "carrier_account.updated",
            row.id,
            {"changed": changed, "key_id": row.secret_key_id},
        )
    return row


def disable_account(
    scope: TenantScope, account_id: str, now: datetime, actor: str
) -> CarrierAccount:
    """Disable the account (kept for the audit, never deleted). Refused (409) while a
    number still sends through it: its messages would have no account to go through."""
    row = get_account(scope, account_id)
    if row.disabled_at is not None:
        return row
    numbers = store.numbers_of(scope, row.id)
    if numbers:
        shown = ", ".join(f"…{n.number[-4:]}" for n in numbers[:5])
        raise errors.conflict(
            f"{len(numbers)} sending number(s) still send through this account ({shown}); "
            "link them to another account or to the platform default with POST /v1/numbers "
            '{"number": ..., "carrier_account_id": null} first.'
        )
    row.disabled_at = now
    row.updated_at = now
    scope.audit(now, actor, "carrier_account.disabled", row.id, {"provider": row.provider})
    return row


def check_link(
    scope: TenantScope,
    account_id: str | None,
    number_provider: str | None,
    default_provider: str,
) -> tuple[CarrierAccount | None, str]:
    """The account a number may be linked to, and the number's provider.

    ``account_id`` None means the platform default, which sends only numbers of the
    default provider. Otherwise the account must be this tenant's (another tenant's id
    is refused like an unknown one), enabled, and of the number's provider;
    ``number_provider`` None takes the account's. Refusals are 422 naming
    ``carrier_account_id`` or ``provider``.
    """
    if account_id is None:
        provider = number_provider or default_provider
        if provider != default_provider:
            raise errors.invalid(
                "carrier_account_id",
                "provider_mismatch",
                f"the platform default sends through {default_provider!r}, not {provider!r}; "
                f"give the id of one of your {provider} carrier accounts",
            )
        return None, provider
    row = store.account(scope, account_id)
    if row is None:
        raise errors.invalid(
            "carrier_account_id",
            "unknown_carrier_account",
            "No carrier account with that id; create one with POST /v1/carrier-accounts.",
        )
    if row.disabled_at is not None:
        raise errors.invalid(
            "carrier_account_id",
            "carrier_account_disabled",
            "That carrier account is disabled; link an enabled one.",
        )
    provider = number_provider or row.provider
    if provider != row.provider:
        raise errors.invalid(
            "carrier_account_id",
            "provider_mismatch",
            f"the number's provider is {provider!r} but the account is a {row.provider} "
            "account; use an account of the same provider",
        )
    return row, provider


def link_number(
    scope: TenantScope,
    number: SendingNumber,
    account: CarrierAccount | None,
    now: datetime,
    actor: str,
) -> None:
    """Point the number at ``account`` (None: the platform default), checked by
    :func:`check_link`; audited when it changes."""
    if number.tenant_id != scope.tenant_id or (
        account is not None and account.tenant_id != scope.tenant_id
    ):
        raise ValueError("row belongs to another tenant")
    new = account.id if account is not None else None
    if number.carrier_account_id == new:
        return
    previous = number.carrier_account_id
    number.carrier_account_id = new
    scope.audit(
        now,
        actor,
        "number.carrier_account_linked",
        number.number[-4:],
        {"number_id": number.id, "carrier_account_id": new, "previous": previous},
    )


# --------------------------------------------------------------------------- platform-wide


def rotate_keys(uow: UnitOfWork, box: SecretBox, *, now: datetime, actor: str = "cli") -> int:
    """Re-seal every secret not under the box's current key; the number re-sealed.

    All or nothing: a secret under a key the box does not hold raises
    :class:`frontdesk.secrets_box.UnknownKeyError` and the edge commits nothing. One
    audit entry per tenant touched, naming the new key id and how many were re-sealed.
    """
    per_tenant: dict[str, int] = {}
    for row in store.accounts_to_reseal(uow, box):
        store.reseal(box, row)
        per_tenant[row.tenant_id] = per_tenant.get(row.tenant_id, 0) + 1
    for tenant_id, count in per_tenant.items():
        uow.tenant(tenant_id).audit(
            now,
            actor,
            "carrier_accounts.keys_rotated",
            tenant_id,
            {"key_id": box.current_key_id, "count": count},
        )
    return sum(per_tenant.values())


def router_configs(uow: UnitOfWork, box: SecretBox) -> list[CarrierAccountConfig]:
    """Every enabled account, ready for :meth:`AccountRouter.reload` (the worker's read).

    An account whose secret does not open is left out (storage logs it by id)."""
    return [
        CarrierAccountConfig.from_record(
            id=a.id, tenant_id=a.tenant_id, provider=a.provider, config=a.config, secret=a.secret
        )
        for a in store.enabled_accounts(uow, box)
    ]
