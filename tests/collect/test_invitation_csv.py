"""Recipients of a CSV file sent from the browser: every bad row by its line, properties from
the other columns, the language normalised."""

from __future__ import annotations

import pytest

from cxpulse.collect.invitation_csv import CsvProblem, parse_recipients


def test_rows_properties_and_every_fault_by_line() -> None:
    parsed = parse_recipients(
        "Email;Name;Language;ticket\n"
        "Ana@Example.com;Ana;sv-SE;T-1\n"
        "bad;X;;T-2\n"
        "\n"
        "bo@example.com;Bo;xx;T-3\n"
        "ana@example.com;Ana again;;T-4\n"
        "cy@example.com;Cy;;\n"
    )
    assert [(r.line, r.email, r.language, r.properties) for r in parsed.rows] == [
        (2, "ana@example.com", "sv", {"ticket": "T-1"}),
        (7, "cy@example.com", None, {}),
    ]
    assert [(p.line, p.column) for p in parsed.problems] == [
        (3, "email"),
        (5, "language"),
        (6, "email"),
    ]


def test_a_file_without_an_email_column_is_refused() -> None:
    with pytest.raises(CsvProblem, match="email column"):
        parse_recipients("name,ticket\nAna,1\n")
