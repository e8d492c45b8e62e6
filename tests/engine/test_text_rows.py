"""read_text_rows: every format, file order, lines, scores checked as ``score`` checks them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.engine import FileInputError, InvalidScoresError, histograms_from_file
from cxpulse.engine.text_rows import InvalidNumbersError, read_text_rows

from .samples import ELEVEN, FIVE
from .writers import write_csv, write_table

HEADER = ["id", "rating", "comment", "region", "speed"]
ROWS = [
    (1, 5, "Fast delivery", "north", 4.5),
    (2, None, "No score here", "south", 2),
    (3, 1, None, None, None),
    (4, 3, "  spaced out  ", "north", 3),
    (5, 4, "Kind staff", "south", 1),
]
# Where each data row is, per format: the header is line 1 of a text file or sheet; Parquet
# counts rows.
LINES = {
    ".csv": (2, 3, 4, 5, 6),
    ".tsv": (2, 3, 4, 5, 6),
    ".xlsx": (2, 3, 4, 5, 6),
    ".jsonl": (1, 2, 3, 4, 5),
    ".parquet": (1, 2, 3, 4, 5),
}


@pytest.mark.parametrize("suffix", list(LINES))
def test_every_format_gives_the_rows_in_file_order(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"answers{suffix}", HEADER, ROWS)
    found = read_text_rows(
        path,
        text="comment",
        score="rating",
        scale=FIVE,
        by="region",
        numbers={"speed": "driver"},
    )
    assert found.count == 5
    assert found.lines == LINES[suffix]
    assert found.unit == ("row" if suffix == ".parquet" else "line")
    assert found.texts == ("Fast delivery", "No score here", "", "spaced out", "Kind staff")
    assert found.scores == (5, None, 1, 3, 4)
    assert found.groups == ("north", "south", None, "north", "south")
    assert found.numbers == {"speed": (4.5, 2, None, 3, 1)}
    assert found.blank_scores == 1
    assert found.invalid is None


def test_columns_are_found_ignoring_case_and_named_as_the_file_spells_them(
    tmp_path: Path,
) -> None:
    path = write_table(tmp_path / "answers.csv", HEADER, ROWS)
    found = read_text_rows(path, text=" COMMENT ", numbers={"Speed": "driver"})
    assert found.columns == {" COMMENT ": "comment", "Speed": "speed"}
    assert found.numbers["Speed"][0] == 4.5
    assert found.scores is None
    assert found.groups is None


def test_a_preamble_and_quoted_fields_over_several_lines_keep_the_file_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Export of 2024-05-01\n"
        "score;comment\n"
        '5;"Great,\nreally great"\n'
        "\n"
        '2;"She said ""never again""\nand\nleft"\n'
        "4;short\n",
        encoding="utf-8",
    )
    found = read_text_rows(path, text="comment", score="score", scale=FIVE)
    assert found.lines == (3, 6, 9)
    assert found.texts == ("Great,\nreally great", 'She said "never again"\nand\nleft', "short")
    assert found.scores == (5, 2, 4)


def test_a_one_column_file_keeps_its_empty_lines_as_blank_comments(tmp_path: Path) -> None:
    path = tmp_path / "comments.csv"
    path.write_text("comment\nfirst\n\nthird\n", encoding="utf-8")
    found = read_text_rows(path, text="comment")
    assert found.texts == ("first", "", "third")
    assert found.lines == (2, 3, 4)


def test_invalid_scores_raise_the_same_error_as_score(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('Export\nscore,comment\n9,"a\nb"\n11,x\n7.5,y\nabc,z\n10,w\n', encoding="utf-8")
    with pytest.raises(InvalidScoresError) as raised:
        read_text_rows(path, text="comment", score="score", scale=ELEVEN)
    with pytest.raises(InvalidScoresError) as expected:
        histograms_from_file(path, score="score", scale=ELEVEN)
    assert str(raised.value) == str(expected.value)
    assert raised.value.invalid == expected.value.invalid
    assert raised.value.invalid.lines == [5, 6, 7]


def test_skipped_invalid_scores_read_as_unscored_and_are_reported(tmp_path: Path) -> None:
    rows = [(5, "a"), (9, "b"), ("n/a", "c"), (None, "d"), (9, "e")]
    path = write_csv(tmp_path / "answers.csv", ["score", "comment"], rows)
    found = read_text_rows(path, text="comment", score="score", scale=FIVE, skip_invalid=True)
    assert found.scores == (5, None, None, None, None)
    assert found.blank_scores == 1
    assert found.invalid is not None
    assert found.invalid.count == 3
    assert found.invalid.values == ["9", "n/a"]
    assert found.invalid.lines == [3, 4, 6]


def test_many_invalid_scores_show_the_first_ten(tmp_path: Path) -> None:
    rows = [(f"bad{i}", "x") for i in range(12)] + [("3", "y")]
    path = write_table(tmp_path / "answers.parquet", ["score", "comment"], rows)
    with pytest.raises(InvalidScoresError) as raised:
        read_text_rows(path, text="comment", score="score", scale=FIVE)
    invalid = raised.value.invalid
    assert invalid.count == 12
    assert invalid.lines == list(range(1, 11))
    assert invalid.unit == "row"
    assert invalid.more_values
    assert "12 invalid scores" in str(raised.value)


def test_number_columns_refuse_text_with_its_lines(tmp_path: Path) -> None:
    rows = [(5, 4), (4, "n/a"), (3, None), (2, "lots"), (1, "n/a")]
    path = write_csv(tmp_path / "ratings.csv", ["overall", "speed"], rows)
    with pytest.raises(InvalidNumbersError) as raised:
        read_text_rows(path, numbers={"overall": "outcome", "speed": "driver"})
    assert raised.value.column == "speed"
    assert raised.value.invalid.lines == [3, 5, 6]
    assert str(raised.value) == (
        "3 values that are not numbers ('n/a', 'lots') on lines 3, 5, 6 "
        "in column 'speed' of ratings.csv"
    )
    one = write_csv(tmp_path / "one.csv", ["overall"], [(5,), ("inf",)])
    with pytest.raises(InvalidNumbersError, match=r"^1 value that is not a number \('inf'\)"):
        read_text_rows(one, numbers={"overall": "outcome"})


def test_number_columns_of_another_type_are_refused(tmp_path: Path) -> None:
    rows = [(dt.date(2024, 1, 1), 3)]
    path = write_table(tmp_path / "ratings.parquet", ["when", "overall"], rows)
    with pytest.raises(
        FileInputError, match=r"driver column 'when' of ratings\.parquet holds DATE"
    ):
        read_text_rows(path, numbers={"overall": "outcome", "when": "driver"})


def test_a_missing_column_names_its_role_and_the_columns(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.xlsx", HEADER, ROWS)
    with pytest.raises(FileInputError) as raised:
        read_text_rows(path, text="feedback")
    assert str(raised.value).startswith("text column 'feedback' not found in answers.xlsx")
    assert "'comment'" in str(raised.value)


def test_a_file_without_rows_is_refused(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.xlsx", ["comment"], [])
    with pytest.raises(FileInputError, match="only a header row"):
        read_text_rows(path, text="comment")
    parquet = write_table(tmp_path / "answers.parquet", ["comment"], [])
    with pytest.raises(FileInputError, match="has no rows"):
        read_text_rows(parquet, text="comment")


def test_lines_are_only_walked_when_asked(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", HEADER, ROWS)
    found = read_text_rows(path, numbers={"speed": "driver"}, with_lines=False)
    assert found.lines == ()
    assert found.count == 5


def test_asking_for_nothing_or_a_score_without_a_scale_is_a_mistake(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", HEADER, ROWS)
    with pytest.raises(ValueError, match="no column"):
        read_text_rows(path)
    with pytest.raises(ValueError, match="scale"):
        read_text_rows(path, score="rating")


def test_progress_is_reported(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", HEADER, ROWS)
    seen: list[float] = []
    read_text_rows(path, text="comment", progress=seen.append)
    assert seen[-1] == 100.0


_TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ éö,;\"'\n\t-=+.!?")), min_size=0, max_size=30)


@settings(deadline=None, max_examples=40)
@given(comments=st.lists(_TEXT, min_size=1, max_size=12))
def test_any_comment_text_round_trips_with_its_line(comments: list[str]) -> None:
    # Python's csv module quotes what needs quoting; each record's first line is counted.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "score", "comment"])
    expected_lines = []
    line = 2
    for number, comment in enumerate(comments, start=1):
        writer.writerow([number, 1 + number % 5, comment])
        expected_lines.append(line)
        line += comment.count("\n") + 1
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answers.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        found = read_text_rows(path, text="comment", score="score", scale=FIVE)
    assert found.texts == tuple(comment.strip(" \t\n") for comment in comments)
    assert found.scores == tuple(1 + number % 5 for number in range(1, len(comments) + 1))
    assert found.lines == tuple(expected_lines)


def test_a_csv_column_whose_detected_type_fails_far_down_is_read_again_as_text(
    tmp_path: Path,
) -> None:
    # DuckDB sniffs the types on a sample: the "n/a" after 30,000 numbers breaks them.
    rows: list[tuple[object, ...]] = [(i % 5 + 1, i % 7, f"c{i}") for i in range(30_000)]
    rows += [("n/a", 3, "late"), (4, "lots", "x")]
    path = write_csv(tmp_path / "answers.csv", ["score", "speed", "comment"], rows)
    with pytest.raises(InvalidScoresError) as raised:
        read_text_rows(path, text="comment", score="score", scale=FIVE)
    assert raised.value.invalid.lines == [30_002]
    assert raised.value.invalid.values == ["n/a"]
    with pytest.raises(InvalidNumbersError) as numbers:
        read_text_rows(path, numbers={"speed": "driver"})
    assert numbers.value.invalid.lines == [30_003]
    found = read_text_rows(path, text="comment", score="score", scale=FIVE, skip_invalid=True)
    assert found.count == 30_002
    assert found.texts is not None
    assert found.texts[-2:] == ("late", "x")
    assert found.lines[-1] == 30_003
