"""``cxpulse throttle``: show and set the organisation's throttle, audited, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cxpulse.cli import app
from cxpulse.config import get_settings
from cxpulse.store import accounts
from cxpulse.store.models import AuditLog, Organisation


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CXPULSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CXPULSE_SECRET_KEY", "cli-test")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_show_set_and_refuse(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
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
