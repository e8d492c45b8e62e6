"""The collect commands (contacts import, invite, worker --once, rates) on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer, smtp_server
from typer.testing import CliRunner

from cxpulse.cli import app
from cxpulse.store import accounts, surveys
from cxpulse.store.models import AuditLog, Contact, Invitation, Organisation

INVITE = ("invite", "--survey", "support-csat")


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CXPULSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CXPULSE_SECRET_KEY", "cli-test")
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpTestServer]:
    with smtp_server() as running:
        monkeypatch.setenv("CXPULSE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CXPULSE_SMTP_PORT", str(running.port))
        monkeypatch.setenv("CXPULSE_MAIL_FROM", "surveys@acme.example")
        yield running


@pytest.fixture
def shop(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="shop", name="Shop")
        surveys.create_survey(
            session, org.id, slug="support-csat", name="Support", metric="csat", status="active"
        )


def _run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_import_invite_send_and_rates(
    cli: CliRunner,
    shop: None,
    server: SmtpTestServer,
    sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "external_id,email,name,locale,plan\n"
        "c-1,ana@example.com,Ana,sv,gold\n"
        "c-2,bo@example.com,Bo,,basic\n",
        encoding="utf-8",
    )
    assert "2 created, 0 updated" in _run(cli, "contacts", "import", str(people))
    assert "0 created, 2 updated" in _run(cli, "contacts", "import", str(people))
    invited = _run(
        cli,
        "invite",
        "--survey",
        "support-csat",
        "--contact",
        "c-1",
        "--contact",
        "new@example.com",
    )
    assert "2 scheduled" in invited
    again = _run(cli, "invite", "--survey", "support-csat", str(people))
    assert "1 scheduled" in again  # Bo; Ana was invited a moment ago
    assert "1 throttled" in again
    sent = _run(cli, "worker", "--once")
    assert "sent 3" in sent
    assert sorted(r.recipients[0] for r in server.wait_for(3)) == [
        "ana@example.com",
        "bo@example.com",
        "new@example.com",
    ]
    with sessions() as session:
        assert {i.status for i in session.scalars(select(Invitation))} == {"sent", "throttled"}
        created = session.scalars(select(Contact).where(Contact.email == "new@example.com")).one()
        assert created.external_id is None
    rows = json.loads(_run(cli, "rates", "--survey", "support-csat", "--format", "json"))
    assert [(r["invited"], r["sent"], r["throttled"], r["answered"]) for r in rows] == [
        (4, 3, 1, 0)
    ]
    table = _run(cli, "rates", "--survey", "support-csat", "--format", "markdown")
    assert table.splitlines()[0].startswith("| period | channel | invited |")


def test_mistakes_end_with_one_line(cli: CliRunner, shop: None, tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("external_id,email\nc-1,not-an-address\n", encoding="utf-8")
    output = _run(cli, "contacts", "import", str(broken), code=1)
    assert "line 2, email" in output
    assert "nothing imported" in output
    assert "Traceback" not in output
    assert "no survey 'nope'" in _run(
        cli, "invite", "--survey", "nope", "--contact", "a@x.example", code=2
    )
    assert "--delay" in _run(
        cli,
        "invite",
        "--survey",
        "support-csat",
        "--contact",
        "a@x.example",
        "--delay",
        "soon",
        code=2,
    )
    assert "name a CSV file" in _run(cli, "invite", "--survey", "support-csat", code=2)
    assert "has no invitations yet" in _run(cli, "rates", "--survey", "support-csat")


def test_throttle_shows_sets_and_refuses(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        accounts.create_organisation(session, slug="shop", name="Shop")
        accounts.create_organisation(session, slug="other", name="Other")
    assert "--org" in _run(cli, "throttle", code=2)
    shown = _run(cli, "throttle", "--org", "shop")
    assert "throttle of shop: at most one invitation per contact every 30 days" in shown
    assert "throttle of shop: off" in _run(cli, "throttle", "0", "--org", "shop")
    assert "every 14 days" in _run(cli, "throttle", "14", "--org", "shop")
    assert "0 to 3650" in _run(cli, "throttle", "3651", "--org", "shop", code=2)
    assert "0 to 3650" in _run(cli, "throttle", "--org", "shop", "--", "-1", code=2)
    with sessions() as session:
        days = dict(session.execute(select(Organisation.slug, Organisation.throttle_days)).all())
        entries = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert days == {"shop": 14, "other": 30}
    assert [(e.actor, e.entity, e.details) for e in entries] == [
        ("system", "organisation", {"throttle_days": {"from": 30, "to": 0}, "via": "cli"}),
        ("system", "organisation", {"throttle_days": {"from": 0, "to": 14}, "via": "cli"}),
    ]


def test_invite_treats_every_spelling_of_an_address_as_one_person(
    cli: CliRunner, shop: None, sessions: sessionmaker[Session]
) -> None:
    """Defect 5 through the command line: three spellings, one contact, one invitation."""
    spellings = ["Throttle@A.test", "throttle@a.test", "THROTTLE@a.test"]
    invited = _run(cli, *INVITE, *(f"--contact={s}" for s in spellings))
    assert "1 scheduled, 2 throttled" in invited
    with sessions() as session:
        assert session.scalars(select(Contact.email)).all() == ["throttle@a.test"]
    hidden = _run(cli, *INVITE, "--contact", "ann\u200b@a.test", code=2)
    assert "contact 1: email: holds an invisible character (U+200B zero width space)" in hidden
    assert "nothing was stored" in hidden
