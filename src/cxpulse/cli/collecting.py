"""Commands of the collect stage: contacts, invitations, throttling, the outbox worker,
response rates.

cxpulse contacts import contacts.csv
cxpulse invite --survey support-csat customers.csv --delay 2h
cxpulse throttle 14
cxpulse worker
cxpulse rates --survey support-csat --period month
"""

from __future__ import annotations

import json
import signal
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cxpulse.cli.app import app
from cxpulse.cli.console import console, fail
from cxpulse.cli.service import DatabaseArg, _settings, _store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cxpulse.collect.invitations import InvitationRequest
    from cxpulse.store.models import Organisation, Survey

contacts_app = typer.Typer(
    help="Contacts: the people invitations go to.",
    epilog="Example: `cxpulse contacts import customers.csv --org acme` "
    "(columns email, name, locale, external_id; any other column becomes an attribute).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(contacts_app, name="contacts")

OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org",
        metavar="SLUG",
        help="The organisation; needed only when the database holds several.",
        show_default=False,
    ),
]
SurveyOption = Annotated[
    str, typer.Option("--survey", metavar="SLUG", help="The survey's slug.", show_default=False)
]


class RatesFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def _organisation(session: Session, slug: str | None) -> Organisation:
    from cxpulse.cli.importing import _organisation as find

    return find(session, slug)


def _survey(session: Session, organisation: Organisation, slug: str) -> Survey:
    from cxpulse.cli.importing import _survey as find

    return find(session, organisation, slug)


