"""Imports of files a user may send fit in the memory an import is given, spilling to disk;
one that still does not fit is refused with what to do, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.imports import ImportTooLarge
from cxpulse.store.models import DailyRollup, Organisation

from .conftest import assert_rollups_match, count, run_import, stored, write_csv


@pytest.fixture
def database_kind() -> str:
    """SQLite only: the memory at stake is DuckDB's, the same whichever database follows."""
    return "sqlite"


@pytest.mark.slow
def test_a_million_identical_rows_import_within_the_memory_cap(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    # Before: DuckDB ran out of its 128 MB (split between two threads) sorting the rows to
    # store, and the CLI showed a traceback, the API a 500. Identical rows (keys told apart
    # by their rank) were the shape that broke it.
    path = tmp_path / "same.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("score,date,channel\n")
        handle.write("5,2024-03-01,web\n" * 1_000_000)
    result = run_import(sessions, org, path, mapping="score=score,date=date,channel=channel")
    assert (result.rows, result.imported, result.invalid) == (1_000_000, 1_000_000, 0)
    kept = assert_rollups_match(sessions)
    assert sum(kept.values()) == 1_000_000


def test_a_file_that_does_not_fit_is_refused_with_what_to_do(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    rows = ["score,date,channel"] + [f"{1 + i % 5},2024-03-01,web{i}" for i in range(50_000)]
    path = write_csv(tmp_path / "big.csv", rows)
    with pytest.raises(ImportTooLarge) as raised:
        run_import(sessions, org, path, mapping="score=score,date=date", memory_mb=2)
    assert str(raised.value) == (
        "could not import big.csv: reading and checking it needs more than the 2 MB of memory "
        "an import may use, so nothing was stored. Split it into smaller files and import them "
        "one after the other (rows stored before are skipped)"
    )
    assert stored(sessions) == []
    assert count(sessions, DailyRollup) == 0
