"""Hostile files through the command line (``cxpulse import``, ``cxpulse contacts import``),
then the pages, the API and an invitation email that show what was stored.

The commands run in process (typer's CliRunner) on the test's database; the app reads the
same database. A command either stores the file and says so, or refuses it with one line
naming the line and column, exit code 1 or 2 and no traceback.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from cxpulse.cli import app as cli_app
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.mailer import compose
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.csv_safety import neutralise_cell
from cxpulse.store._values import answer_time_problem, control_problem
from cxpulse.store.models import Contact, Invitation, Survey

from .hostile import HUGE_NUMBERS, DateCase, dates, expected_instant, texts
from .shown import compact, in_page, variants
from .site import Site, Target

BUDGET = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MAIL = SmtpSettings(mail_from="Surveys <surveys@a.example>", public_url="https://cx.example")


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CXPULSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CXPULSE_SECRET_KEY", "cli-test")
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _ran(result: Result, what: str, *hints: str) -> bool:
    """True when the command succeeded; else checks that it refused the way a command
    should: exit code 1 or 2, no traceback, the output naming the line or one of ``hints``
    (the column)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{what} crashed: {result.exception!r}\n{result.output}"
    )
    assert "Traceback" not in result.output, result.output
    if result.exit_code == 0:
        return True
    assert result.exit_code in (1, 2), (result.exit_code, result.output)
    output = " ".join(result.output.split())
    assert "line 2" in output or any(" ".join(h.split()) in output for h in hints), output
    return False


def _export_row(site: Site, target: Target, response_id: int) -> dict[str, str]:
    export = site.get(f"/api/v1/surveys/{target.id}/responses/export.csv")
    assert export.status_code == 200
    rows = [r for r in csv.DictReader(io.StringIO(export.text, newline=""))]
    (row,) = [r for r in rows if r["id"] == str(response_id)]
    return row


# -- cxpulse import -----------------------------------------------------------------------------

hostile_cells = st.one_of(
    st.tuples(st.just("comment"), texts(10_000, 10_001)),
    st.tuples(st.just("property"), texts(1000, 1001)),
    st.tuples(st.just("header"), texts(100, 300)),
    st.tuples(st.just("date"), dates),
    st.tuples(st.just("score"), st.sampled_from(HUGE_NUMBERS)),
)


@pytest.mark.slow
@BUDGET
@given(cell=hostile_cells)
def test_cli_import(
    site: Site, cli: CliRunner, tmp_path: Path, cell: tuple[str, str | DateCase]
) -> None:
    where, drawn = cell
    with site.survey() as target:
        _import(site, cli, tmp_path / "answers.csv", target, where, drawn)


def _import(
    site: Site, cli: CliRunner, path: Path, target: Target, where: str, drawn: str | DateCase
) -> None:
    value = drawn.text if isinstance(drawn, DateCase) else drawn
    when = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    comment_column = value if where == "header" else "Comment"
    row = {
        "Rating": value if where == "score" else "4",
        "Date": value if where == "date" else when,
        comment_column: value if where == "comment" else "fine",
        "P": value if where == "property" else "gold",
    }
    path.write_bytes(_csv([list(row), list(row.values())]))
    arguments = [
        *("import", str(path), "--survey", target.slug, "--org", site.org_slug),
        *("--format", "json", "--map", "score=Rating,submitted_at=Date,property.plan=P"),
        *("--map", f"comment={comment_column}"),
    ]
    result = cli.invoke(cli_app, arguments)
    stored = _ran(result, "cxpulse import", comment_column, "Date", "Rating", "header")
    if where in ("comment", "property") and control_problem(value):
        assert not stored, f"{value[:100]!r} holds a control character"
    if isinstance(drawn, DateCase) and drawn.zoned:
        instant = expected_instant(value)
        allowed = instant is not None and answer_time_problem(instant) is None
        assert stored == allowed, f"{value!r} should be {'stored' if allowed else 'refused'}"
    items = site.stored(target)
    assert len(items) == (1 if stored else 0), items
    drill = site.get(f"/app/surveys/{target.id}/responses")
    assert drill.status_code == 200
    if not stored:
        return
    (item,) = items
    assert 1 <= item["score"] <= 5, item
    if where == "comment":
        assert item["comment"] in variants(value)
        in_page(drill.text, item["comment"], "drill-down")
    elif where == "property":
        assert item["properties"]["plan"] in variants(value)
        in_page(drill.text, f"plan: {item['properties']['plan']}", "drill-down")
        by = site.get(f"/app/surveys/{target.id}", {"by": "property:plan"})
        assert by.status_code == 200
        in_page(by.text, item["properties"]["plan"], "dashboard breakdown")
    elif where == "header":
        assert item["comment"] == "fine"
    row = _export_row(site, target, item["id"])
    assert row["comment"] == neutralise_cell(item["comment"])
    assert row["property.plan"] == neutralise_cell(item["properties"]["plan"])