def _read_text(file: Path) -> str:
    from cxpulse.collect.contacts_csv import decode

    try:
        return decode(file.read_bytes())
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}", code=2)


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
    database: DatabaseArg = None,
) -> None:
    """Create or update contacts from a CSV file, by external_id, else by email."""
    from cxpulse.collect.contacts_csv import CsvProblem, import_contacts, parse_contacts

    text = _read_text(file)
    try:
        parsed = parse_contacts(text)
    except CsvProblem as error:
        fail(f"{file}: {error}", code=2)
    out = console(stderr=True)
    for problem in parsed.problems[:20]:
        out.print(f"{file}: {problem}", soft_wrap=True, markup=False)
    if parsed.problems and not skip_invalid:
        fail(f"{len(parsed.problems)} invalid rows: nothing imported (or pass --skip-invalid)")
    settings = _settings(database)
    with _store(settings) as sessions, sessions.begin() as session:
        organisation = _organisation(session, org)
        result = import_contacts(
            session, organisation.id, parsed.rows, parsed.problems, skip_invalid=True
        )
    console().print(
        f"contacts: {result.created:,} created, {result.updated:,} updated, "
        f"{result.invalid:,} invalid rows skipped",
        soft_wrap=True,
    )


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
    database: DatabaseArg = None,
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
    settings = _settings(database)
    with _store(settings) as sessions, sessions.begin() as session:
        organisation = _organisation(session, org)
        target = _survey(session, organisation, survey)
        try:
            made = create_invitations(session, organisation.id, target.id, requests)
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
        parsed = parse_contacts(_read_text(file))
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
        "cxpulse worker\n\n"
        "CXPULSE_SMTP_HOST=smtp.example.com CXPULSE_SMTP_PORT=587 CXPULSE_SMTP_STARTTLS=true "
        "CXPULSE_SMTP_USER=cx CXPULSE_SMTP_PASSWORD=secret CXPULSE_INLINE_WORKER=false "
        "cxpulse worker\n\n"
        "cxpulse worker --once\n\n"
        "cxpulse worker --threads 4"
    ),
)
def worker(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then stop.")] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=5000, help="Items claimed per round.")
    ] = 200,
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=1,
            max=32,
            help="Emails sent at once, each over its own SMTP connection.",
        ),
    ] = 1,
    lock_seconds: Annotated[
        float,
        typer.Option(
            "--lock-seconds",
            min=1.0,
            max=3600.0,
            help="How long a claimed batch is held; a stopped worker's batch is taken over "
            "after this.",
        ),
    ] = 120.0,
    database: DatabaseArg = None,
) -> None:
    """Send invitation and reminder emails from the outbox until stopped (Ctrl+C).

    SMTP settings come from CXPULSE_SMTP_HOST, _PORT, _USER, _PASSWORD, _STARTTLS,
    CXPULSE_MAIL_FROM and CXPULSE_PUBLIC_URL. Run as many as you like: they never send the
    same email twice. Set CXPULSE_INLINE_WORKER=false on `cxpulse serve` when this runs.
    """
    from cxpulse.act.worker import OutboxWorker, drain_together
    from cxpulse.collect.links import LinkSigner
    from cxpulse.collect.smtp import SmtpSettings
    from cxpulse.config import ConfigError

    settings = _settings(database)
    try:
        smtp = SmtpSettings.from_env()
    except ConfigError as error:
        fail(str(error), code=2)
    with _store(settings) as sessions:
        engine = sessions.kw["bind"]
        workers = [
            OutboxWorker(
                engine,
                smtp,
                LinkSigner(settings.secret_key),
                batch_size=batch_size,
                lock_seconds=lock_seconds,
            )
            for _ in range(threads)
        ]
        if once:
            stats = drain_together(workers)
            for each in workers:
                each.connection.close()
            console().print(
                f"sent {stats.sent:,}, skipped {stats.skipped:,}, retrying {stats.retried:,}, "
                f"failed {stats.failed:,}",
                soft_wrap=True,
            )
            return
        stop = threading.Event()

        def on_signal(signum: int, _frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        console(stderr=True).print(
            f"cxpulse worker: sending through {smtp.host}:{smtp.port} with {threads} "
            "connection(s); Ctrl+C stops it",
            soft_wrap=True,
        )
        started = time.monotonic()
        running = [
            threading.Thread(target=each.run, args=(stop,), kwargs={"idle_seconds": 1.0})
            for each in workers
        ]
        for thread in running:
            thread.start()
        while any(thread.is_alive() for thread in running):
            # Wake up now and then so that the signal handler runs in the main thread.
            for thread in running:
                thread.join(0.2)
        console(stderr=True).print(
            f"worker stopped after {time.monotonic() - started:.0f} s", soft_wrap=True
        )


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse rates --survey support-csat\n\n"
        "cxpulse rates --survey nps --period week --format json"
    ),
)
def rates(
    survey: SurveyOption,
    period: Annotated[Period, typer.Option("--period", help="Group invitations by.")] = (
        Period.MONTH
    ),
    output: Annotated[RatesFormat, typer.Option("--format", help="Output format.")] = (
        RatesFormat.TABLE
    ),
    org: OrgOption = None,
    database: DatabaseArg = None,
) -> None:
    """Response and comment rates of a survey's invitations, with 95% intervals."""
    from cxpulse.collect.rates import response_rates

    settings = _settings(database)
    with _store(settings) as sessions, sessions() as session:
        organisation = _organisation(session, org)
        target = _survey(session, organisation, survey)
        rows = response_rates(session, organisation.id, target.id, period=period.value)
    if output is RatesFormat.JSON:
        typer.echo(json.dumps([r.to_document() for r in rows], ensure_ascii=False))
        return

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    header = [
        "period",
        "channel",
        "invited",
        "sent",
        "failed",
        "throttled",
        "opened",
        "answered",
        "response rate",
        "95% interval",
        "comment rate",
    ]
    table = [
        [
            r.period,
            r.channel,
            f"{r.invited:,}",
            f"{r.sent:,}",
            f"{r.failed:,}",
            f"{r.throttled:,}",
            f"{r.opened:,}",
            f"{r.answered:,}",
            pct(r.response_rate.value),
            f"{pct(r.response_rate.low)}-{pct(r.response_rate.high)}"
            if r.response_rate.value is not None
            else "-",
            pct(r.comment_rate.value),
        ]
        for r in rows
    ]
    if not table:
        console().print(f"{target.slug} has no invitations yet", soft_wrap=True)
        return
    if output is RatesFormat.MARKDOWN:
        typer.echo("| " + " | ".join(header) + " |")
        typer.echo("|" + "---|" * len(header))
        for line in table:
            typer.echo("| " + " | ".join(line) + " |")
        return
    from rich.table import Table

    shown = Table(title=f"Response rates of {target.slug}")
    for name in header:
        shown.add_column(name, justify="left" if name in ("period", "channel") else "right")
    for line in table:
        shown.add_row(*line)
    console().print(shown)


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
    database: DatabaseArg = None,
) -> None:
    """Show or set the organisation's throttle: at most one invitation per contact per N days."""
    from cxpulse.collect.invitations import MAX_THROTTLE_DAYS, set_organisation_throttle
    from cxpulse.store import audit

    if days is not None and not 0 <= days <= MAX_THROTTLE_DAYS:
        fail(f"DAYS must be from 0 to {MAX_THROTTLE_DAYS} (0: off)", code=2)
    settings = _settings(database)
    with _store(settings) as sessions, sessions.begin() as session:
        organisation = _organisation(session, org)
        slug = organisation.slug
        if days is None:
            current = organisation.throttle_days
        else:
            previous = set_organisation_throttle(session, organisation.id, days)
            audit.record(
                session,
                organisation.id,
                actor=audit.SYSTEM,
                action="update",
                entity="organisation",
                entity_id=organisation.id,
                details={"throttle_days": {"from": previous, "to": days}, "via": "cli"},
            )
            current = days
    shown = "off" if current == 0 else f"at most one invitation per contact every {current} days"
    console().print(f"throttle of {slug}: {shown}", soft_wrap=True)
