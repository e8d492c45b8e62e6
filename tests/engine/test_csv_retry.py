from __future__ import annotations

from pathlib import Path

from tests.engine.writers import write_csv, write_parquet

from cxpulse.engine.csv_retry import text_retry
from cxpulse.engine.sources import open_source

FAILED = RuntimeError('Conversion Error: Error when converting column "score". Could not convert')


def test_a_used_csv_column_that_failed_its_type_is_read_again_as_text(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ["score", "team"], [(5, "x"), (4, "y")])
    with open_source(path) as source:
        assert text_retry(source, FAILED, ["score", "team"]) == "score"
        # Not used by the query, or already text: retrying would fail the same way again.
        assert text_retry(source, FAILED, ["team"]) is None
        source.read_as_text(["score"])
        assert text_retry(source, FAILED, ["score", "team"]) is None
        assert text_retry(source, RuntimeError("Out of memory"), ["score"]) is None


def test_only_csv_columns_are_retried(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "a.parquet", ["score"], [(5,), (4,)])
    with open_source(path) as source:
        assert text_retry(source, FAILED, ["score"]) is None
