"""Contacts from CSV: columns, attributes, line numbers of bad rows, upserts."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.contacts_csv import CsvProblem, decode, import_contacts, parse_contacts
from cxpulse.store import contacts
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Contact, Organisation


def test_columns_become_fields_and_attributes() -> None:
    parsed = parse_contacts(
        "External_ID;Email;name;locale;Plan;Region\n"
        "c-1;a@example.com;Ana;sv-SE;gold;north\n"
        "\n"
        ";b@example.com;;;;\n"
    )
    assert parsed.problems == []
    first, second = parsed.rows
    assert (first.line, first.external_id, first.email, first.locale) == (
        2,
        "c-1",
        "a@example.com",
        "sv-SE",
    )
    assert first.attributes == {"Plan": "gold", "Region": "north"}
    assert (second.line, second.external_id, second.attributes) == (4, None, {})


def test_bad_rows_are_reported_with_their_line() -> None:
    parsed = parse_contacts(
        "external_id,email,locale\n"
        "c-1,not-an-address,en\n"
        ",,\n"
        "c-3,c@example.com,klingon\n"
        "c-4,d@example.com\n"
        "c-5,e@example.com,de\n"
    )
    assert [(p.line, p.column) for p in parsed.problems] == [
        (2, "email"),
        (4, "locale"),
        (5, "*"),
    ]
    assert [r.external_id for r in parsed.rows] == ["c-5"]
    assert str(parsed.problems[0]).startswith("line 2, email:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("name,plan\nAna,gold\n", "external_id or an email"),
        ("email,email\na@example.com,b@example.com\n", "twice"),
    ],
)
def test_unreadable_files(text: str, message: str) -> None:
    with pytest.raises(CsvProblem, match=message):
        parse_contacts(text)


def test_decoding_utf8_with_bom_and_windows_1252() -> None:
    assert decode("\ufeffemail\n".encode()) == "email\n"
    assert decode("Åsa".encode("cp1252")) == "Åsa"


def test_upserts_by_external_id_then_email(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        contacts.create_contact(session, org.id, external_id="c-1", email="old@example.com")
        contacts.create_contact(session, org.id, email="b@example.com", attributes={"vip": "yes"})
    parsed = parse_contacts(
        "external_id,email,name,plan\n"
        "c-1,new@example.com,Ana,gold\n"
        ",b@example.com,Bo,basic\n"
        "c-9,,,\n"
    )
    with sessions.begin() as session:
        result = import_contacts(session, org.id, parsed.rows, parsed.problems)
    assert (result.created, result.updated, result.invalid) == (1, 2, 0)
    with sessions() as session:
        rows = {c.external_id or c.email: c for c in session.scalars(select(Contact))}
    assert rows["c-1"].email == "new@example.com"
    assert rows["c-1"].attributes == {"plan": "gold"}
    assert rows["b@example.com"].attributes == {"vip": "yes", "plan": "basic"}
    assert rows["b@example.com"].name == "Bo"
    assert "c-9" in rows


def test_problems_refuse_the_file_unless_skipped(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    parsed = parse_contacts("email\nok@example.com\nbroken\n")
    with sessions() as session, pytest.raises(Invalid, match="line 3"):
        import_contacts(session, org.id, parsed.rows, parsed.problems)
    with sessions.begin() as session:
        result = import_contacts(session, org.id, parsed.rows, parsed.problems, skip_invalid=True)
    assert (result.created, result.invalid) == (1, 1)


@pytest.mark.parametrize(
    "address",
    [
        '"a@b.se\nBcc:x@y.se"',
        '"victim@x.se\n\nText"',
        '"a@b.se\rBcc:x@y.se"',
        "ann@exämple.se",
        "a b@c.se",
    ],
)
def test_addresses_that_could_break_a_header_are_refused(address: str) -> None:
    parsed = parse_contacts(f"external_id,email\nc-1,{address}\n")
    assert [(p.line, p.column) for p in parsed.problems] == [(2, "email")]
    assert parsed.rows == []


@pytest.mark.parametrize(
    "text",
    [
        "external_id,email\nc-1," + "x" * 200_000 + "\n",
        "external_id,email," + "y" * 200_000 + "\nc-1,a@example.com,1\n",
    ],
)
def test_a_cell_over_the_csv_field_limit_is_a_file_problem(text: str) -> None:
    with pytest.raises(CsvProblem, match=r"line \d+: field larger than field limit"):
        parse_contacts(text)
