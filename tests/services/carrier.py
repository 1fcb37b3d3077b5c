"""Test helpers: drive the embedded env with a faulty simulator on the test's clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from frontdesk.providers.simulator import SimulatorProfile
from frontdesk.services import status
from frontdesk.storage.models import AuditEntry, Message, MessageEvent, Suppression, Tenant
from frontdesk.storage.uow import UnitOfWork
from tests.conftest import Env


def use_profile(env: Env, **profile: Any) -> None:
    env.simulator.profile = replace(SimulatorProfile(), **profile)
    env.simulator.clock = env.clock


def set_settings(env: Env, tenant_id: str, **settings: Any) -> None:
    with UnitOfWork(env.container.db) as uow:
        tenant = uow.session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = {**(tenant.settings or {}), **settings}
        uow.commit()


def edit_message(env: Env, message_id: str, **fields: Any) -> None:
    with UnitOfWork(env.container.db) as uow:
        msg = uow.session.get(Message, message_id)
        assert msg is not None
        for key, value in fields.items():
            setattr(msg, key, value)
        uow.commit()


def message(env: Env, message_id: str) -> Message:
    with UnitOfWork(env.container.db, write=False) as uow:
        msg = uow.session.get(Message, message_id)
        assert msg is not None
        uow.session.expunge(msg)
        return msg


def events(env: Env, message_id: str) -> list[MessageEvent]:
    with UnitOfWork(env.container.db, write=False) as uow:
        rows = list(
            uow.session.execute(
                select(MessageEvent)
                .where(MessageEvent.message_id == message_id)
                .order_by(MessageEvent.id)
            ).scalars()
        )
        for row in rows:
            uow.session.expunge(row)
        return rows


def suppression_reasons(env: Env, tenant_id: str, phone: str) -> list[str]:
    with UnitOfWork(env.container.db, write=False) as uow:
        rows = uow.session.execute(
            select(Suppression.reason).where(
                Suppression.tenant_id == tenant_id,
                Suppression.phone == phone,
                Suppression.lifted_at.is_(None),
            )
        ).scalars()
        return sorted(rows)


def audit_actions(env: Env, tenant_id: str) -> list[str]:
    with UnitOfWork(env.container.db, write=False) as uow:
        return list(
            uow.session.execute(
                select(AuditEntry.action)
                .where(AuditEntry.tenant_id == tenant_id)
                .order_by(AuditEntry.seq)
            ).scalars()
        )


def pump(env: Env) -> int:
    """Step the worker and feed the simulator's inbound texts through the status path."""
    claimed = env.step()
    replies = env.simulator.drain_inbound()
    if replies:
        with UnitOfWork(env.container.db) as uow:
            for sms in replies:
                status.apply_inbound(uow, sms, env.clock.now())
            uow.commit()
        claimed += env.step()
    return claimed


def run_until(env: Env, until: datetime, tick: timedelta) -> None:
    """Advance the clock in ticks, stepping at each, until ``until``."""
    pump(env)
    while env.clock.now() < until:
        env.clock.advance(tick)
        pump(env)
