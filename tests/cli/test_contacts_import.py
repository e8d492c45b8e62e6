"""``cxpulse contacts import``: the encoding rule of every import, and --encoding."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cxpulse.cli import app
from cxpulse.store import accounts
from cxpulse.store.models import Contact


@pytest.fixture
def cli(
    engine: Engine, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    monkeypatch.setenv("CXPULSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CXPULSE_SECRET_KEY", "cli-test")
    monkeypatch.setenv("COLUMNS", "200")
    with sessions.begin() as session:
        accounts.create_organisation(session, slug="shop", name="Shop")
    return CliRunner()


def test_a_stray_byte_is_refused_at_its_line_unless_the_encoding_is_named(
    cli: CliRunner, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Before: read as Windows-1252 with bad bytes replaced, "Åsa" was stored as "Ã…sa".
    people = tmp_path / "people.csv"
    people.write_bytes("external_id,name\nc-1,Åsa\nc-2,Ковалёв\n".encode() + b"c-3,J\xf6rg\n")
    refused = cli.invoke(app, ["contacts", "import", str(people)])
    assert refused.exit_code == 2, refused.output
    assert " ".join(refused.output.split()).endswith(
        "line 4: byte 0xF6 is not valid UTF-8; save the file as UTF-8 or name its encoding "
        "(--encoding / encoding=...)"
    )
    unknown = cli.invoke(app, ["contacts", "import", str(people), "--encoding", "klingon"])
    assert unknown.exit_code == 2
    assert "unknown encoding 'klingon'" in unknown.output
    with sessions() as session:
        assert session.scalars(select(Contact)).all() == []

    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes(b"external_id,name\nc-4,J\xf6rg\n")  # no UTF-8 at all: Windows-1252
    assert cli.invoke(app, ["contacts", "import", str(legacy)]).exit_code == 0
    named = cli.invoke(app, ["contacts", "import", str(people), "--encoding", "windows-1252"])
    assert named.exit_code == 0, named.output
    with sessions() as session:
        names = {c.external_id: c.name for c in session.scalars(select(Contact))}
    assert names["c-4"] == "Jörg"
    assert names["c-3"] == "Jörg"
    assert names["c-1"] == "Ã…sa"  # what the user asked for: the bytes as Windows-1252
