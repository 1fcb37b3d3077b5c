"""The outbox hand-off (issue 12): a claimed message carries its claim's token, the
moment it was claimed and the moment its send was released to the carrier, so the
carrier is called outside any transaction, a STOP can fence a claim that has not been
released, and a crash between claim and outcome is found and settled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_messages_claims", ["claim_token"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_claims")
        batch_op.drop_column("released_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claim_token")
