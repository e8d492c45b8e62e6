"""Dates of an import: how the staged date column becomes a moment in UTC.

Date and timestamp columns are used as they are (naive ones read in the import's time zone).
Text dates are ISO, or written in the format given (``--date-format``), or in one detected
from the first 1,000 values: the preset's formats, then the date orders ``cxpulse score``
knows (:data:`cxpulse.engine.DATE_FAMILIES`). The time zone is ``--timezone``, else the
export's own (Qualtrics writes it in a header row), else UTC. Whether a date that reads can
be an answer's time (1970 to a day past now) is checked with the other values
(:func:`cxpulse.collect.import_sql.answer_time_sql`).
"""

from __future__ import annotations

import json

from cxpulse.collect.import_options import ImportOptions
from cxpulse.collect.import_plan import Plan
from cxpulse.collect.import_results import ImportInputError
from cxpulse.engine import DATE_FAMILIES, TEXT_TYPES, Source, check_date_format, record_lines
from cxpulse.engine.duck import literal

__all__ = ["StagedDates"]

_PLAUSIBLE = "BETWEEN 1900 AND 2200"
"""Years a format must read the sampled dates into to count as reading them: a format that
reads "03/04/05" as the year 5 does not."""

# A time followed by a UTC offset: "2024-03-01 12:00:00+02:00", "2024-03-01T12:00Z".
_OFFSET_RE = r"\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]([01]\d|2[0-3])(:?\d\d)?)$"
# An offset of 24 hours or more ("+24:00"): DuckDB reads it, no time zone has it and the API
# refuses it, so the import refuses it too (store._values.aware).
_IMPOSSIBLE_OFFSET_RE = r"\d:\d\d(:\d\d(\.\d+)?)?\s*[+-](2[4-9]|[3-9]\d)(:?\d\d)?$"
_NAIVE_TIMESTAMPS = frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"})
_SAMPLE = 1000


