"""What an import is asked to do: the survey rows go to, the options, progress reporting."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from cxpulse.metrics.scales import Scale
from cxpulse.store.models import Survey

__all__ = ["BATCH_ROWS", "IMPORT_MEMORY_MB", "ImportOptions", "Phase", "Progress", "SurveyTarget"]

BATCH_ROWS = 10_000
"""Rows fetched from DuckDB and written per batch."""
IMPORT_MEMORY_MB = 256
"""DuckDB's share of an import's memory, in megabytes: two threads' worth (see
:data:`cxpulse.engine.duck.MB_PER_THREAD`). Beyond it DuckDB spills to the import's scratch
directory, so the file's size does not matter; the whole process peaks near 400 MB for a
50 MB, 2-million-row file (docs/benchmarks.md)."""

Phase = Literal["read", "write"]
Progress = Callable[[Phase, float, float], None]
"""``progress(phase, done, total)``: ``read`` in percent (0-100), ``write`` in rows."""


@dataclass(frozen=True)
class SurveyTarget:
    """The survey rows go to: what the importer needs of it, detached from any session."""

    organisation_id: int
    survey_id: int
    slug: str
    scale: Scale
    touchpoint: str | None = None

    @classmethod
    def of(cls, survey: Survey) -> SurveyTarget:
        return cls(
            organisation_id=survey.organisation_id,
            survey_id=survey.id,
            slug=survey.slug,
            scale=survey.scale,
            touchpoint=survey.touchpoint,
        )


@dataclass(frozen=True)
class ImportOptions:
    mapping: Mapping[str, str] = field(default_factory=dict)
    """Field -> column, as :func:`cxpulse.collect.mapping.parse_map` gives it."""
    preset: str | None = None
    date_format: str | None = None
    """strptime format of the date column, such as ``%d/%m/%Y %H:%M``; default: detected."""
    timezone: str | None = None
    """Time zone of dates written without an offset; default UTC (Qualtrics: its header's)."""
    skip_invalid: bool = False
    sheet: int | str | None = None
    """Workbook sheet, by name or 0-based number (default: the first)."""
    batch_rows: int = BATCH_ROWS
    encoding: str | None = None
    """The text file's encoding as the user named it; default: settled by the rule of
    :mod:`cxpulse.engine.encoding` (UTF-8, UTF-16 with BOM, legacy Windows-1252)."""
    memory_mb: int | None = None
    """DuckDB's memory for this import; default :data:`IMPORT_MEMORY_MB`."""
