"""Email addresses in their canonical form; a user's address unique per organisation.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Schema: ``users.email`` was unique across organisations, so creating a user told an
organisation that an address had an account elsewhere. It is now unique within an
organisation (``uq_users_organisation_email``), with a plain index (``ix_users_email``) for
the login, which names no organisation (see ``store.accounts``).

Data: every stored address of contacts, users, unsubscribes and report schedules (and of
the monthly reports waiting in the outbox) is rewritten in the canonical form of
``store.email_addresses`` (NFKC, case folded, ASCII domain). The rule is imported rather
than copied: this revision's job is to bring stored data to the rule the code applies.
Where that makes two rows of one organisation one, they are merged, losing nothing:

- contacts with one address whose external ids do not differ become the oldest of them:
  the others' invitations and responses move to it, its blank fields and missing attributes
  are filled from theirs, and an audit entry (``merge``) keeps any value that differed;
  contacts whose external ids differ stay apart (the organisation's own ids say they are
  two records; invitations to them are throttled as one address anyway);
- unsubscribes of one address become one, dated at the earliest;
- users keep apart: the one already holding the canonical address (else the oldest) takes
  it, and a look-alike keeps its old spelling, which no login reaches any more (an audit
  entry names it, for an owner to remove).

A stored address without a canonical form (a control or invisible character, a mailbox
name beyond ASCII) is taken off a contact (the audit entry keeps it), dropped from a
schedule's recipients (kept in the schedule under ``refused``, since the mailer refused
the whole email for it), kept as it was on an unsubscribe (it matches nothing) and on a
user (noted in the audit log: it cannot log in).

Downgrade restores the global uniqueness of users' addresses (it fails while two
organisations have a user with one address); canonical addresses stay canonical.

One file of about 440 lines, as a revision is one step that is applied, or not, whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cxpulse.store.email_addresses import EmailRefused, canonical_email

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
INSTANT = sa.DateTime(timezone=True)
PAGE = 5000
VIA = "migration 0006 (canonical email addresses)"

_users = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("organisation_id", sa.Integer()),
    sa.column("email", sa.String()),
)
_contacts = sa.table(
    "contacts",
    sa.column("id", sa.BigInteger()),
    sa.column("organisation_id", sa.Integer()),
    sa.column("external_id", sa.String()),
    sa.column("email", sa.String()),
    sa.column("name", sa.String()),
    sa.column("locale", sa.String()),
    sa.column("attributes", JSON_DOCUMENT),
    sa.column("created_at", INSTANT),
    sa.column("updated_at", INSTANT),
)
_invitations = sa.table("invitations", sa.column("contact_id", sa.BigInteger()))
_responses = sa.table("responses", sa.column("contact_id", sa.BigInteger()))
_unsubscribes = sa.table(
    "unsubscribes",
    sa.column("id", sa.BigInteger()),
    sa.column("organisation_id", sa.Integer()),
    sa.column("email", sa.String()),
    sa.column("at", INSTANT),
)
_schedules = sa.table(
    "report_schedules",
    sa.column("id", sa.Integer()),
    sa.column("organisation_id", sa.Integer()),
    sa.column("recipients", JSON_DOCUMENT),
)
_outbox = sa.table(
    "outbox",
    sa.column("id", sa.BigInteger()),
    sa.column("kind", sa.String()),
    sa.column("state", sa.String()),
    sa.column("payload", JSON_DOCUMENT),
)
_audit = sa.table(
    "audit_log",
    sa.column("organisation_id", sa.Integer()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("details", JSON_DOCUMENT),
    sa.column("at", INSTANT),
)


def upgrade() -> None:
    # The schema first: canonical forms may make two organisations' users share an address.
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_email", type_="unique")
        batch.create_unique_constraint("uq_users_organisation_email", ["organisation_id", "email"])
    op.create_index("ix_users_email", "users", ["email"])
    connection = op.get_bind()
    now = datetime.now(UTC)
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC there, as the models do
    notes = _Notes(now)
    _users_canonical(connection, notes)
    _contacts_canonical(connection, notes, now)
    _unsubscribes_canonical(connection)
    _schedules_canonical(connection, notes)
    _queued_reports_canonical(connection)
    notes.write(connection)


def downgrade() -> None:
    op.drop_index("ix_users_email", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_organisation_email", type_="unique")
        batch.create_unique_constraint("uq_users_email", ["email"])


def _canonical(address: str) -> str | EmailRefused:
    try:
        return canonical_email(address)
    except EmailRefused as refused:
        return refused


class _Notes:
    """Audit entries of what the migration did to an organisation's rows.

    (Plain classes here: Alembic loads a revision outside ``sys.modules``, where dataclasses
    cannot resolve their annotations.)"""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.rows: list[dict[str, Any]] = []

    def add(
        self, organisation_id: int, action: str, entity: str, entity_id: int, **details: Any
    ) -> None:
        self.rows.append(
            {
                "organisation_id": organisation_id,
                "actor": "system",
                "action": action,
                "entity": entity,
                "entity_id": str(entity_id),
                "details": {"via": VIA, **details},
                "at": self.at,
            }
        )

    def write(self, connection: sa.Connection) -> None:
        if self.rows:
            connection.execute(_audit.insert(), self.rows)


def _pages(connection: sa.Connection, table: sa.TableClause, *columns: str) -> Iterator[Any]:
    """The table's rows in id order, ``PAGE`` at a time (by key, so that updating the rows
    read meanwhile cannot make a page skip or repeat any)."""
    last = None
    while True:
        query = sa.select(*(table.c[name] for name in ("id", *columns))).order_by(table.c.id)
        if last is not None:
            query = query.where(table.c.id > last)
        rows = connection.execute(query.limit(PAGE)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


# -- users -------------------------------------------------------------------------------------


def _users_canonical(connection: sa.Connection, notes: _Notes) -> None:
    groups: dict[tuple[int, str], list[Any]] = {}
    for row in _pages(connection, _users, "organisation_id", "email"):
        canonical = _canonical(row.email)
        if isinstance(canonical, EmailRefused):
            notes.add(
                row.organisation_id,
                "update",
                "user",
                row.id,
                problem=f"the user's address {canonical.reason}; it cannot log in with it",
            )
            continue
        groups.setdefault((row.organisation_id, canonical), []).append(row)
    for (organisation_id, canonical), rows in groups.items():
        holder = next((row for row in rows if row.email == canonical), rows[0])
        if holder.email != canonical:
            connection.execute(
                _users.update().where(_users.c.id == holder.id).values(email=canonical)
            )
        for row in rows:
            if row is not holder:
                notes.add(
                    organisation_id,
                    "update",
                    "user",
                    row.id,
                    problem=f"the user's address is a look-alike of user {holder.id}'s; "
                    "it cannot log in with it",
                )


# -- contacts ----------------------------------------------------------------------------------


def _contacts_canonical(connection: sa.Connection, notes: _Notes, now: datetime) -> None:
    changes: list[dict[str, Any]] = []
    for row in _pages(connection, _contacts, "organisation_id", "email"):
        if row.email is None:
            continue
        canonical = _canonical(row.email)
        if isinstance(canonical, EmailRefused):
            changes.append({"key": row.id, "email": None})
            notes.add(
                row.organisation_id,
                "update",
                "contact",
                row.id,
                removed_email=row.email,
                problem=f"the address {canonical.reason}",
            )
        elif canonical != row.email:
            changes.append({"key": row.id, "email": canonical})
        if len(changes) >= PAGE:
            _set_emails(connection, changes)
    _set_emails(connection, changes)
    shared = connection.execute(
        sa.select(_contacts.c.organisation_id, _contacts.c.email)
        .where(_contacts.c.email.is_not(None))
        .group_by(_contacts.c.organisation_id, _contacts.c.email)
        .having(sa.func.count() > 1)
    ).all()
    for organisation_id, address in shared:
        rows = connection.execute(
            sa.select(_contacts)
            .where(_contacts.c.organisation_id == organisation_id, _contacts.c.email == address)
            .order_by(_contacts.c.id)
        ).all()
        _merge_contacts(connection, notes, now, [_Contact(row) for row in rows])


def _set_emails(connection: sa.Connection, changes: list[dict[str, Any]]) -> None:
    if changes:
        connection.execute(
            _contacts.update()
            .where(_contacts.c.id == sa.bindparam("key"))
            .values(email=sa.bindparam("email")),
            changes,
        )
        changes.clear()


class _Contact:
    """A contact's row as a merge changes it."""

    def __init__(self, row: Any) -> None:
        self.id: int = row.id
        self.organisation_id: int = row.organisation_id
        self.external_id: str | None = row.external_id
        self.name: str | None = row.name
        self.locale: str | None = row.locale
        self.attributes: dict[str, Any] = dict(row.attributes or {})
        self.created_at: datetime = row.created_at
        self.changed = False


