"""Messages record whether they carried opt-out instructions (R-K-08 monthly re-notice).

The gate needs, per contact, when opt-out instructions last went out: recurring
programs repeat them at least monthly (CTIA practice). The flag is set when a
message is stored; this revision backfills it for the live messages of the last
31 days, the only ones the 30-day rule reads, with the same test the gate uses.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from frontdesk.domain.content import has_opt_out_language
from frontdesk.storage.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_DAYS = 31
_CHUNK = 1000


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("opt_out_notice", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    messages = sa.table(
        "messages",
        sa.column("id", sa.String),
        sa.column("body", sa.Text),
        sa.column("status", sa.String),
        sa.column("created_at", UTCDateTime()),
        sa.column("opt_out_notice", sa.Boolean),
    )
    bind = op.get_bind()
    since = datetime.now(UTC) - timedelta(days=_BACKFILL_DAYS)
    after = ""
    while True:  # keyset pages: memory stays flat however many messages there are
        rows = bind.execute(
            sa.select(messages.c.id, messages.c.body)
            .where(
                messages.c.status.notin_(("blocked", "canceled")),
                messages.c.created_at >= since,
                messages.c.id > after,
            )
            .order_by(messages.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            break
        after = rows[-1][0]
        noticed = [mid for mid, body in rows if body and has_opt_out_language(body)]
        if noticed:
            bind.execute(
                sa.update(messages)
                .where(messages.c.id.in_(noticed))
                .values(opt_out_notice=True)
            )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("opt_out_notice")
