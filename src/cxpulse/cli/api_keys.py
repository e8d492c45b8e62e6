"""``cxpulse api-key create|list|revoke``: Bearer tokens for scripts and integrations."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import open_store, organisation_named, settings_for
from cxpulse.cli.options import DatabaseOption, RequiredOrgOption
from cxpulse.cli.root import command_group

if TYPE_CHECKING:
    from cxpulse.store.models import ApiKey

api_key_app = command_group(
    "api-key",
    help="Create, list and revoke API keys: Bearer tokens for scripts and integrations.",
    epilog="Example: `cxpulse api-key create --org acme --name helpdesk --scope write` "
    "(prints the key once; store it in your helpdesk's secret settings).",
)


class ScopeOption(StrEnum):
    READ = "read"
    WRITE = "write"


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _key_row(key: ApiKey, organisation_slug: str) -> dict[str, Any]:
    from cxpulse.store.security import API_KEY_TAG

    return {
        "id": key.id,
        "organisation": organisation_slug,
        "name": key.name,
        "prefix": f"{API_KEY_TAG}_{key.prefix}",
        "scope": key.scope,
        "created_at": key.created_at.isoformat(timespec="seconds"),
        "last_used_at": key.last_used_at.isoformat(timespec="seconds")
        if key.last_used_at
        else None,
        "revoked_at": key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else None,
    }


@api_key_app.command(
    name="create",
    epilog=(
        "Examples:\n\n"
        "cxpulse api-key create --org acme --name 'Zendesk sync' --scope write\n\n"
        "KEY=$(cxpulse api-key create --org acme --name dashboards --scope read)"
    ),
)
def api_key_create(
    org: RequiredOrgOption,
    name: Annotated[
        str,
        typer.Option("--name", help="What the key is for, to tell keys apart.", show_default=False),
    ],
    scope: Annotated[
        ScopeOption,
        typer.Option(
            "--scope",
            help="read: surveys, responses, metrics, exports; write: also submit and change.",
            case_sensitive=False,
            show_default=False,
        ),
    ],
    database: DatabaseOption = None,
) -> None:
    """Create an API key and print it, once: only its hash is stored.

    The key goes to standard output alone, the notes to standard error, so that scripts can
    capture it. Send it in the header `Authorization: Bearer KEY`, KEY being the key.
    """
    from cxpulse.store import accounts, audit

    settings = settings_for(database)
    with open_store(settings) as sessions, sessions.begin() as session:
        organisation = organisation_named(session, org)
        key, plaintext = accounts.create_api_key(
            session, organisation.id, name=name, scope=scope.value
        )
        audit.record_system(
            session,
            organisation.id,
            "create",
            "api_key",
            key.id,
            details={"scope": key.scope, "via": "cli"},
        )
        key_id, key_name, org_slug = key.id, key.name, organisation.slug
    notes = console(stderr=True)
    notes.print(
        f"created API key {key_id} {key_name!r} ({scope.value}) for {org_slug}",
        soft_wrap=True,
    )
    sys.stdout.write(plaintext + "\n")
    sys.stdout.flush()
    notes.print(
        "[bold yellow]warning:[/] copy the key now: it is shown only this once and cannot be "
        "recovered (revoke it and create another if it is lost)",
        markup=True,
        soft_wrap=True,
    )


@api_key_app.command(
    name="list",
    epilog="Examples:\n\ncxpulse api-key list\n\ncxpulse api-key list --org acme --format json",
)
def api_key_list(
    org: Annotated[
        str | None,
        typer.Option(
            "--org", metavar="SLUG", help="Only this organisation's keys.", show_default=False
        ),
    ] = None,
    output: Annotated[
        ListFormat | None,
        typer.Option("--format", "-f", help="table (default on a terminal) or json."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """List API keys: id, name, prefix, scope, when created and last used, and if revoked.

    Keys themselves cannot be shown: only their hashes are stored.
    """
    from cxpulse.store import accounts, lookups

    settings = settings_for(database)
    rows: list[dict[str, Any]] = []
    with open_store(settings) as sessions, sessions() as session:
        if org is not None:
            organisations = [organisation_named(session, org)]
        else:
            organisations = lookups.list_organisations(session)
        for organisation in organisations:
            rows.extend(
                _key_row(key, organisation.slug)
                for key in accounts.list_api_keys(session, organisation.id)
            )
    if output is ListFormat.JSON or (output is None and not sys.stdout.isatty()):
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    out = console()
    if not rows:
        out.print("no API keys" + (f" in {org}" if org else ""))
        return
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    if org is None:
        table.add_column("organisation", overflow="fold")
    table.add_column("name", overflow="fold")
    for column in ("key", "scope", "created", "last used", "status"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        cells = [str(row["id"])]
        if org is None:
            cells.append(row["organisation"])
        cells += [
            row["name"],
            row["prefix"],
            row["scope"],
            row["created_at"][:10],
            row["last_used_at"][:10] if row["last_used_at"] else "never",
            "revoked" if row["revoked_at"] else "active",
        ]
        table.add_row(*cells)
    out.print(table)


@api_key_app.command(
    name="revoke",
    epilog="Examples:\n\ncxpulse api-key revoke 3\n\ncxpulse api-key revoke 3 --org acme",
)
def api_key_revoke(
    key_id: Annotated[
        int, typer.Argument(metavar="ID", help="The key's id, from `cxpulse api-key list`.")
    ],
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            metavar="SLUG",
            help="Refuse unless the key belongs to this organisation.",
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Revoke an API key: requests with it are refused from now on. It cannot be undone."""
    from cxpulse.store import accounts, audit, lookups

    settings = settings_for(database)
    with open_store(settings) as sessions, sessions.begin() as session:
        found = lookups.find_api_key(session, key_id, org)
        if found is None:
            fail(f"no API key {key_id}" + (f" in {org}" if org else ""))
        already = found.revoked_at
        key = accounts.revoke_api_key(session, found.organisation_id, key_id)
        if already is None:
            audit.record_system(
                session, key.organisation_id, "revoke", "api_key", key.id, details={"via": "cli"}
            )
        name = key.name
    if already is not None:
        console().print(
            f"API key {key_id} {name!r} was already revoked on "
            f"{already.isoformat(timespec='seconds')}",
            soft_wrap=True,
        )
    else:
        console().print(f"revoked API key {key_id} {name!r}", soft_wrap=True)
