"""What an import is asked to do: the survey rows go to, the options, progress reporting."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from cxpulse.metrics.scales import Scale
from cxpulse.store.models import Survey

__all__ = ["BATCH_ROWS", "ImportOptions", "Phase", "Progress", "SurveyTarget"]

BATCH_ROWS = 10_000
"""Rows fetched from DuckDB and written per batch."""

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
