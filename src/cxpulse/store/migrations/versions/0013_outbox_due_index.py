"""Due outbox items of one kind found in order: the ``ix_outbox_kind_due`` index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A worker claims the oldest due items of its kinds (``store.outbox.claim``). With only
``(state, available_at)`` indexed, PostgreSQL gathered every pending item of every kind and
sorted them for each claim: with 250,000 answers' closed-loop items waiting after a soak, a
claim of 100 took 260 ms and an email worker's look for its few due items 150 ms, so the
loop fell further behind the more there was to do. With the kind first, a claim of one kind
reads its items in order and stops at the limit.
"""

from __future__ import annotations

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_kind_due", "outbox", ["kind", "state", "available_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_kind_due", table_name="outbox")
