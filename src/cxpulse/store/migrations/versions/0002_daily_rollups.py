"""Daily histograms per survey, channel and touchpoint, filled from the stored responses.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02

From here on the response repository keeps them equal to a recount in every transaction;
this revision counts the responses already stored so that an upgraded database starts equal.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "daily_rollups",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(50), nullable=False),
        sa.Column("touchpoint", sa.String(100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "survey_id", "day", "channel", "touchpoint", "score", name="pk_daily_rollups"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_daily_rollups_organisation_id_organisations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name="fk_daily_rollups_survey_id_surveys",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("count >= 0", name=op.f("ck_daily_rollups_count")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_daily_rollups_organisation_id", "daily_rollups", ["organisation_id"])

    if op.get_bind().dialect.name == "sqlite":
        # Instants are stored as UTC text 'YYYY-MM-DD HH:MM:SS...' on SQLite.
        day = "substr(submitted_at, 1, 10)"
    else:
        day = "CAST(submitted_at AT TIME ZONE 'UTC' AS DATE)"
    op.execute(
        "INSERT INTO daily_rollups "
        "(organisation_id, survey_id, day, channel, touchpoint, score, count) "
        f"SELECT organisation_id, survey_id, {day}, coalesce(channel, ''), "
        "coalesce(touchpoint, ''), score, count(*) FROM responses "
        f"GROUP BY organisation_id, survey_id, {day}, coalesce(channel, ''), "
        "coalesce(touchpoint, ''), score"
    )


def downgrade() -> None:
    op.drop_table("daily_rollups")
