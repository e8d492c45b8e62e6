"""An organisation's answers as Parquet files partitioned by day, for a data lake.

Layout (Hive style, so DuckDB, Spark, Trino, BigQuery external tables... read the folders as
columns)::

    DIR/organisation=<slug>/day=YYYY-MM-DD/part-0.parquet
    DIR/organisation=<slug>/day=YYYY-MM-DD/_SUCCESS

A day is the UTC calendar day of ``submitted_at``. The export is incremental: a day that is
over (before today, UTC) and already written (its ``_SUCCESS`` marker is there) is skipped
without a query; today's partition, and any day not yet marked, is written again whole.
A partition is written to a temporary file and renamed into place, so a reader never sees half
a file, and the marker is written last, only for a day that is over. An answer stored later
with a ``submitted_at`` in a closed day (a file import of old answers) is not picked up:
delete that day's folder, or use ``--since``, which rewrites every day from that date.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from cxpulse.store.models import Response, Survey
from cxpulse.store.types import utc_now

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.orm import Session

__all__ = ["MARKER", "ParquetExport", "export_responses_parquet", "partition_folder"]

MARKER = "_SUCCESS"
"""Written in a day's folder once that day is over and its file complete."""
PART = "part-0.parquet"
_BATCH = 50_000

COLUMNS = (
    "id",
    "survey_id",
    "survey_slug",
    "score",
    "comment",
    "language",
    "channel",
    "touchpoint",
    "properties",
    "submitted_at",
    "received_at",
    "source",
    "contact_id",
    "unverified",
)
"""The columns of each file, in order (``properties`` as JSON text)."""


@dataclass
class ParquetExport:
    """What one run did."""

    written: dict[date, int] = field(default_factory=dict)
    """Days written this run, with their number of answers."""
    skipped: int = 0
    """Closed days already written, left as they were."""


def partition_folder(target: Path, organisation_slug: str, day: date) -> Path:
    return target / f"organisation={organisation_slug}" / f"day={day.isoformat()}"


def export_responses_parquet(
    session: Session,
    organisation_id: int,
    organisation_slug: str,
    target: Path,
    *,
    since: date | None = None,
    now: datetime | None = None,
    progress: Callable[[date, int], None] | None = None,
) -> ParquetExport:
    """Write the organisation's answers under ``target``, one partition per UTC day.

    ``since``: start at this day, rewriting every day from it (default: the first answer's
    day, skipping the closed days already written). ``now`` stands for the current time
    (tests). ``progress`` is called with each day written and its count.
    """
    moment = (now or utc_now()).astimezone(UTC)
    today = moment.date()
    first = session.scalar(
        select(func.min(Response.submitted_at)).where(Response.organisation_id == organisation_id)
    )
    done = ParquetExport()
    if first is None:
        return done
    day = since if since is not None else first.astimezone(UTC).date()
    while day <= today:
        folder = partition_folder(target, organisation_slug, day)
        closed = day < today
        if since is None and closed and (folder / MARKER).exists():
            done.skipped += 1
        else:
            count = _write_day(session, organisation_id, folder, day)
            if count:
                done.written[day] = count
                if progress is not None:
                    progress(day, count)
                if closed:
                    (folder / MARKER).touch()
        day += timedelta(days=1)
    return done


def _write_day(session: Session, organisation_id: int, folder: Path, day: date) -> int:
    """Write one day's answers (replacing the folder's file); their number."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = datetime.combine(day, time(), tzinfo=UTC)
    query = (
        select(
            Response.id,
            Response.survey_id,
            Survey.slug,
            Response.score,
            Response.comment,
            Response.language,
            Response.channel,
            Response.touchpoint,
            Response.properties,
            Response.submitted_at,
            Response.received_at,
            Response.source,
            Response.contact_id,
            Response.unverified,
        )
        .join(Survey, Survey.id == Response.survey_id)
        .where(
            Response.organisation_id == organisation_id,
            Response.submitted_at >= start,
            Response.submitted_at < start + timedelta(days=1),
        )
        .order_by(Response.submitted_at, Response.id)
    )
    schema = _schema()
    count = 0
    writer: pq.ParquetWriter | None = None
    temporary = folder / f".{PART}.tmp"
    try:
        for batch in session.execute(query.execution_options(yield_per=_BATCH)).partitions():
            if writer is None:
                folder.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(temporary, schema)
            writer.write_table(pa.Table.from_pydict(_columns(batch), schema=schema))
            count += len(batch)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        # No answers that day (any more): no partition.
        (folder / PART).unlink(missing_ok=True)
        return 0
    os.replace(temporary, folder / PART)
    (folder / MARKER).unlink(missing_ok=True)
    return count


def _columns(batch: Any) -> dict[str, list[Any]]:
    import json

    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for row in batch:
        for name, value in zip(COLUMNS, row, strict=True):
            if name == "properties":
                value = json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
            columns[name].append(value)
    return columns


def _schema() -> pa.Schema:
    import pyarrow as pa

    fields: list[tuple[str, pa.DataType]] = [
        ("id", pa.int64()),
        ("survey_id", pa.int64()),
        ("survey_slug", pa.string()),
        ("score", pa.float64()),
        ("comment", pa.string()),
        ("language", pa.string()),
        ("channel", pa.string()),
        ("touchpoint", pa.string()),
        ("properties", pa.string()),
        ("submitted_at", pa.timestamp("us", tz="UTC")),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("source", pa.string()),
        ("contact_id", pa.int64()),
        ("unverified", pa.bool_()),
    ]
    return pa.schema(fields)
