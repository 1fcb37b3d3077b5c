"""The demo tenant seeded on first start of an empty embedded database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from frontdesk.domain.consent import Method, Scope
from frontdesk.services import consents, contacts, policy, registration, tenants
from frontdesk.storage.db import Database
from frontdesk.storage.uow import UnitOfWork

DEMO_NUMBER = "+14155550100"
DEMO_CONTACTS = (
    ("+14155550123", "Maria Lopez", "CA"),
    ("+13055550142", "Sam Carter", "FL"),
    ("+12125550187", "Priya Shah", "NY"),
)


@dataclass(frozen=True)
class Seeded:
    tenant_id: str
    api_key: str
    number: str
    contacts: tuple[str, ...]


def admin_token(var_dir: Path, configured: str | None) -> str:
    """The configured token, else one generated once and kept in ``var/admin-token``."""
    if configured:
        return configured
    path = var_dir / "admin-token"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    token = "fd_admin_" + secrets.token_urlsafe(24)
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token


def seed_demo(db: Database, now: datetime) -> Seeded | None:
    """Seed Bright Smile Dental if the database holds no tenant yet."""
    with UnitOfWork(db) as uow:
        if uow.tenant_count() > 0:
            return None
        created = tenants.create_tenant(
            uow,
            name="Bright Smile Dental",
            timezone="America/Los_Angeles",
            support_email="hello@brightsmile.example",
            support_phone="+14155550100",
            now=now,
            actor="seed",
            settings=registration.default_enforcement(
                require_policy=True, require_registration=False
            ),
        )
        tid = created.tenant.id
        tenants.add_sending_number(uow, tid, DEMO_NUMBER, "simulator", now, "seed")
        scope = uow.tenant(tid)
        policy.accept(scope, policy.POLICY_VERSION, "Demo owner", now, "seed")
        for e164, name, state in DEMO_CONTACTS:
            contacts.upsert_contact(
                scope,
                e164,
                name=name,
                timezone=None,
                postal_code=None,
                state=state,
                now=now,
                fields_set={"name", "state"},
            )
            consents.record_grant(
                scope,
                e164,
                consent_scope=Scope.INFORMATIONAL,
                method=Method.WEB_FORM,
                captured_at=now - timedelta(days=3),
                evidence={
                    "form": "https://brightsmile.example/book",
                    "ip": "203.0.113.7",
                    "user_agent": "Mozilla/5.0",
                    "checkbox_default": "unchecked",
                    "disclosure": "Bright Smile Dental will text appointment reminders. "
                    "Msg & data rates may apply. Reply STOP to opt out.",
                },
                now=now,
                source="seed",
                actor="seed",
            )
        uow.commit()
        return Seeded(tid, created.api_key, DEMO_NUMBER, tuple(c[0] for c in DEMO_CONTACTS))