def _merge_contacts(
    connection: sa.Connection, notes: _Notes, now: datetime, rows: Sequence[_Contact]
) -> None:
    """Merge each contact into the oldest kept one whose external id does not differ."""
    kept: list[_Contact] = []
    for row in rows:
        into = next(
            (
                k
                for k in kept
                if k.external_id is None
                or row.external_id is None
                or k.external_id == row.external_id
            ),
            None,
        )
        if into is None:
            kept.append(row)
            continue
        for table in (_invitations, _responses):
            connection.execute(
                table.update().where(table.c.contact_id == row.id).values(contact_id=into.id)
            )
        # Deleted before ``into`` may take its external id, which is unique.
        connection.execute(_contacts.delete().where(_contacts.c.id == row.id))
        differing: dict[str, Any] = {}
        for name in ("external_id", "name", "locale"):
            mine, theirs = getattr(into, name), getattr(row, name)
            if mine is None and theirs is not None:
                setattr(into, name, theirs)
            elif theirs is not None and theirs != mine:
                differing[name] = theirs
        for key, value in row.attributes.items():
            if key not in into.attributes:
                into.attributes[key] = value
            elif into.attributes[key] != value:
                differing[f"attributes.{key}"] = value
        into.created_at = min(into.created_at, row.created_at, key=_instant)
        into.changed = True
        notes.add(
            into.organisation_id,
            "merge",
            "contact",
            into.id,
            merged_contact=row.id,
            reason="one address in its canonical form",
            differing=differing,
        )
    for contact in kept:
        if contact.changed:
            connection.execute(
                _contacts.update()
                .where(_contacts.c.id == contact.id)
                .values(
                    external_id=contact.external_id,
                    name=contact.name,
                    locale=contact.locale,
                    attributes=contact.attributes,
                    created_at=contact.created_at,
                    updated_at=now,
                )
            )