# -- cxpulse contacts import --------------------------------------------------------------------

contact_cells = st.one_of(
    st.tuples(st.just("name"), texts(200, 201)),
    st.tuples(st.just("attribute name"), texts(100, 101)),
    st.tuples(st.just("attribute value"), texts(1000, 1001)),
)


def _contact(site: Site, external_id: str) -> dict[str, Any] | None:
    listed = site.get("/api/v1/contacts", {"limit": 1000})
    assert listed.status_code == 200
    found = [c for c in listed.json()["items"] if c["external_id"] == external_id]
    return found[0] if found else None


def _invitation_email(site: Site, contact_id: int, survey_id: int) -> EmailMessage:
    """The invitation email to the stored contact, as the worker composes it."""
    with site.db() as session:
        contact = session.get(Contact, contact_id)
        survey = session.get(Survey, survey_id)
        assert contact is not None
        assert survey is not None
        invitation = Invitation(id=1, survey_id=survey_id, language=None)
        composed = compose(
            invitation, contact, survey, "Org A", links=LinkSigner("k"), settings=MAIL
        )
    message = email.message_from_bytes(composed.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


_ids = iter(range(1, 1_000_000))


@pytest.mark.slow
@BUDGET
@given(cell=contact_cells)
def test_cli_contacts(site: Site, cli: CliRunner, tmp_path: Path, cell: tuple[str, str]) -> None:
    where, value = cell
    external_id = f"hostile-{next(_ids)}"
    attribute = value if where == "attribute name" else "plan"
    row = {
        "external_id": external_id,
        "email": f"{external_id}@example.com",
        "name": value if where == "name" else "Ana",
        attribute: value if where == "attribute value" else "gold",
    }
    path = tmp_path / "people.csv"
    path.write_bytes(_csv([list(row), list(row.values())]))
    result = cli.invoke(cli_app, ["contacts", "import", str(path), "--org", site.org_slug])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    contact = _contact(site, external_id)
    if result.exit_code != 0:
        assert result.exit_code in (1, 2)
        output = " ".join(result.output.split())
        hints = ("line 2", "header", "attribute", repr(attribute.strip()))
        assert any(hint in output for hint in hints), output
        assert contact is None, "refused, yet stored"
        return
    if control_problem(value):
        pytest.fail(f"{value[:100]!r} holds a control character, yet was stored")
    assert contact is not None, result.output
    stored_attribute = next(iter(contact["attributes"]))
    assert stored_attribute in variants(attribute)
    stored_value = contact["attributes"][stored_attribute]
    assert stored_value in variants(row[attribute])
    assert contact["name"] in variants(row["name"])

    # An answer from the contact: the drill-down names them, the dashboard splits by them.
    with site.survey() as target:
        _answered_by(site, target, contact, stored_attribute, stored_value, row["email"])


def _answered_by(
    site: Site,
    target: Target,
    contact: dict[str, Any],
    stored_attribute: str,
    stored_value: str,
    address: str,
) -> None:
    answered = site.client.post(
        f"/api/v1/surveys/{target.id}/responses",
        json={"score": 5, "contact_id": contact["id"]},
        headers=site.key,
    )
    assert answered.status_code == 201, answered.text
    drill = site.get(f"/app/surveys/{target.id}/responses")
    in_page(drill.text, contact["name"], "drill-down customer")
    by = site.get(f"/app/surveys/{target.id}", {"by": f"contact:{stored_attribute}"})
    assert by.status_code == 200
    in_page(by.text, stored_value, "dashboard by contact attribute")
    filtered = site.get(
        f"/app/surveys/{target.id}/responses", {f"contact.{stored_attribute}": stored_value}
    )
    assert filtered.status_code in (200, 422), filtered.status_code

    message = _invitation_email(site, contact["id"], target.id)
    html = message.get_body(("html",))
    plain = message.get_body(("plain",))
    assert html is not None
    assert plain is not None
    assert compact(str(escape(contact["name"]))) in compact(html.get_content())
    assert compact(contact["name"]) in compact(plain.get_content())
    # The name is in the To header on one line: no header of its own can be smuggled in.
    assert message["To"].addresses[0].addr_spec == address
    assert set(message.keys()) >= {"Subject", "From", "To", "Message-ID"}
