"""``cxpulse report``: a survey's monthly report as HTML (and PDF)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import open_store, settings_for, survey_named
from cxpulse.cli.options import DatabaseOption, OrgOption, SurveyOption
from cxpulse.cli.root import app

REPORT_HELP = """Write a survey's monthly report as one self-contained HTML file (and PDF).

The report holds the month's key figures with their intervals and the change against the
month before (significant or not), a 12-month trend, the distribution of answers, the
segments that moved most, and the survey's goals. Charts are inline SVG and the styles are
inline too: the file opens anywhere, offline, and can be mailed as it is.

`--pdf` also prints it to PDF with the system's Chromium (headless).

Example:

    cxpulse report --survey support-csat --month 2026-10 --out report.html --pdf
"""


def _previous_month() -> str:
    from cxpulse.report.monthly import month_label, shift_month

    return month_label(shift_month(datetime.now(UTC).date().replace(day=1), -1))


@app.command("report", help=REPORT_HELP)
def report(
    survey: SurveyOption,
    month: Annotated[
        str | None,
        typer.Option(
            "--month",
            metavar="YYYY-MM",
            help="The month to report on. Default: the last complete month.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Where to write the HTML. Default: SLUG-YYYY-MM.html here.",
            show_default=False,
        ),
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print a PDF beside the HTML (same name, .pdf).")
    ] = False,
    org: OrgOption = None,
    chromium: Annotated[
        str | None,
        typer.Option(
            "--chromium",
            metavar="PATH",
            help="The Chromium to print with. Default: $CXPULSE_CHROMIUM, else /usr/bin/chromium.",
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    from cxpulse.report import monthly
    from cxpulse.report.pdf import PdfError, find_chromium, html_to_pdf
    from cxpulse.store.errors import Invalid

    settings = settings_for(database)
    chromium = chromium or settings.chromium
    wanted = month or _previous_month()
    try:
        monthly.parse_month(wanted)
    except Invalid as error:
        fail(f"--month {error.message}", code=2)
    target = out or Path(f"{survey}-{wanted}.html")
    if target.suffix.lower() == ".pdf":
        fail("--out names the HTML file; add --pdf to get a PDF beside it", code=2)
    if pdf:
        try:
            find_chromium(chromium)  # before the work, so a missing browser fails fast
        except PdfError as error:
            fail(str(error))
    err = console(stderr=True)
    with open_store(settings) as sessions, sessions() as session:
        with err.status("Gathering the month's numbers…"):
            found = survey_named(session, survey, org)
            built = monthly.build_report(session, found.organisation_id, found.id, wanted)
        err.print(
            f"{built.survey_name}, {built.month_text}: {built.answers} answers, "
            f"{len(built.movers)} segment changes, {len(built.goals)} goals",
            soft_wrap=True,
        )
        with err.status("Drawing the charts…"):
            html = monthly.render_report(built)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {target}: {error.strerror or error}")
    err.print(f"wrote {target} ({len(html.encode()) / 1024:.0f} kB)", soft_wrap=True)
    if pdf:
        pdf_path = target.with_suffix(".pdf")
        with err.status("Printing the PDF with Chromium…"):
            try:
                html_to_pdf(html, pdf_path, chromium=chromium)
            except PdfError as error:
                fail(str(error))
        err.print(f"wrote {pdf_path} ({pdf_path.stat().st_size / 1024:.0f} kB)", soft_wrap=True)
