"""``cxpulse contact-data export|erase``: a contact's data-subject requests from the shell,
the same functions and audit entries as the API (the actor is ``system``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import open_store, organisation_named, settings_for
from cxpulse.cli.options import DatabaseOption, OrgOption
from cxpulse.cli.root import command_group

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

privacy_app = command_group(
    "contact-data",
    help="A contact's data: export everything held about them, or erase it (GDPR).",
    epilog="Examples: `cxpulse contact-data export anna@example.se --org acme > anna.json`; "
    "`cxpulse contact-data erase 1234 --mode anonymise --confirm 1234 --org acme`.",
)


class Mode(StrEnum):
    ANONYMISE = "anonymise"
    DELETE = "delete"


ContactArgument = Annotated[
    str, typer.Argument(help="The contact's id, or e-mail address when only one has it.")
]


def contact_id_of(session: Session, organisation_id: int, contact: str) -> int:
    """The id ``contact`` names: an id as is, an address when exactly one contact has it."""
    from cxpulse.store.contact_data import contact_ids_with_email

    given = contact.strip()
    if given.isdigit():
        return int(given)
    if "@" not in given:
        fail(f"{contact!r} is neither a contact id nor an e-mail address", code=2)
    found = contact_ids_with_email(session, organisation_id, given)
    if not found:
        fail(f"no contact with the address {given}")
    if len(found) > 1:
        listed = ", ".join(str(i) for i in found)
        fail(f"{len(found)} contacts have the address {given} (ids {listed}): name one by id")
    return found[0]


@contextlib.contextmanager
def _contact_transaction(
    database: str | None, org: str | None, contact: str
) -> Iterator[tuple[Session, int, int]]:
    """A transaction of the organisation ``org`` (committed when the block ends well), with the
    organisation's id and the id of the contact that ``contact`` names."""
    with open_store(settings_for(database)) as sessions, sessions.begin() as session:
        organisation = organisation_named(session, org)
        yield session, organisation.id, contact_id_of(session, organisation.id, contact)


@privacy_app.command(
    "export",
    epilog="Examples:\n\n"
    "cxpulse contact-data export 1234 --org acme > contact-1234.json\n\n"
    "cxpulse contact-data export anna@example.se --output anna.json",
)
def export_command(
    contact: ContactArgument,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the JSON here instead of standard output."),
    ] = None,
    org: OrgOption = None,
    database: DatabaseOption = None,
) -> None:
    """Everything held about a contact, as JSON (recorded in the audit log)."""
    from cxpulse.act import contact_privacy
    from cxpulse.store.audit import SYSTEM

    with _contact_transaction(database, org, contact) as (session, organisation_id, contact_id):
        document = contact_privacy.export_contact(session, organisation_id, contact_id)
        contact_privacy.record_export(session, organisation_id, contact_id, actor=SYSTEM)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}", code=2)
    console(stderr=True).print(f"wrote {output}", soft_wrap=True, markup=False)


@privacy_app.command(
    "erase",
    epilog="Examples:\n\n"
    "cxpulse contact-data erase 1234 --mode anonymise --confirm 1234\n\n"
    "cxpulse contact-data erase anna@example.se --mode delete --confirm anna@example.se",
)
def erase_command(
    contact: ContactArgument,
    mode: Annotated[
        Mode,
        typer.Option(
            "--mode",
            help="anonymise: answers keep their scores for statistics, without identity or "
            "comment; delete: the answers go too.",
        ),
    ],
    confirm: Annotated[
        str,
        typer.Option("--confirm", metavar="ID-OR-EMAIL", help="The contact's id or address again."),
    ],
    forget_opt_outs: Annotated[
        bool,
        typer.Option(
            "--forget-opt-outs",
            help="Also delete the unsubscribe of the address and the SMS opt-out of the phone "
            "(kept by default, so that the person is not written to again).",
        ),
    ] = False,
    org: OrgOption = None,
    database: DatabaseOption = None,
) -> None:
    """Erase a contact everywhere, in one transaction (recorded in the audit log)."""
    from cxpulse.act import contact_privacy
    from cxpulse.store.audit import SYSTEM

    with _contact_transaction(database, org, contact) as (session, organisation_id, contact_id):
        erasure = contact_privacy.erase_contact(
            session,
            organisation_id,
            contact_id,
            mode=mode.value,
            confirmation=confirm,
            actor=SYSTEM,
            keep_opt_outs=not forget_opt_outs,
        )
    out = console()
    if erasure.already_erased:
        out.print(f"contact {contact_id} was erased before ({erasure.mode}): nothing left")
        return
    changed = ", ".join(
        f"{name.replace('_', ' ')}: {count:,}"
        for name, count in erasure.counts.as_dict().items()
        if count
    )
    out.print(f"contact {contact_id} erased ({erasure.mode}); {changed}", soft_wrap=True)
