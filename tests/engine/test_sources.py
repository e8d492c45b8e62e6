"""Opening files: formats, encodings, columns, and files that cannot be read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cxpulse.engine import (
    FileInputError,
    histograms_from_file,
    open_source,
    read_columns,
    resolve_column,
)
from cxpulse.engine.periods import Period
from cxpulse.metrics.histogram import Histogram

from .samples import ALL_FORMATS, ELEVEN, FIVE, HEADER, ROWS, as_counts
from .writers import write_csv, write_table, write_xlsx


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_read_columns_of_every_format(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"answers{suffix}", HEADER, ROWS)
    assert read_columns(path) == HEADER


# --------------------------------------------------------------------------- encodings


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes("\ufeffscore,segment\n5,café\n4,Zürich\n".encode())
    assert read_columns(path) == ["score", "segment"]
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("café",): {5: 1}, ("Zürich",): {4: 1}}


def test_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    # é is 0xE9, € is 0x80 (not Latin-1), 0x81 is undefined in Windows-1252: read as Latin-1.
    path.write_bytes(b"score;segment\n5;caf\xe9\n4;\x80uro\n3;x\x81y\n2;caf\xe9\n")
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("café",): {2: 1, 5: 1}, ("€uro",): {4: 1}, ("x\x81y",): {3: 1}}


def test_windows_1252_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(b"note;cat\xe9gorie\n5;a\n")
    assert read_columns(path) == ["note", "catégorie"]
    found = histograms_from_file(path, score="note", scale=FIVE, by=["catégorie"])
    assert as_counts(found) == {("a",): {5: 1}}


def test_windows_1252_byte_far_into_a_utf8_looking_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    body = b"score,segment\n" + b"5,plain\n" * 40_000 + b"4,\x80uro\n3,\x80uro\n"
    path.write_bytes(body)
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("plain",): {5: 40_000}, ("€uro",): {3: 1, 4: 1}}


def test_windows_1252_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_bytes(b'{"score": 5, "segment": "caf\xe9"}\n{"score": 4, "segment": "\x80"}\n')
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("café",): {5: 1}, ("€",): {4: 1}}


def test_a_stray_byte_in_a_utf8_file_is_refused_not_read_as_windows_1252(tmp_path: Path) -> None:
    # Before: the whole file was read as Windows-1252, "café" became "cafÃ©", silently.
    path = tmp_path / "answers.csv"
    path.write_bytes("score,segment\n5,café\n4,Москва\n".encode() + b"3,x\xffy\n")
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert str(raised.value) == (
        "could not read answers.csv: line 4: byte 0xFF is not valid UTF-8; save the file as "
        "UTF-8 or name its encoding (--encoding / encoding=...)"
    )
    found = histograms_from_file(
        path, score="score", scale=FIVE, by=["segment"], encoding="windows-1252"
    )
    assert ("cafÃ©",) in as_counts(found)  # what the user asked for
    with pytest.raises(FileInputError, match="line 4: byte 0xFF is not valid UTF-8"):
        read_columns(path, encoding="utf-8")


def test_a_named_encoding_reads_a_legacy_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes("score;segment\n5;Ærø\n4;€uro\n".encode("iso-8859-15"))
    found = histograms_from_file(
        path, score="score", scale=FIVE, by=["segment"], encoding="iso-8859-15"
    )
    assert as_counts(found) == {("Ærø",): {5: 1}, ("€uro",): {4: 1}}


def test_utf16_export(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "answers.txt",
        ["score", "segment"],
        [(5, "café"), (4, "東京")],
        delimiter="\t",
        encoding="utf-16",
        newline="\r\n",
    )
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("café",): {5: 1}, ("東京",): {4: 1}}


# --------------------------------------------------------------------------- file problems


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", HEADER, ROWS)
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(path, score="rating", scale=FIVE)
    assert str(raised.value) == (
        "score column 'rating' not found in answers.csv; "
        "its columns are: 'id', 'score', 'segment', 'answered'"
    )
    with pytest.raises(FileInputError, match="group column 'region' not found"):
        histograms_from_file(path, score="score", scale=FIVE, by=["region"])
    with pytest.raises(FileInputError, match="date column 'day' not found"):
        histograms_from_file(path, score="score", scale=FIVE, date="day", period=Period.DAY)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".jsonl"])
def test_missing_column_in_other_formats(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"answers{suffix}", HEADER, ROWS)
    with pytest.raises(FileInputError, match=r"'rating' not found .*'id', 'score', 'segment'"):
        histograms_from_file(path, score="rating", scale=FIVE)


def test_columns_match_ignoring_case_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("Score , Segment\n5,a\n", encoding="utf-8")
    found = histograms_from_file(path, score="score", scale=FIVE, by=["SEGMENT"])
    assert as_counts(found) == {("a",): {5: 1}}


def test_column_names_with_quotes_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('How likely? "NPS",It\'s the shop\n9,a\n10,b\n', encoding="utf-8")
    found = histograms_from_file(
        path, score='How likely? "NPS"', scale=ELEVEN, by=["It's the shop"]
    )
    assert as_counts(found) == {("a",): {9: 1}, ("b",): {10: 1}}


def test_group_values_are_kept_as_written_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("score,store\n5,007\n4,7\n3,\n", encoding="utf-8")
    found = histograms_from_file(path, score="score", scale=FIVE, by=["store"])
    assert as_counts(found) == {("007",): {5: 1}, ("7",): {4: 1}, (None,): {3: 1}}


def test_file_names_that_look_like_glob_patterns(tmp_path: Path) -> None:
    write_csv(tmp_path / "answers1.csv", ["score"], [(1,)])
    write_csv(tmp_path / "answers[1].csv", ["score"], [(5,)])
    write_csv(tmp_path / "answers*.parquet", ["score"], [(4,)])
    found = histograms_from_file(tmp_path / "answers[1].csv", score="score", scale=FIVE)
    assert found.total() == Histogram({5: 1})
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(tmp_path / "answers*.parquet", score="score", scale=FIVE)
    assert str(raised.value).startswith("could not read answers*.parquet as Parquet: ")
    assert "cxpulse-" not in str(raised.value)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "answers.xls"
    path.write_bytes(b"x")
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    assert str(raised.value) == (
        "cannot read answers.xls: unsupported file type '.xls'; "
        "supported: .csv, .tsv, .txt, .xlsx, .parquet, .jsonl, .ndjson"
    )


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileInputError, match=r"file not found: .*nope\.csv"):
        histograms_from_file(tmp_path / "nope.csv", score="score", scale=FIVE)
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(FileInputError, match="is a directory"):
        read_columns(tmp_path / "folder.csv")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score"], [(5,)])
    path.chmod(0)
    with pytest.raises(FileInputError, match="permission denied"):
        histograms_from_file(path, score="score", scale=FIVE)


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_zero_byte_file_is_empty(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"answers{suffix}"
    path.write_bytes(b"")
    with pytest.raises(FileInputError, match=r"answers\..* is empty"):
        histograms_from_file(path, score="score", scale=FIVE)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("answers.csv", "score,segment\n", "only a header line"),
        ("answers.csv", "score,segment\n\n\n", "only a header line"),
        ("answers.csv", "\n\n  \n", "is empty"),
        ("answers.jsonl", "\n\n", "is empty"),
    ],
)
def test_files_without_answers(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FileInputError, match=message):
        histograms_from_file(path, score="score", scale=FIVE)


def test_header_only_xlsx_and_empty_parquet(tmp_path: Path) -> None:
    xlsx = write_xlsx(tmp_path / "answers.xlsx", ["score", "segment"], [])
    with pytest.raises(FileInputError, match="only a header row"):
        histograms_from_file(xlsx, score="score", scale=FIVE)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"score": pa.array([], pa.int64())}), tmp_path / "answers.parquet")
    with pytest.raises(FileInputError, match="has no rows"):
        histograms_from_file(tmp_path / "answers.parquet", score="score", scale=FIVE)


def test_empty_workbook(tmp_path: Path) -> None:
    import openpyxl

    openpyxl.Workbook().save(tmp_path / "answers.xlsx")
    with pytest.raises(FileInputError, match="is empty"):
        histograms_from_file(tmp_path / "answers.xlsx", score="score", scale=FIVE)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "answers.parquet",
            b"PAR1 not really parquet",
            "could not read answers.parquet as Parquet",
        ),
        ("answers.xlsx", b"score,segment\n5,a\n", "as an Excel workbook"),
        ("answers.jsonl", b'{"score": 5}\n{"score": \n', "as JSON lines: Malformed JSON"),
        ("answers.csv", b"score,segment\n5,a\n4,b,c,d\n3,a\n", "line 3 has 4 fields, the header 2"),
    ],
)
def test_unreadable_content_gives_one_short_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    text = str(raised.value)
    assert message in text
    assert "\n" not in text
    assert "Possible" not in text
    assert len(text) < 300


# --------------------------------------------------------------------------- the Source API


def test_open_source_gives_columns_unit_and_a_from_item(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", HEADER, ROWS)
    with open_source(path) as source:
        assert list(source.columns) == HEADER
        assert source.unit == "line"
        assert source.name == "answers.csv"
        assert resolve_column(source, " SCORE ", "score") == "score"
        source.load_columns(["segment"])
        assert source.columns["segment"] == "VARCHAR"
        assert source.run(f"SELECT count(*) FROM {source.from_item()}") == [(8,)]
        assert source.run(f"SELECT Delimiter FROM {source.sniff_item()}") == [(",",)]
        with pytest.raises(FileInputError, match="group column 'nope' not found"):
            resolve_column(source, "nope", "group")
    parquet = write_table(tmp_path / "answers.parquet", HEADER, ROWS)
    with open_source(parquet) as source:
        assert source.unit == "row"


def test_a_workbook_loads_the_columns_asked_for(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "answers.xlsx", HEADER, ROWS)
    with open_source(path) as source:
        assert list(source.columns) == HEADER
        source.load_columns(["score", "segment"])
        found = source.run(f"SELECT score, segment FROM {source.from_item()} LIMIT 1")
        assert found == [("5", "web")]
