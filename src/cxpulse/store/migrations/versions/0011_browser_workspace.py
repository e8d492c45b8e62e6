"""The browser workspace: follow-up questions and their answers, imports that can be undone,
organisation branding and email settings, invited users, unverified answers, archived surveys.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

New tables, nullable (or defaulted) columns, and the survey status check widened to
``archived`` (``surveys`` is small, so SQLite's table rebuild for the check is cheap; the large
``responses`` table only gains columns, which neither database rewrites). Types are spelled
out here rather than imported from the models, so that this revision keeps creating the same
schema after the models move on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)
OLD_STATUSES = "status IN ('draft', 'active', 'closed')"
NEW_STATUSES = "status IN ('draft', 'active', 'closed', 'archived')"


def _organisation_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organisation_id"],
        ["organisations.id"],
        name=op.f(f"fk_{table}_organisation_id_organisations"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.drop_constraint(op.f("ck_surveys_status"), type_="check")
        batch.create_check_constraint(op.f("ck_surveys_status"), NEW_STATUSES)
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(
            sa.Column("default_language", sa.String(35), nullable=False, server_default="en")
        )
        batch.add_column(sa.Column("accent_colour", sa.String(7), nullable=True))
        batch.add_column(sa.Column("logo", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("logo_type", sa.String(32), nullable=True))
        batch.add_column(sa.Column("sender_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("reply_to", sa.String(320), nullable=True))
    op.add_column("users", sa.Column("invited_at", INSTANT, nullable=True))
    op.add_column(
        "responses",
        sa.Column("unverified", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("responses", sa.Column("import_run_id", sa.Integer(), nullable=True))
    op.create_index(
        op.f("ix_responses_import_run_id"), "responses", ["import_run_id"], unique=False
    )
    op.create_table(
        "survey_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("labels", JSON_DOCUMENT, nullable=False),
        sa.Column("choices", JSON_DOCUMENT, nullable=False),
        sa.Column("scale_low", sa.Integer(), nullable=True),
        sa.Column("scale_high", sa.Integer(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.CheckConstraint(
            "kind IN ('rating', 'choice', 'text')", name=op.f("ck_survey_questions_kind")
        ),
        _organisation_fk("survey_questions"),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_questions_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_questions")),
    )
    op.create_index(
        op.f("ix_survey_questions_organisation_id"), "survey_questions", ["organisation_id"]
    )
    op.create_index(
        "ix_survey_questions_survey_position", "survey_questions", ["survey_id", "position"]
    )
    op.create_table(
        "response_answers",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("response_id", BIG_ID, nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("choice", sa.String(100), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        _organisation_fk("response_answers"),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_response_answers_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_response_answers_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["survey_questions.id"],
            name=op.f("fk_response_answers_question_id_survey_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_answers")),
        sa.UniqueConstraint(
            "response_id", "question_id", name="uq_response_answers_response_question"
        ),
    )
    op.create_index(
        op.f("ix_response_answers_organisation_id"), "response_answers", ["organisation_id"]
    )
    op.create_index(
        "ix_response_answers_question_score", "response_answers", ["question_id", "score"]
    )
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("preset", sa.String(32), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("undone_at", INSTANT, nullable=True),
        _organisation_fk("import_runs"),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_import_runs_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_import_runs_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_index(op.f("ix_import_runs_organisation_id"), "import_runs", ["organisation_id"])
    op.create_index(op.f("ix_import_runs_created_by"), "import_runs", ["created_by"])


def downgrade() -> None:
    op.drop_table("import_runs")
    op.drop_table("response_answers")
    op.drop_table("survey_questions")
    op.drop_index(op.f("ix_responses_import_run_id"), table_name="responses")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("import_run_id")
        batch.drop_column("unverified")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("invited_at")
    with op.batch_alter_table("organisations") as batch:
        for column in (
            "reply_to",
            "sender_name",
            "logo_type",
            "logo",
            "accent_colour",
            "default_language",
        ):
            batch.drop_column(column)
    op.execute("UPDATE surveys SET status = 'closed' WHERE status = 'archived'")
    with op.batch_alter_table("surveys") as batch:
        batch.drop_constraint(op.f("ck_surveys_status"), type_="check")
        batch.create_check_constraint(op.f("ck_surveys_status"), OLD_STATUSES)
