"""What the text stage finds in comments: analyses, themes, their mentions, sentiment models.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-20

``comment_analyses``: one row per response whose comment was analysed (language, sentiment,
redacted text, the version it was made with). ``text_themes``: each organisation's taxonomy.
``response_themes``: the themes each analysed comment mentions, with copies of the answer's
survey, time and score so that a theme's histogram per survey and period is one index range.
``comment_rollups`` and ``theme_rollups``: per survey, UTC day and score, how many analysed
comments there are and how many mention each theme (per sentiment of the mention), so that a
year of a theme's histogram reads a few thousand rows. ``sentiment_models``: an
organisation's classifier per language. ``organisations`` gains ``redact_comments`` (false)
and ``taxonomy_version`` (0: the starter taxonomy is seeded on first use). Both columns have
a server default, so they are added in place on SQLite and PostgreSQL; no existing table is
rewritten. Responses stored before this revision have no analysis: the worker analyses them
in the background.

Types are spelled out here rather than imported from the models, so that this revision keeps
creating the same schema after the models move on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)
SENTIMENTS = "'negative', 'neutral', 'positive', 'unknown'"


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organisation_id"],
        ["organisations.id"],
        name=f"fk_{table}_organisation_id_organisations",
        ondelete="CASCADE",
    )


def _survey_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["survey_id"], ["surveys.id"], name=f"fk_{table}_survey_id_surveys", ondelete="CASCADE"
    )


def upgrade() -> None:
    # '0' reads as false on both databases (PostgreSQL parses the quoted literal as boolean).
    op.add_column(
        "organisations",
        sa.Column("redact_comments", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.add_column(
        "organisations",
        sa.Column("taxonomy_version", sa.Integer(), nullable=False, server_default="0"),
    )

    op.create_table(
        "comment_analyses",
        sa.Column("response_id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", INSTANT, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("sentiment", sa.String(8), nullable=False),
        sa.Column("sentiment_source", sa.String(8), nullable=True),
        sa.Column("redacted_comment", sa.Text(), nullable=False),
        sa.Column("taxonomy_version", sa.String(32), nullable=False),
        sa.Column("analysed_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("response_id", name="pk_comment_analyses"),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name="fk_comment_analyses_response_id_responses",
            ondelete="CASCADE",
        ),
        _org_fk("comment_analyses"),
        _survey_fk("comment_analyses"),
        sa.CheckConstraint(
            f"sentiment IN ({SENTIMENTS})", name=op.f("ck_comment_analyses_sentiment")
        ),
        sa.CheckConstraint(
            "sentiment_source IS NULL OR sentiment_source IN ('score', 'model', 'lexicon')",
            name=op.f("ck_comment_analyses_sentiment_source"),
        ),
    )
    op.create_index(
        "ix_comment_analyses_organisation_version",
        "comment_analyses",
        ["organisation_id", "taxonomy_version", "response_id"],
    )
    op.create_index(
        "ix_comment_analyses_survey_submitted",
        "comment_analyses",
        ["survey_id", "submitted_at", "response_id", "score"],
    )
    op.create_index(
        "ix_comment_analyses_survey_language",
        "comment_analyses",
        ["survey_id", "language", "submitted_at"],
    )
    op.create_index(
        "ix_comment_analyses_organisation_language",
        "comment_analyses",
        ["organisation_id", "language", "sentiment_source"],
    )

    op.create_table(
        "text_themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("phrases", JSON_DOCUMENT, nullable=False),
        sa.Column("implies", JSON_DOCUMENT, nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_text_themes"),
        _org_fk("text_themes"),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["text_themes.id"],
            name="fk_text_themes_merged_into_id_text_themes",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("organisation_id", "key", name="uq_text_themes_organisation_key"),
        sa.CheckConstraint(
            "origin IN ('starter', 'custom', 'discovered')", name=op.f("ck_text_themes_origin")
        ),
    )
    op.create_index("ix_text_themes_organisation_id", "text_themes", ["organisation_id"])
    op.create_index("ix_text_themes_merged_into_id", "text_themes", ["merged_into_id"])

    op.create_table(
        "response_themes",
        sa.Column("response_id", BIG_ID, nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", INSTANT, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("sentiment", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("response_id", "theme_id", name="pk_response_themes"),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["comment_analyses.response_id"],
            name="fk_response_themes_response_id_comment_analyses",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["text_themes.id"],
            name="fk_response_themes_theme_id_text_themes",
            ondelete="CASCADE",
        ),
        _org_fk("response_themes"),
        _survey_fk("response_themes"),
        sa.CheckConstraint(
            f"sentiment IN ({SENTIMENTS})", name=op.f("ck_response_themes_sentiment")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_response_themes_survey_theme",
        "response_themes",
        ["survey_id", "theme_id", "submitted_at", "response_id", "score", "sentiment"],
    )
    op.create_index("ix_response_themes_theme_id", "response_themes", ["theme_id"])

    op.create_table(
        "comment_rollups",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("survey_id", "day", "score", name="pk_comment_rollups"),
        _org_fk("comment_rollups"),
        _survey_fk("comment_rollups"),
        sa.CheckConstraint("count >= 0", name=op.f("ck_comment_rollups_count")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_comment_rollups_organisation_id", "comment_rollups", ["organisation_id"])

    op.create_table(
        "theme_rollups",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("sentiment", sa.String(8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "survey_id", "theme_id", "day", "score", "sentiment", name="pk_theme_rollups"
        ),
        _org_fk("theme_rollups"),
        _survey_fk("theme_rollups"),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["text_themes.id"],
            name="fk_theme_rollups_theme_id_text_themes",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("count >= 0", name=op.f("ck_theme_rollups_count")),
        sa.CheckConstraint(f"sentiment IN ({SENTIMENTS})", name=op.f("ck_theme_rollups_sentiment")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_theme_rollups_organisation_id", "theme_rollups", ["organisation_id"])
    op.create_index("ix_theme_rollups_theme_id", "theme_rollups", ["theme_id"])

    op.create_table(
        "sentiment_models",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("trained_at", INSTANT, nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("scored_comments_seen", sa.Integer(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "language", name="pk_sentiment_models"),
        _org_fk("sentiment_models"),
    )


def downgrade() -> None:
    op.drop_table("sentiment_models")
    op.drop_index("ix_theme_rollups_theme_id", table_name="theme_rollups")
    op.drop_index("ix_theme_rollups_organisation_id", table_name="theme_rollups")
    op.drop_table("theme_rollups")
    op.drop_index("ix_comment_rollups_organisation_id", table_name="comment_rollups")
    op.drop_table("comment_rollups")
    op.drop_index("ix_response_themes_theme_id", table_name="response_themes")
    op.drop_index("ix_response_themes_survey_theme", table_name="response_themes")
    op.drop_table("response_themes")
    op.drop_index("ix_text_themes_merged_into_id", table_name="text_themes")
    op.drop_index("ix_text_themes_organisation_id", table_name="text_themes")
    op.drop_table("text_themes")
    for index in (
        "ix_comment_analyses_organisation_language",
        "ix_comment_analyses_survey_language",
        "ix_comment_analyses_survey_submitted",
        "ix_comment_analyses_organisation_version",
    ):
        op.drop_index(index, table_name="comment_analyses")
    op.drop_table("comment_analyses")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("taxonomy_version")
        batch.drop_column("redact_comments")
