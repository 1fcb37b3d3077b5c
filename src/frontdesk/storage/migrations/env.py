"""Alembic environment: batch mode on SQLite, the models' metadata as the target.

``compare_type=True`` compares a ``TypeDecorator`` (``UTCDateTime``) by its
``impl``, ``DateTime(timezone=True)``, so the decorator is not drift while a
column that lost its time zone is; tests/storage/test_migrations.py proves both
on SQLite and PostgreSQL.

On PostgreSQL the whole upgrade is one transaction holding an advisory lock, so
an API and N workers started together (docker compose, systemd) migrate once:
the others wait, then find the schema at head.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine, pool, text
from sqlalchemy.types import TypeDecorator

from frontdesk.storage.migrate import MIGRATION_LOCK
from frontdesk.storage.models import Base

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes a decorated column as its plain impl, ``sa.DateTime(timezone=True)``.

    Revisions then import nothing from the application, so a later change to
    ``UTCDateTime`` cannot break an old revision.
    """
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
            transactional_ddl=True if postgres else None,
        )
        with context.begin_transaction():
            if postgres:
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