def _instant(value: datetime) -> datetime:
    """Comparable whichever way the driver returned it (naive UTC on SQLite)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- unsubscribes ------------------------------------------------------------------------------


def _unsubscribes_canonical(connection: sa.Connection) -> None:
    for row in _pages(connection, _unsubscribes, "organisation_id", "email", "at"):
        canonical = _canonical(row.email)
        if isinstance(canonical, EmailRefused) or canonical == row.email:
            continue  # one without a canonical form matches nothing: harmless, kept as it was
        same = connection.execute(
            sa.select(_unsubscribes.c.id, _unsubscribes.c.at).where(
                _unsubscribes.c.organisation_id == row.organisation_id,
                _unsubscribes.c.email == canonical,
            )
        ).first()
        if same is None:
            connection.execute(
                _unsubscribes.update().where(_unsubscribes.c.id == row.id).values(email=canonical)
            )
            continue
        connection.execute(_unsubscribes.delete().where(_unsubscribes.c.id == row.id))
        if _instant(row.at) < _instant(same.at):
            connection.execute(
                _unsubscribes.update().where(_unsubscribes.c.id == same.id).values(at=row.at)
            )


# -- report schedules and the reports they queued ---------------------------------------------


def _recipients(emails: object) -> tuple[list[str], list[str]]:
    """The canonical addresses, each once, and the entries that have no canonical form."""
    kept: list[str] = []
    refused: list[str] = []
    for email in emails if isinstance(emails, list) else []:
        canonical = _canonical(str(email))
        if isinstance(canonical, EmailRefused):
            refused.append(str(email))
        elif canonical not in kept:
            kept.append(canonical)
    return kept, refused


def _schedules_canonical(connection: sa.Connection, notes: _Notes) -> None:
    for row in connection.execute(
        sa.select(_schedules.c.id, _schedules.c.organisation_id, _schedules.c.recipients)
    ).all():
        recipients = dict(row.recipients or {})
        emails = recipients.get("emails", [])
        kept, refused = _recipients(emails)
        if kept == emails and not refused:
            continue
        recipients["emails"] = kept
        if refused:
            recipients["refused"] = [*recipients.get("refused", []), *refused]
            notes.add(
                row.organisation_id,
                "update",
                "report_schedule",
                row.id,
                problem=f"{len(refused)} recipients had no valid address and were taken off",
            )
        connection.execute(
            _schedules.update().where(_schedules.c.id == row.id).values(recipients=recipients)
        )


def _queued_reports_canonical(connection: sa.Connection) -> None:
    """Reports waiting to be sent would fail for every recipient over one bad address."""
    for row in connection.execute(
        sa.select(_outbox.c.id, _outbox.c.payload).where(
            _outbox.c.kind == "report", _outbox.c.state == "pending"
        )
    ).all():
        payload = dict(row.payload or {})
        recipients = payload.get("recipients", [])
        kept, refused = _recipients(recipients)
        if kept == recipients and not refused:
            continue
        payload["recipients"] = kept
        connection.execute(_outbox.update().where(_outbox.c.id == row.id).values(payload=payload))
