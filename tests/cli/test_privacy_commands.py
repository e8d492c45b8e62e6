"""``cxpulse contact-data export|erase``: the same document and erasure as the API, the
contact named by id or address, one clear line for each mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.store.privacy_support import Person, build_person, places_holding
from typer.testing import CliRunner

import cxpulse.cli.privacy_commands  # noqa: F401  (registers the command group)
from cxpulse.cli.root import app
from cxpulse.store import accounts, contacts, surveys
from cxpulse.store.models import AuditLog


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CXPULSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


@pytest.fixture
def anna(sessions: sessionmaker[Session]) -> Person:
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        accounts.create_organisation(session, slug="globex", name="Globex")
        survey = surveys.create_survey(
            session, org.id, slug="csat", name="CSAT", metric="csat", status="active"
        )
        return build_person(session, org.id, survey.id, "anna")


def test_export_to_standard_output_and_to_a_file(
    cli: CliRunner, anna: Person, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    shown = cli.invoke(app, ["contact-data", "export", anna.email.upper(), "--org", "acme"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["contact"]["id"] == anna.contact_id
    assert [a["comment"] for a in document["answers"]] == anna.comments
    target = tmp_path / "anna.json"
    written = cli.invoke(
        app, ["contact-data", "export", str(anna.contact_id), "--org", "acme", "-o", str(target)]
    )
    assert written.exit_code == 0, written.output
    assert json.loads(target.read_text(encoding="utf-8"))["contact"]["email"] == anna.email
    with sessions() as session:
        actions = session.scalars(select(AuditLog.action)).all()
    assert actions == ["export", "export"]


def test_mistakes_get_one_line(
    cli: CliRunner, anna: Person, sessions: sessionmaker[Session]
) -> None:
    other_org = cli.invoke(app, ["contact-data", "export", str(anna.contact_id), "--org", "globex"])
    assert other_org.exit_code == 1
    assert "contact" in other_org.output
    assert "Traceback" not in other_org.output
    neither = cli.invoke(app, ["contact-data", "export", "anna", "--org", "acme"])
    assert neither.exit_code == 2
    assert "neither a contact id nor an e-mail address" in neither.output
    unknown = cli.invoke(app, ["contact-data", "export", "nobody@example.se", "--org", "acme"])
    assert "no contact with the address nobody@example.se" in unknown.output
    with sessions.begin() as session:
        org = accounts.get_organisation_by_slug(session, "acme")
        contacts.create_contact(session, org.id, email=anna.email, external_id="second")
    twice = cli.invoke(app, ["contact-data", "export", anna.email, "--org", "acme"])
    assert twice.exit_code == 1
    assert "2 contacts have the address" in twice.output
    wrong = cli.invoke(
        app,
        ["contact-data", "erase", str(anna.contact_id), "--org", "acme", "--mode", "delete",
         "--confirm", "someone"],
    )  # fmt: skip
    assert wrong.exit_code == 1
    assert "confirm: must repeat the contact's id or e-mail address" in wrong.output
    bad_mode = cli.invoke(
        app,
        ["contact-data", "erase", str(anna.contact_id), "--org", "acme", "--mode", "shred",
         "--confirm", str(anna.contact_id)],
    )  # fmt: skip
    assert bad_mode.exit_code == 2


def test_erase(cli: CliRunner, anna: Person, sessions: sessionmaker[Session]) -> None:
    args = ["contact-data", "erase", str(anna.contact_id), "--org", "acme"]
    done = cli.invoke(
        app, [*args, "--mode", "anonymise", "--confirm", anna.email, "--forget-opt-outs"]
    )
    assert done.exit_code == 0, done.output
    assert f"contact {anna.contact_id} erased (anonymise)" in done.output
    assert "responses anonymised: 3" in done.output
    with sessions() as session:
        assert places_holding(session, anna.secrets()) == []
    again = cli.invoke(app, [*args, "--mode", "delete", "--confirm", str(anna.contact_id)])
    assert again.exit_code == 0
    assert "was erased before (anonymise)" in again.output
