import pytest

from cxpulse.csv_safety import neutralise_cell


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("north", "north"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_formula_starts_are_made_text(cell: str, expected: str) -> None:
    assert neutralise_cell(cell) == expected
