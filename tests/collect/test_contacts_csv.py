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
    assert decode("email\nÅsa\n".encode("utf-16")) == "email\nÅsa\n"


def test_a_stray_byte_in_a_utf8_file_is_refused_at_its_line() -> None:
    # Before: decoded as Windows-1252 with errors replaced, "Åsa" became "Ã…sa" silently.
    data = "email,name\na@example.com,Åsa\nb@example.com,Ковалёв\n".encode() + b"c@x.se,\xff\n"
    with pytest.raises(CsvProblem) as raised:
        decode(data)
    assert str(raised.value) == (
        "line 4: byte 0xFF is not valid UTF-8; save the file as UTF-8 or name its encoding "
        "(--encoding / encoding=...)"
    )
    assert decode(data, "windows-1252").endswith("c@x.se,ÿ\n")  # named: as asked
    with pytest.raises(CsvProblem, match="unknown encoding 'klingon'"):
        decode(data, "klingon")


def test_control_characters_in_cells_are_line_numbered_problems() -> None:
    parsed = parse_contacts(
        'external_id,name,plan\nc-1,"Ana\nLine two",gold\nc-2,Bo\x00,basic\nc-3,Cy,pro\x1b\n'
    )
    assert [(p.line, p.column, p.message) for p in parsed.problems] == [
        (4, "name", "holds the control character U+0000 at position 3; remove it"),
        (5, "plan", "holds the control character U+001B at position 4; remove it"),
    ]
    assert [(r.line, r.name) for r in parsed.rows] == [(2, "Ana\nLine two")]


def test_attribute_columns_follow_the_rule_of_names() -> None:
    with pytest.raises(CsvProblem, match=r"^line 1, the attribute column 'pl\\x01an' holds"):
        parse_contacts("email,pl\x01an\na@example.com,gold\n")
    # Quotes, dots and brackets are names like any other; an unnamed column is left out.
    parsed = parse_contacts('email,"a""b",x.y[0],\na@example.com,1,2,\n')
    assert parsed.problems == []
    assert parsed.rows[0].attributes == {'a"b': "1", "x.y[0]": "2"}


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
        "änn@example.se",  # mail cannot be sent to other letters before the @
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