class StagedDates:
    """The date column of the staging table (``r_date`` text, ``d_date`` typed) as SQL."""

    def __init__(self, source: Source, plan: Plan, options: ImportOptions) -> None:
        self.source = source
        self.plan = plan
        self.options = options
        self.timezone = "UTC"

    def to_utc(self, naive: str) -> str:
        """A naive TIMESTAMP read in the import's time zone, as TIMESTAMPTZ."""
        if self.timezone == "UTC":
            return f"CAST({naive} AS TIMESTAMPTZ)"
        return f"timezone({literal(self.timezone)}, {naive})"

    def parsed(self) -> tuple[str, str]:
        """``(parsed, reason)``: the date as TIMESTAMPTZ (NULL when unreadable), and why a
        value is refused."""
        column = self.plan.columns["submitted_at"]
        column_type = self.source.columns[column]
        if column_type == "TIMESTAMP WITH TIME ZONE":
            return "d_date", "is not a date"
        if column_type == "DATE" or column_type in _NAIVE_TIMESTAMPS:
            return self.to_utc("CAST(d_date AS TIMESTAMP)"), "is not a date"
        if column_type not in TEXT_TYPES:
            raise ImportInputError(
                f"date column {column!r} of {self.source.name} holds {column_type} values, "
                "not dates"
            )
        t = "r_date"
        iso_offset = f"TRY_CAST({t} AS TIMESTAMPTZ)"
        iso = (
            iso_offset
            if self.timezone == "UTC"
            else f"CASE WHEN regexp_matches({t}, {literal(_OFFSET_RE)}) THEN {iso_offset} "
            f"ELSE {self.to_utc(f'TRY_CAST({t} AS TIMESTAMP)')} END"
        )
        impossible = f"regexp_matches({t}, {literal(_IMPOSSIBLE_OFFSET_RE)})"
        iso = f"CASE WHEN {impossible} THEN NULL ELSE {iso} END"
        formats = self.formats(column)
        if formats is None:
            return iso, "is not a date (such as 2024-03-01 or 2024-03-01 12:00:00)"
        listed = ", ".join(literal(fmt) for fmt in formats)
        parsed = f"try_strptime({t}, [{listed}])"
        if not any("%z" in fmt or "%Z" in fmt for fmt in formats):
            parsed = self.to_utc(parsed)
        if self.source.kind == "xlsx":
            # Cells holding real dates arrive as ISO text, whatever the others look like.
            parsed = f"coalesce({parsed}, {iso})"
        shown = formats[0] if len(formats) == 1 else f"{formats[0]} (with or without a time)"
        return parsed, f"is not a date in the format {shown}"

    def formats(self, column: str) -> list[str] | None:
        """The strptime formats of a text date column; None means ISO.

        Without --date-format: ISO when every sampled value reads as ISO; otherwise the
        preset's formats, then the date orders ``cxpulse score`` knows (day/month/year...),
        whichever reads the most of the first 1,000 non-blank values. The values it does
        not read are invalid rows, reported with their lines; day-first and month-first
        reading equally well is refused as ambiguous.
        """
        if self.options.date_format is not None:
            check_date_format(self.source, self.options.date_format)
            return [self.options.date_format]
        preset = self.plan.preset
        candidates: dict[str, list[str]] = {}
        if preset is not None and preset.date_formats:
            candidates[preset.date_formats[0]] = list(preset.date_formats)
        candidates.update(DATE_FAMILIES)
        plausible = _PLAUSIBLE
        checks = [f"count(*) FILTER (WHERE year(TRY_CAST(t AS TIMESTAMPTZ)) {plausible})"]
        for formats in candidates.values():
            listed = ", ".join(literal(fmt) for fmt in formats)
            checks.append(f"count(*) FILTER (WHERE year(try_strptime(t, [{listed}])) {plausible})")
        sql = (
            f"SELECT count(*), {', '.join(checks)}, min(rn), arg_min(t, rn) FROM ("
            "SELECT rowid + 1 AS rn, r_date AS t FROM cx_raw WHERE r_date IS NOT NULL "
            f"AND NOT starts_with(r_date, '{{') LIMIT {_SAMPLE})"
        )
        sampled, iso, *read, first_row, first_value = self.source.run(sql)[0]
        if not sampled or iso == sampled:
            return None
        best = max([iso, *read])
        if best == 0:
            line = record_lines(self.source, [first_row])[first_row]
            raise ImportInputError(
                f"could not read the dates in column {column!r} of {self.source.name}, such "
                f"as {first_value!r} ({self.source.unit} {line}): give their format with "
                "--date-format, such as '%d/%m/%Y %H:%M'"
            )
        if iso == best:
            return None
        fitting = [name for name, count in zip(candidates, read, strict=True) if count == best]
        if "%d/%m/%Y" in fitting and "%m/%d/%Y" in fitting:
            raise ImportInputError(
                f"dates in column {column!r} of {self.source.name} such as {first_value!r} "
                "could be day/month or month/day: give --date-format '%d/%m/%Y' or "
                "'%m/%d/%Y' (with ' %H:%M' if they have times)"
            )
        return candidates[fitting[0]]

    def settle_time_zone(self) -> None:
        """--timezone, else the export's own (Qualtrics: third header row), else UTC."""
        if self.options.timezone is not None:
            self.timezone = self._checked_zone(self.options.timezone)
            return
        preset = self.plan.preset
        if preset is None or not preset.time_zone_in_header:
            return
        if "submitted_at" not in self.plan.columns or not self._is_text("submitted_at"):
            return
        sql = "SELECT r_date FROM cx_raw WHERE rowid < 2 AND starts_with(r_date, '{')"
        for (text,) in self.source.run(sql):
            try:
                zone = json.loads(text).get("timeZone")
            except (ValueError, AttributeError):
                continue
            if isinstance(zone, str) and zone:
                try:
                    self.timezone = self._checked_zone(zone)
                except ImportInputError:
                    continue
                return

    def _is_text(self, field_name: str) -> bool:
        return self.source.columns[self.plan.columns[field_name]] in TEXT_TYPES

    def _checked_zone(self, zone: str) -> str:
        import duckdb

        try:
            self.source.con.execute(
                f"SELECT CAST(timezone({literal(zone)}, TIMESTAMP '2000-01-01') AS VARCHAR)"
            ).fetchall()
        except duckdb.Error:
            raise ImportInputError(
                f"unknown time zone {zone!r}: use a name such as UTC or Europe/Stockholm"
            ) from None
        return zone
