"""``cxpulse invite`` and ``cxpulse throttle``: invitations to answer a survey by email
(sent by the worker), and how often one contact may be invited."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.contacts import read_text
from cxpulse.cli.database import open_store, organisation_named, settings_for, survey_named
from cxpulse.cli.options import DatabaseOption, OrgOption, SurveyOption
from cxpulse.cli.root import app

if TYPE_CHECKING:
    from cxpulse.collect.invitations import InvitationRequest


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse invite --survey support-csat customers.csv\n\n"
        "cxpulse invite --survey nps --contact ana@example.com --contact crm-1042 --delay 24h\n\n"
        "The file has the columns of `cxpulse contacts import`, and optionally `delay`, "
        "`language` and `idempotency_key`."
    ),
)
def invite(
    survey: SurveyOption,
    file: Annotated[
        Path | None, typer.Argument(help="A CSV file of contacts to invite.", show_default=False)
    ] = None,
    contact: Annotated[
        list[str] | None,
        typer.Option(
            "--contact",
            metavar="EMAIL|EXTERNAL_ID",
            help="Invite this contact (repeatable): an email address, else an external id.",
            show_default=False,
        ),
    ] = None,
    delay: Annotated[
        str | None,
        typer.Option("--delay", help="Send after this long: 30m, 24h, 2d.", show_default=False),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option("--language", help="en, sv, nl, mk, de, fr, es or pt.", show_default=False),
    ] = None,
    org: OrgOption = None,
    database: DatabaseOption = None,
) -> None:
    """Invite contacts to answer a survey by email (sent by the worker)."""
    from cxpulse.collect.invitations import InvitationRequest, create_invitations, parse_delay
    from cxpulse.store.errors import Invalid

    if file is None and not contact:
        fail("name a CSV file or at least one --contact", code=2)
    if delay is not None:
        try:
            parse_delay(delay)
        except ValueError as error:
            fail(f"--delay: {error}", code=2)
    requests: list[InvitationRequest] = []
    if file is not None:
        requests.extend(_file_requests(file, delay, language))
    for named in contact or []:
        is_email = "@" in named
        requests.append(
            InvitationRequest(
                email=named if is_email else None,
                external_id=None if is_email else named,
                delay=delay,
                language=language,
            )
        )
    settings = settings_for(database)
    with open_store(settings) as sessions, sessions.begin() as session:
        target = survey_named(session, survey, org)
        try:
            made = create_invitations(session, target.organisation_id, target.id, requests)
        except Invalid as error:
            where = f"contact {error.index + 1}: " if error.index is not None else ""
            fail(f"{where}{error.field}: {error.message}; nothing was stored", code=2)
    counts: dict[str, int] = {}
    for triggered in made:
        counts[triggered.invitation.status] = counts.get(triggered.invitation.status, 0) + 1
    repeated = sum(1 for t in made if not t.created)
    summary = ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items()))
    console().print(
        f"invitations for {target.slug}: {summary}"
        + (f" ({repeated:,} repeated an idempotency key)" if repeated else ""),
        soft_wrap=True,
    )


def _file_requests(file: Path, delay: str | None, language: str | None) -> list[InvitationRequest]:
    from cxpulse.collect.contacts_csv import CsvProblem, parse_contacts
    from cxpulse.collect.invitations import InvitationRequest as Request

    try:
        parsed = parse_contacts(read_text(file))
    except CsvProblem as error:
        fail(f"{file}: {error}", code=2)
    if parsed.problems:
        for problem in parsed.problems[:20]:
            console(stderr=True).print(f"{file}: {problem}", soft_wrap=True, markup=False)
        fail(f"{len(parsed.problems)} invalid rows: nothing was stored", code=2)
    requests: list[InvitationRequest] = []
    for row in parsed.rows:
        own = {
            k: row.attributes.pop(k)
            for k in ("delay", "language", "idempotency_key")
            if k in row.attributes
        }
        requests.append(
            Request(
                external_id=row.external_id,
                email=row.email,
                name=row.name,
                locale=row.locale,
                attributes=row.attributes or None,
                delay=own.get("delay", delay),
                language=own.get("language", language),
                idempotency_key=own.get("idempotency_key"),
            )
        )
    return requests


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse throttle\n\n"
        "cxpulse throttle 14 --org acme\n\n"
        "cxpulse throttle 0    # no throttling, except for surveys with their own throttle_days"
    ),
)
def throttle(
    days: Annotated[
        int | None,
        typer.Argument(
            help="The new least days between two invitations to one contact (0: off); "
            "without it, show the current value.",
            show_default=False,
        ),
    ] = None,
    org: OrgOption = None,
    database: DatabaseOption = None,
) -> None:
    """Show or set the organisation's throttle: at most one invitation per contact per N days."""
    from cxpulse.collect.invitations import MAX_THROTTLE_DAYS, set_organisation_throttle
    from cxpulse.store import audit

    if days is not None and not 0 <= days <= MAX_THROTTLE_DAYS:
        fail(f"DAYS must be from 0 to {MAX_THROTTLE_DAYS} (0: off)", code=2)
    settings = settings_for(database)
    with open_store(settings) as sessions, sessions.begin() as session:
        organisation = organisation_named(session, org)
        slug = organisation.slug
        if days is None:
            current = organisation.throttle_days
        else:
            previous = set_organisation_throttle(session, organisation.id, days)
            audit.record_system(
                session,
                organisation.id,
                "update",
                "organisation",
                organisation.id,
                details={"throttle_days": {"from": previous, "to": days}, "via": "cli"},
            )
            current = days
    shown = "off" if current == 0 else f"at most one invitation per contact every {current} days"
    console().print(f"throttle of {slug}: {shown}", soft_wrap=True)
