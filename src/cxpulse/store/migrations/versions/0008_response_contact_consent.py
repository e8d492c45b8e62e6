"""A respondent's consent to be contacted about a low score.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-13

``responses.contact_consent``: NULL when the question was not asked (the default, and every
response stored before this revision), true or false when it was. A nullable column without
a default is added in place on both SQLite and PostgreSQL (no table rewrite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("responses", sa.Column("contact_consent", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("contact_consent")
