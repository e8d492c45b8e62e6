"""The first run (``store.first_run``) on SQLite and PostgreSQL: the set-up creates the
organisation and its owner only while no user exists, and a second set-up racing the first
waits for it and is refused, on both databases."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, first_run
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.models import Organisation, User

PASSWORD = "correct horse battery"


def _set_up(session: Session, email: str = "ana@acme.example", name: str = "Acme") -> None:
    first_run.set_up(
        session, organisation_name=name, owner_name="Ana", email=email, password=PASSWORD
    )


def test_slugs_are_made_of_the_name() -> None:
    assert first_run.slug_for("Acme Café & Co") == "acme-cafe-co"
    assert first_run.slug_for("  --Demo   Shop-- ") == "demo-shop"
    assert first_run.slug_for("日本") == "organisation"
    assert first_run.slug_for("x" * 100) == "x" * 64


def test_the_set_up_makes_an_owner_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert first_run.needs_set_up(session)
        # An organisation made from the command line before any user keeps its slug.
        accounts.create_organisation(session, slug="acme", name="Acme")
    with sessions.begin() as session:
        made = first_run.set_up(
            session,
            organisation_name="Acme",
            owner_name="Ana",
            email="Ana@Acme.Example",
            password=PASSWORD,
        )
        assert made.organisation.slug == "acme-2"
        assert made.owner.role == "owner"
        assert made.owner.email == "ana@acme.example"
        assert made.owner.invited_at is None
    with sessions.begin() as session:
        assert not first_run.needs_set_up(session)
        assert accounts.authenticate(session, "ana@acme.example", PASSWORD) is not None
        with pytest.raises(first_run.AlreadySetUp):
            _set_up(session, email="eve@evil.example", name="Evil")
        assert isinstance(first_run.AlreadySetUp(), Conflict)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"organisation_name": " "}, "organisation_name"),
        ({"owner_name": ""}, "name"),
        ({"email": "not an address"}, "email"),
        ({"password": "short"}, "password"),
    ],
)
def test_each_field_is_checked(
    sessions: sessionmaker[Session], fields: dict[str, str], field: str
) -> None:
    values = {
        "organisation_name": "Acme",
        "owner_name": "Ana",
        "email": "ana@acme.example",
        "password": PASSWORD,
        **fields,
    }
    with sessions() as session, pytest.raises(Invalid) as refused:
        first_run.set_up(session, **values)
    assert refused.value.field == field
    with sessions() as session:
        assert first_run.needs_set_up(session)


def test_a_racing_set_up_waits_and_is_refused(sessions: sessionmaker[Session]) -> None:
    """The first set-up holds its transaction open; the second, started meanwhile, must
    wait (SQLite's write lock, PostgreSQL's advisory lock) and then find the first's user."""
    outcome: list[str] = []

    def second() -> None:
        try:
            with sessions.begin() as session:
                _set_up(session, email="eve@evil.example", name="Evil")
            outcome.append("created")
        except first_run.AlreadySetUp:
            outcome.append("refused")

    with sessions() as session:
        _set_up(session)
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second set-up should wait for the first"
        session.commit()
    racer.join(10)
    assert outcome == ["refused"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.scalars(select(Organisation.slug)).all() == ["acme"]
