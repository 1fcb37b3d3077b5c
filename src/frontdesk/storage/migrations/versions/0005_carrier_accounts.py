"""Carrier accounts per tenant (issue 12): a tenant's own Twilio subaccount or SMPP bind,
its secret stored encrypted with the id of the key that sealed it, and the account
each sending number sends through (null = the platform default, as before).

The new column is nullable and no row is rewritten but ``sending_numbers`` itself
(SQLite batch mode copies that small table once); messages are not touched.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_accounts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("secret_key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("carrier_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carrier_accounts_tenant_id"), ["tenant_id"], unique=False
        )
    with op.batch_alter_table("sending_numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carrier_account_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            "fk_sending_numbers_carrier_account_id",
            "carrier_accounts",
            ["carrier_account_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("sending_numbers", schema=None) as batch_op:
        batch_op.drop_constraint("fk_sending_numbers_carrier_account_id", type_="foreignkey")
        batch_op.drop_column("carrier_account_id")
    with op.batch_alter_table("carrier_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_accounts_tenant_id"))
    op.drop_table("carrier_accounts")
