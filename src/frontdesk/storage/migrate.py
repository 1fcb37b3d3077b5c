"""Run the Alembic migrations programmatically (``frontdesk migrate`` and start-up).

The same revisions run on SQLite and PostgreSQL; on PostgreSQL concurrent
upgrades serialise on :data:`MIGRATION_LOCK` (see migrations/env.py).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from frontdesk.storage.db import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x4644_4D49_4752_4154  # "FDMIGRAT"


def config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    if normalise_url(url).startswith("sqlite:///"):
        Path(normalise_url(url).removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    command.upgrade(config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(config(url), revision)


def head(url: str) -> str | None:
    """The newest revision this code ships."""
    return ScriptDirectory.from_config(config(url)).get_current_head()


def current(connection: Connection) -> str | None:
    """The revision the connected database is at (None when never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()
