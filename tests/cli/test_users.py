"""``cxpulse create-user`` and addresses: one canonical form, and an address with an account
in another organisation gets the answer a new one gets."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cxpulse.cli import app
from cxpulse.store import accounts
from cxpulse.store.models import User


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CXPULSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def _create(cli: CliRunner, org: str, email: str, password: str, code: int = 0) -> str:
    result = cli.invoke(
        app,
        [
            *("create-user", "--org", org, "--create-org", org.title(), "--email", email),
            *("--role", "admin", "--password", "-"),
        ],
        input=f"{password}\n",
    )
    assert result.exit_code == code, result.output
    return result.output


def test_an_address_with_an_account_elsewhere_is_created_like_a_new_one(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    _create(cli, "acme", "ana@shared.example", "acme password")
    new = _create(cli, "globex", "bo@globex.example", "globex password")
    elsewhere = _create(cli, "globex", "ANA@Shared.example", "globex password")
    assert (
        new.replace("bo@globex.example", "ADDRESS").split(":")[1:]
        == (elsewhere.replace("ana@shared.example", "ADDRESS").split(":")[1:])
    )
    with sessions() as session:
        ana_in_globex = accounts.authenticate(session, "ana@shared.example", "globex password")
        assert ana_in_globex is not None
        acme = accounts.get_organisation_by_slug(session, "acme")
        ana_in_acme = accounts.authenticate(session, "ana@shared.example", "acme password")
        assert ana_in_acme is not None
        assert ana_in_acme.organisation_id == acme.id != ana_in_globex.organisation_id


def test_look_alike_addresses_are_one_user_or_refused(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    assert "ana@acme.example" in _create(cli, "acme", "Ana@ACME.example", "12345678")
    taken = _create(cli, "acme", "\uff41na@acme.example", "12345678", code=1)
    assert "email: a user of this organisation with this address exists already" in taken
    hidden = _create(cli, "acme", "ana\u200b@acme.example", "12345678", code=1)
    assert "invisible character (U+200B zero width space)" in hidden
    assert "Traceback" not in taken + hidden
    with sessions() as session:
        assert session.scalars(select(User.email)).all() == ["ana@acme.example"]
