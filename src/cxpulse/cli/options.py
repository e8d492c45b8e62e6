"""Options that several commands share: --database, --org, --survey, --host, --port."""

from __future__ import annotations

from typing import Annotated

import typer

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        metavar="URL",
        help="sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME. "
        "Default: $CXPULSE_DATABASE_URL, else cxpulse.db in the working directory.",
        show_default=False,
    ),
]
OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org",
        metavar="SLUG",
        help="The organisation; needed only when the database holds several.",
        show_default=False,
    ),
]
RequiredOrgOption = Annotated[
    str, typer.Option("--org", metavar="SLUG", help="The organisation's slug.", show_default=False)
]
SurveyOption = Annotated[
    str, typer.Option("--survey", metavar="SLUG", help="The survey's slug.", show_default=False)
]
HostOption = Annotated[
    str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")
]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]
