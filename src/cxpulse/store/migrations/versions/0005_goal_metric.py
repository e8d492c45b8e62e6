"""Goals may aim at another metric of the survey's answers (a CSAT survey's DSAT, say).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

``goals.metric`` is null for the existing goals: they keep aiming at the survey's metric.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("goals") as batch:
        batch.add_column(sa.Column("metric", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("goals") as batch:
        batch.drop_column("metric")
