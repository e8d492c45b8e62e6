"""Organisations, accounts, API keys, surveys, contacts, responses and the audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Types are spelled out here rather than imported from the models, so that this revision keeps
creating the same schema after the models move on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
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


def _org_index(table: str) -> None:
    op.create_index(f"ix_{table}_organisation_id", table, ["organisation_id"])


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("industry", sa.String(100), nullable=True),
        sa.Column("throttle_days", sa.Integer(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("slug", name="uq_organisations_slug"),
    )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_login_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        _org_fk("users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'analyst', 'agent', 'viewer')", name=op.f("ck_users_role")
        ),
    )
    _org_index("users")

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_used_at", INSTANT, nullable=True),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        _org_fk("api_keys"),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name="fk_api_keys_created_by_users",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f("ck_api_keys_scope")),
    )
    _org_index("api_keys")
    op.create_index("ix_api_keys_created_by", "api_keys", ["created_by"])

    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(8), nullable=False),
        sa.Column("scale_low", sa.Integer(), nullable=False),
        sa.Column("scale_high", sa.Integer(), nullable=False),
        sa.Column("top_min", sa.Float(), nullable=True),
        sa.Column("bottom_max", sa.Float(), nullable=True),
        sa.Column("questions", JSON_DOCUMENT, nullable=False),
        sa.Column("default_language", sa.String(35), nullable=False),
        sa.Column("touchpoint", sa.String(100), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_surveys"),
        _org_fk("surveys"),
        sa.UniqueConstraint("organisation_id", "slug", name="uq_surveys_organisation_slug"),
        sa.CheckConstraint(
            "metric IN ('csat', 'dsat', 'nps', 'ces', 'mean')", name=op.f("ck_surveys_metric")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'closed')", name=op.f("ck_surveys_status")
        ),
        sa.CheckConstraint("scale_high > scale_low", name=op.f("ck_surveys_scale")),
    )
    _org_index("surveys")

    op.create_table(
        "contacts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("locale", sa.String(35), nullable=True),
        sa.Column("attributes", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        _org_fk("contacts"),
        sa.UniqueConstraint(
            "organisation_id", "external_id", name="uq_contacts_organisation_external"
        ),
    )
    _org_index("contacts")
    op.create_index("ix_contacts_organisation_email", "contacts", ["organisation_id", "email"])

    op.create_table(
        "responses",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("language", sa.String(35), nullable=True),
        sa.Column("channel", sa.String(50), nullable=True),
        sa.Column("touchpoint", sa.String(100), nullable=True),
        sa.Column("properties", JSON_DOCUMENT, nullable=False),
        sa.Column("submitted_at", INSTANT, nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("invitation_id", BIG_ID, nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_responses"),
        _org_fk("responses"),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name="fk_responses_survey_id_surveys", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_responses_contact_id_contacts",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint(
            "organisation_id", "survey_id", "idempotency_key", name="uq_responses_idempotency"
        ),
        sa.CheckConstraint(
            "source IN ('api', 'import', 'web', 'email', 'widget', 'demo')",
            name=op.f("ck_responses_source"),
        ),
    )
    _org_index("responses")
    op.create_index("ix_responses_contact_id", "responses", ["contact_id"])
    op.create_index("ix_responses_keyset", "responses", ["survey_id", "submitted_at", "id"])
    op.create_index("ix_responses_survey_score", "responses", ["survey_id", "score"])

    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        _org_fk("audit_log"),
    )
    _org_index("audit_log")
    op.create_index("ix_audit_log_organisation_at", "audit_log", ["organisation_id", "at"])


def downgrade() -> None:
    for table in ("audit_log", "responses", "contacts", "surveys", "api_keys", "users"):
        op.drop_table(table)
    op.drop_table("organisations")
