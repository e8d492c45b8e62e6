"""``cxpulse contacts import``: create or update contacts, the people invitations go to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import open_store, organisation_named, settings_for
from cxpulse.cli.options import DatabaseOption, OrgOption
from cxpulse.cli.root import command_group

contacts_app = command_group(
    "contacts",
    help="Contacts: the people invitations go to.",
    epilog="Example: `cxpulse contacts import customers.csv --org acme` "
    "(columns email, name, locale, external_id; any other column becomes an attribute).",
)


def read_text(file: Path, encoding: str | None = None) -> str:
    """The file's text by the rule of file imports (``encoding`` when named); a clear error
    naming the line of a byte not valid in its encoding."""
    from cxpulse.collect.contacts_csv import CsvProblem, decode
    from cxpulse.engine.encoding import EncodingProblem, check_encoding_name

    try:
        named = check_encoding_name(encoding) if encoding is not None else None
    except EncodingProblem as error:
        fail(str(error), code=2)
    try:
        return decode(file.read_bytes(), named)
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}", code=2)
    except CsvProblem as error:
        fail(f"{file}: {error}", code=2)


@contacts_app.command(
    "import",
    epilog=(
        "Examples:\n\n"
        "cxpulse contacts import customers.csv\n\n"
        "cxpulse contacts import crm_export.csv --org acme --skip-invalid\n\n"
        "The file: a header `external_id,email,name,locale,plan,region` and one contact a line; "
        "columns other than the first four become attributes."
    ),
)
def contacts_import(
    file: Annotated[Path, typer.Argument(help="A CSV file (comma, semicolon or tab).")],
    org: OrgOption = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows, list the others.")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="The file's text encoding, such as windows-1252. Default: UTF-8 (UTF-16 "
            "with a BOM; a legacy file without any UTF-8 character as Windows-1252).",
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Create or update contacts from a CSV file, by external_id, else by email."""
    from cxpulse.collect.contacts_csv import CsvProblem, import_contacts, parse_contacts

    text = read_text(file, encoding)
    try:
        parsed = parse_contacts(text)
    except CsvProblem as error:
        fail(f"{file}: {error}", code=2)
    out = console(stderr=True)
    for problem in parsed.problems[:20]:
        out.print(f"{file}: {problem}", soft_wrap=True, markup=False)
    if parsed.problems and not skip_invalid:
        fail(f"{len(parsed.problems)} invalid rows: nothing imported (or pass --skip-invalid)")
    settings = settings_for(database)
    with open_store(settings) as sessions, sessions.begin() as session:
        organisation = organisation_named(session, org)
        result = import_contacts(
            session, organisation.id, parsed.rows, parsed.problems, skip_invalid=True
        )
    console().print(
        f"contacts: {result.created:,} created, {result.updated:,} updated, "
        f"{result.invalid:,} invalid rows skipped",
        soft_wrap=True,
    )
