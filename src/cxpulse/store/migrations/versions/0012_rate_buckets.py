"""Rate limits shared by every process: the ``rate_buckets`` table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

One row per client and limit while its bucket is not full (``store.rate_buckets``). On
PostgreSQL the table is UNLOGGED: its rows are worth nothing after a crash (every bucket
starts full again), so its writes skip the WAL. SQLite gets the table too, for one schema,
and never uses it (one process keeps its buckets in memory).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("bucket", sa.String(120), nullable=False),
        sa.Column("full_at", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_rate_buckets")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_buckets SET UNLOGGED")


def downgrade() -> None:
    op.drop_table("rate_buckets")
