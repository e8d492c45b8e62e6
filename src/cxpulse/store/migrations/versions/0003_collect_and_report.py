"""Collection (invitations, unsubscribes, the outbox, survey page options) and reporting
(goals, monthly report schedules).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Existing surveys get the defaults: numbers, no options, the organisation's throttling and
no reminder. ``responses`` gains a unique index on ``invitation_id`` (no foreign key, which
would rebuild the table on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)


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


def _org_index(table: str) -> None:
    op.create_index(f"ix_{table}_organisation_id", table, ["organisation_id"])


def upgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(
            sa.Column("presentation", sa.String(16), nullable=False, server_default="numbers")
        )
        batch.add_column(
            sa.Column("collect_options", JSON_DOCUMENT, nullable=False, server_default="{}")
        )
        batch.add_column(sa.Column("throttle_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reminder_days", sa.Integer(), nullable=True))
    op.create_index("uq_responses_invitation_id", "responses", ["invitation_id"], unique=True)

    op.create_table(
        "invitations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("language", sa.String(35), nullable=True),
        sa.Column("properties", JSON_DOCUMENT, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("send_at", INSTANT, nullable=False),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("opened_at", INSTANT, nullable=True),
        sa.Column("reminded_at", INSTANT, nullable=True),
        sa.Column("expires_at", INSTANT, nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        _org_fk("invitations"),
        _survey_fk("invitations"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_invitations_contact_id_contacts",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "organisation_id", "idempotency_key", name="uq_invitations_organisation_key"
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sent', 'failed', 'throttled', 'unsubscribed', 'cancelled')",
            name=op.f("ck_invitations_status"),
        ),
    )
    _org_index("invitations")
    op.create_index("ix_invitations_contact_sent", "invitations", ["contact_id", "sent_at"])
    op.create_index("ix_invitations_status_send_at", "invitations", ["status", "send_at"])
    op.create_index("ix_invitations_survey_created", "invitations", ["survey_id", "created_at"])

    op.create_table(
        "unsubscribes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_unsubscribes"),
        _org_fk("unsubscribes"),
        sa.UniqueConstraint("organisation_id", "email", name="uq_unsubscribes_organisation_email"),
    )
    _org_index("unsubscribes")

    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", INSTANT, nullable=False),
        sa.Column("locked_until", INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("done_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        _org_fk("outbox"),
        sa.UniqueConstraint("organisation_id", "dedupe_key", name="uq_outbox_organisation_dedupe"),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'dead')", name=op.f("ck_outbox_state")
        ),
    )
    _org_index("outbox")
    op.create_index("ix_outbox_state_available", "outbox", ["state", "available_at"])

    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("segment", JSON_DOCUMENT, nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("baseline_date", sa.Date(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_goals"),
        _org_fk("goals"),
        _survey_fk("goals"),
    )
    _org_index("goals")
    op.create_index("ix_goals_survey_id", "goals", ["survey_id"])

    op.create_table(
        "report_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("recipients", JSON_DOCUMENT, nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_month_sent", sa.String(7), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_schedules"),
        _org_fk("report_schedules"),
        _survey_fk("report_schedules"),
    )
    _org_index("report_schedules")
    op.create_index("ix_report_schedules_survey_id", "report_schedules", ["survey_id"])


def downgrade() -> None:
    for table in ("report_schedules", "goals", "outbox", "unsubscribes", "invitations"):
        op.drop_table(table)
    op.drop_index("uq_responses_invitation_id", table_name="responses")
    with op.batch_alter_table("surveys") as batch:
        for column in ("reminder_days", "throttle_days", "collect_options", "presentation"):
            batch.drop_column(column)
