"""Outbox items gain two states around the end of an email's delivery.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

``completing``: the send is committed and the end-of-data line is on its way to the SMTP
server; ``unconfirmed``: the worker stopped (or the connection dropped) before the server's
verdict was read, so whether the email arrived is unknown. Only the check constraint on
``outbox.state`` changes (on SQLite the batch rebuilds the table, rows kept).
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_BEFORE = "state IN ('pending', 'sending', 'sent', 'dead')"
_AFTER = "state IN ('pending', 'sending', 'completing', 'sent', 'unconfirmed', 'dead')"


def _replace_state_check(condition: str) -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_state"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_state"), condition)


def upgrade() -> None:
    _replace_state_check(_AFTER)


def downgrade() -> None:
    # The new states mean "sent, as far as anyone can tell" to the old schema.
    op.execute("UPDATE outbox SET state = 'sent' WHERE state IN ('completing', 'unconfirmed')")
    _replace_state_check(_BEFORE)
