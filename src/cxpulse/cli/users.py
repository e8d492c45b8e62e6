"""``cxpulse create-user``: a user who logs in with an email address and a password."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import open_store, settings_for
from cxpulse.cli.options import DatabaseOption, RequiredOrgOption
from cxpulse.cli.root import app


class RoleOption(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ANALYST = "analyst"
    AGENT = "agent"
    VIEWER = "viewer"


def _read_password(password: str | None) -> str:
    if password == "-":  # noqa: S105 (the "read standard input" marker)
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            fail("--password -: standard input held no password")
        return line
    if password is not None:
        fail(
            "--password only takes '-' (read it from standard input), so that it stays out of "
            "your shell history; leave it out to be asked",
            code=2,
        )
    if not sys.stdin.isatty():
        fail("no terminal to ask for the password on: pass --password - and pipe it in", code=2)
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


@app.command(
    name="create-user",
    epilog=(
        "Examples:\n\n"
        "cxpulse create-user --org acme --create-org 'Acme Ltd' --email ana@acme.example "
        "--role owner\n\n"
        'echo "$PASSWORD" | cxpulse create-user --org acme --email bo@acme.example '
        "--role analyst --password -"
    ),
)
def create_user(
    org: RequiredOrgOption,
    email: Annotated[
        str,
        typer.Option(
            "--email",
            help="Login email address, unique within the organisation (stored lower-cased, "
            "Unicode normalised, its domain in ASCII).",
            show_default=False,
        ),
    ],
    role: Annotated[
        RoleOption,
        typer.Option(
            "--role",
            help="owner, admin, analyst, agent or viewer.",
            case_sensitive=False,
            show_default=False,
        ),
    ],
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            metavar="-",
            help="'-' reads the password from standard input; without it you are asked twice.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    create_org: Annotated[
        str | None,
        typer.Option(
            "--create-org",
            metavar="NAME",
            help="Create the organisation SLUG with this name if it does not exist.",
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Create a user who logs in with an email address and a password (8 characters or more)."""
    from cxpulse.store import accounts, system_accounts
    from cxpulse.store.errors import NotFound

    settings = settings_for(database)
    secret = _read_password(password)
    with open_store(settings) as sessions, sessions.begin() as session:
        created_org = False
        try:
            organisation = accounts.get_organisation_by_slug(session, org)
        except NotFound:
            if create_org is None:
                fail(f"no organisation {org!r}; add --create-org NAME to create it")
            organisation = system_accounts.create_organisation(
                session, slug=org, name=create_org, via="cli"
            )
            created_org = True
        user = system_accounts.create_user(
            session,
            organisation.id,
            email=email,
            password=secret,
            role=role.value,
            name=name,
            via="cli",
        )
        user_id, user_email, org_slug, org_name = (
            user.id,
            user.email,
            organisation.slug,
            organisation.name,
        )
    out = console()
    if created_org:
        out.print(f"created organisation {org_slug} ({org_name})", soft_wrap=True)
    out.print(f"created user {user_id}: {user_email}, {role.value} of {org_slug}", soft_wrap=True)
