"""Bulk import of survey exports: read and check inside DuckDB, store in one transaction.

1. **Read** (:func:`prepare_import`): the file engine reads the file (CSV/TSV, XLSX, Parquet,
   JSON lines; UTF-8, UTF-16 or Windows-1252), and a few set-based statements in DuckDB
   (see :class:`_Sql`) copy the mapped columns into a staging table, turn them into
   response fields and check them: the score is a whole number on the survey's scale,
   dates parse, texts fit the store's limits. No Python code runs per row to check
   anything; Python sees the counts and, when rows are invalid, the first of them.
2. **Decide**: an invalid row stops the import before anything is written (all or
   nothing), unless ``skip_invalid``. A report of every invalid cell (line, column, value,
   reason) can be written either way.
3. **Store** (:meth:`PreparedImport.store`): :class:`cxpulse.collect.bulk.BulkWriter`
   inserts the valid rows in batches, with their rollups and an audit entry, all in the
   caller's transaction: a crash at any moment leaves nothing behind.

Idempotency: a response's key is ``import:<response id>`` when the export has a response id
column (the preset knows it, or ``--map id=COL``), else ``import:sha256:<hash of the row's
mapped values>`` (plus ``:2``, ``:3``... for the second, third identical row of a file),
computed in DuckDB. Importing a file again stores only the rows not stored before.

A blank score is "no answer": the row is counted as blank and not stored, since a response
is an answered score. Zendesk's ``offered`` / ``unoffered`` (asked, never rated) are blank.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cxpulse.collect import _engine
from cxpulse.collect.bulk import BulkWriter
from cxpulse.collect.mapping import PROPERTY_PREFIX, MappingError, check_properties
from cxpulse.collect.presets import Preset, PresetError, find_columns, get_preset
from cxpulse.csv_safety import neutralise_cell
from cxpulse.engine.duck import condense, ident, literal
from cxpulse.engine.files import FileInputError
from cxpulse.metrics.scales import Scale
from cxpulse.store import audit
from cxpulse.store.models import MAX_COMMENT_LENGTH, Survey
from cxpulse.store.responses import MAX_IDEMPOTENCY_KEY_LENGTH
from cxpulse.store.types import utc_now

if TYPE_CHECKING:
    import duckdb
    from sqlalchemy.orm import Session

    from cxpulse.collect._engine import Source

__all__ = [
    "BadCell",
    "ImportFailed",
    "ImportInputError",
    "ImportOptions",
    "ImportResult",
    "InvalidRowsError",
    "PreparedImport",
    "SurveyTarget",
    "import_file",
    "prepare_import",
]

BATCH_ROWS = 10_000
"""Rows fetched from DuckDB and written per batch."""
MAX_SHOWN = 100
"""Invalid cells kept in results and errors (a report file has them all)."""
DUCKDB_MEMORY_LIMIT = "128MB"
"""DuckDB's share of an import's memory; beyond it, it spills to a scratch directory."""
MAX_REPORTED_VALUE = 200
"""Characters of a cell shown in errors and reports (a 10,000-character comment is cut)."""

TEXT_LIMITS: dict[str, int] = {
    "comment": MAX_COMMENT_LENGTH,
    "language": 35,
    "channel": 50,
    "touchpoint": 100,
    "contact": 200,
}
"""Longest text of each field, in characters: the store's limits."""
MAX_PROPERTY_VALUE = 1000
MIN_YEAR, MAX_YEAR = 1900, 2200
KEY_PREFIX = "import:"
HASH_PREFIX = "import:sha256:"

Phase = Literal["read", "write"]
Progress = Callable[[Phase, float, float], None]
"""``progress(phase, done, total)``: ``read`` in percent (0-100), ``write`` in rows."""

# A time followed by a UTC offset: "2024-03-01 12:00:00+02:00", "2024-03-01T12:00Z".
_OFFSET_RE = r"\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$"
_LABELLED_RE = r"^([0-9]+)\s*[-–—:]"
_NAIVE_TIMESTAMPS = frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"})
_SAMPLE = 1000


class ImportFailed(Exception):
    """An import that cannot go ahead; the message is meant for people."""


class ImportInputError(ImportFailed):
    """The file, the mapping or an option is wrong (as opposed to some rows)."""


@dataclass(frozen=True)
class BadCell:
    """One invalid value: where it is, what it is and why it is refused."""

    line: int
    """File line (the header is line 1); for Parquet the row number."""
    column: str
    field: str
    value: str | None
    reason: str

    def describe(self, unit: str = "line") -> str:
        """Such as ``line 4, column 'Rating': '11' is not on the 1-5 scale ...``."""
        if self.value is None:
            return f"{unit} {self.line}, column {self.column!r} {self.reason}"
        return f"{unit} {self.line}, column {self.column!r}: {self.value!r} {self.reason}"


@dataclass
class ImportResult:
    """What an import did, or would have done.

    ``imported + already_present + duplicates + blank + invalid == rows``.
    """

    file: str
    survey: str
    rows: int
    """Data rows read (header rows not counted)."""
    imported: int
    already_present: int
    """Valid rows whose key was stored before (an earlier import of the same rows)."""
    duplicates: int
    """Rows repeating an earlier row's response id within this file."""
    blank: int
    """Rows without a score: not stored."""
    invalid: int
    """Rows with an invalid value: they stopped the import, or were skipped."""
    invalid_rows: list[BadCell]
    """The first invalid cells (at most 100), in file order."""
    unit: str
    """What ``BadCell.line`` counts: ``line`` of a text file or sheet, ``row`` of Parquet."""
    contacts_created: int
    key: str
    """How idempotency keys were made: ``column '<name>'`` or ``content hash``."""
    columns: dict[str, str]
    """Field -> the file's column it was read from."""
    seconds: float
    stored: bool
    """False when nothing was written (invalid rows, and skip_invalid not asked)."""
    report_rows: int | None = None
    """Invalid cells written to the report file, when one was asked for."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


class InvalidRowsError(ImportFailed):
    """Some rows are invalid and ``skip_invalid`` was not asked: nothing was stored."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        shown = result.invalid_rows[:5]
        first = "; ".join(cell.describe(result.unit) for cell in shown)
        more = "; ..." if len(result.invalid_rows) > len(shown) else ""
        rows = "row" if result.invalid == 1 else "rows"
        super().__init__(
            f"{result.invalid} invalid {rows} in {result.file}, so nothing was imported: "
            f"{first}{more}"
        )


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


# --------------------------------------------------------------------------- the staging table


@dataclass(frozen=True)
class _Slot:
    """A mapped field in the staging table: ``r_<name>`` raw text, ``e_<name>`` its problem."""

    field: str
    column: str
    name: str


_TEXT_FIELDS = ("comment", "language", "channel", "touchpoint", "contact")


@dataclass
class _Plan:
    columns: dict[str, str]
    """Field (``property.x`` included) -> column."""
    slots: list[_Slot]
    """Checked fields, in the order their problems are listed."""
    key: str
    preset: Preset | None

    def slot(self, name: str) -> _Slot | None:
        return next((slot for slot in self.slots if slot.name == name), None)

    @property
    def properties(self) -> list[_Slot]:
        return [slot for slot in self.slots if slot.field.startswith(PROPERTY_PREFIX)]


def _show_columns(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:60])
    return shown + (f", ... ({len(names) - 60} more)" if len(names) > 60 else "")


def _plan(source: Source, preset: Preset | None, options: ImportOptions) -> _Plan:
    names = list(source.columns)
    found = find_columns(preset, names) if preset is not None else {}
    for field_name, column in options.mapping.items():
        if not column:
            found.pop(field_name, None)
            continue
        found[field_name] = _engine.resolve_column(source, column, field_name)
    if "score" not in found:
        hint = f" ({preset.score_hint})" if preset is not None else ""
        raise ImportInputError(
            f"no score column: map one with --map score=COLUMN{hint}. "
            f"{source.name} has the columns: {_show_columns(names)}"
        )
    slots = [_Slot("score", found["score"], "score")]
    if "submitted_at" in found:
        slots.append(_Slot("submitted_at", found["submitted_at"], "date"))
    slots += [_Slot(name, found[name], name) for name in _TEXT_FIELDS if name in found]
    properties = sorted(name for name in found if name.startswith(PROPERTY_PREFIX))
    slots += [_Slot(name, found[name], f"p{i}") for i, name in enumerate(properties)]
    key = f"column {found['id']!r}" if "id" in found else "content hash"
    return _Plan(found, slots, key, preset)


class _Sql:
    """Builds the staging statements for one file, survey and set of options.

    ``cx_raw`` holds the mapped columns as trimmed text (``r_<slot>``) in file order, so
    its ``rowid + 1`` is the data row number; ``cx`` the parsed values, the problems
    (``e_<slot>``), the flags and the keys of every row but header rows; ``cx_occ`` the
    occurrence numbers of rows whose values repeat an earlier row's; ``cx_dup`` the rows
    whose response id repeats an earlier row's. No window function runs over all rows.
    """

    def __init__(
        self,
        source: Source,
        plan: _Plan,
        target: SurveyTarget,
        options: ImportOptions,
        received: datetime,
    ) -> None:
        self.source = source
        self.plan = plan
        self.target = target
        self.options = options
        self.received = received
        self.timezone = "UTC"

    def trimmed(self, column: str) -> str:
        return _engine.trimmed_sql(self.source, column)

    # -- cx_raw --------------------------------------------------------------------------

    def raw_table(self) -> str:
        plan = self.plan
        raws = [f"{self.trimmed(plan.columns['score'])} AS r_score"]
        if "id" in plan.columns:
            raws.append(f"{self.trimmed(plan.columns['id'])} AS r_id")
        raws += [f"{self.trimmed(slot.column)} AS r_{slot.name}" for slot in plan.slots[1:]]
        date = plan.columns.get("submitted_at")
        if date is not None and self.source.columns[date] not in _engine.TEXT_TYPES:
            raws.append(f"{ident(date)} AS d_date")
        return f"CREATE TABLE cx_raw AS SELECT {', '.join(raws)} FROM {self.source.from_item()}"

    # -- values --------------------------------------------------------------------------

    def score(self) -> tuple[str, str]:
        """``(value, from_word)``: DOUBLE (NULL blank, NaN not a number), and BOOLEAN."""
        column = self.plan.columns["score"]
        column_type = self.source.columns[column]
        r = "r_score"
        if column_type in _engine.NUMBER_TYPES or column_type.startswith("DECIMAL"):
            return f"TRY_CAST({r} AS DOUBLE)", "false"
        if column_type == "BOOLEAN":
            return f"CASE lower({r}) WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 END", "false"
        if column_type not in _engine.TEXT_TYPES:
            raise ImportInputError(
                f"score column {column!r} of {self.source.name} holds {column_type} values, "
                "not numbers"
            )
        cases: list[str] = []
        from_word = "false"
        preset = self.plan.preset
        if preset is not None and preset.score_words is not None:
            words = preset.score_words
            blank = [word for word, value in words.words.items() if value is None]
            if blank:
                cases.append(f"WHEN lower({r}) IN ({', '.join(map(literal, blank))}) THEN NULL")
            tests = []
            for word, number in words.words.items():
                if number is not None:
                    cases.append(f"WHEN lower({r}) = {literal(word)} THEN {float(number)}")
                    tests.append(f"lower({r}) = {literal(word)}")
            for prefix, number in words.prefixes.items():
                cases.append(
                    f"WHEN starts_with(lower({r}), {literal(prefix)}) THEN {float(number)}"
                )
                tests.append(f"starts_with(lower({r}), {literal(prefix)})")
            if tests:
                from_word = f"coalesce({' OR '.join(tests)}, false)"
        if preset is not None and preset.labelled_numbers:
            pattern = literal(_LABELLED_RE)
            cases.append(
                f"WHEN regexp_matches({r}, {pattern}) "
                f"THEN CAST(regexp_extract({r}, {pattern}, 1) AS DOUBLE)"
            )
        fast = f"TRY_CAST({r} AS DOUBLE)"
        value = (
            f"CASE WHEN {r} IS NULL THEN NULL WHEN {fast} IS NOT NULL THEN {fast} "
            f"{' '.join(cases)} ELSE CAST('NaN' AS DOUBLE) END"
        )
        return value, from_word

    def to_utc(self, naive: str) -> str:
        """A naive TIMESTAMP read in the import's time zone, as TIMESTAMPTZ."""
        if self.timezone == "UTC":
            return f"CAST({naive} AS TIMESTAMPTZ)"
        return f"timezone({literal(self.timezone)}, {naive})"

    def date(self) -> tuple[str, str]:
        """``(parsed, reason)``: the date as TIMESTAMPTZ (NULL when unreadable), and why a
        value is refused."""
        column = self.plan.columns["submitted_at"]
        column_type = self.source.columns[column]
        if column_type == "TIMESTAMP WITH TIME ZONE":
            return "d_date", "is not a date"
        if column_type == "DATE" or column_type in _NAIVE_TIMESTAMPS:
            return self.to_utc("CAST(d_date AS TIMESTAMP)"), "is not a date"
        if column_type not in _engine.TEXT_TYPES:
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
        formats = self.date_formats(column)
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

    def date_formats(self, column: str) -> list[str] | None:
        """The strptime formats of a text date column; None means ISO.

        Without --date-format: ISO when every sampled value reads as ISO; otherwise the
        preset's formats, then the date orders ``cxpulse score`` knows (day/month/year...),
        whichever reads the most of the first 1,000 non-blank values. The values it does
        not read are invalid rows, reported with their lines; day-first and month-first
        reading equally well is refused as ambiguous.
        """
        if self.options.date_format is not None:
            _engine.check_date_format(self.source, self.options.date_format)
            return [self.options.date_format]
        preset = self.plan.preset
        candidates: dict[str, list[str]] = {}
        if preset is not None and preset.date_formats:
            candidates[preset.date_formats[0]] = list(preset.date_formats)
        candidates.update(_engine.DATE_FAMILIES)
        plausible = f"BETWEEN {MIN_YEAR} AND {MAX_YEAR}"
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
            line = _engine.record_lines(self.source, [first_row])[first_row]
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
        return self.source.columns[self.plan.columns[field_name]] in _engine.TEXT_TYPES

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

    # -- cx ------------------------------------------------------------------------------

    def header_rows(self) -> str:
        preset = self.plan.preset
        if preset is None or preset.header_rows is None:
            return "false"
        rows = preset.header_rows
        raw = {slot.field: f"r_{slot.name}" for slot in self.plan.slots}
        if "id" in self.plan.columns:
            raw["id"] = "r_id"
        tests: list[str] = []
        for name, texts in rows.values.items():
            if name in raw:
                listed = ", ".join(literal(text.lower()) for text in texts)
                tests.append(f"lower({raw[name]}) IN ({listed})")
        if rows.prefix is not None:
            tests += [f"starts_with({column}, {literal(rows.prefix)})" for column in raw.values()]
        if rows.all_blank and all(name in raw for name in rows.all_blank):
            tests.append("(" + " AND ".join(f"{raw[n]} IS NULL" for n in rows.all_blank) + ")")
        if not tests:
            return "false"
        return f"(rowid < {rows.max_rows} AND coalesce({' OR '.join(tests)}, false))"

    def checked_table(self) -> str:
        plan = self.plan
        self.settle_time_zone()
        score_value, from_word = self.score()
        values = [f"{score_value} AS s", f"{from_word} AS sw"]
        checks: list[str] = []
        scale = self.target.scale
        slug = self.target.slug
        words = plan.preset.score_words if plan.preset is not None else None
        score_case = ["WHEN s IS NULL THEN NULL"]
        if words is not None and words.scale != scale:
            reason = (
                f"is a {words.scale.name} rating, but survey {slug!r} is on the {scale.name} "
                f"scale: import it into a {words.scale.name} survey"
            )
            score_case.append(f"WHEN sw THEN {literal(reason)}")
        score_case += [
            "WHEN isnan(s) THEN 'is not a number'",
            f"WHEN s <> round(s) AND s BETWEEN {scale.low} AND {scale.high} THEN "
            + literal(f"is not a whole number (survey {slug!r} is on the {scale.name} scale)"),
            f"WHEN NOT ({_engine.valid_score_sql('s', scale)}) THEN "
            + literal(
                f"is not on the {scale.name} scale of survey {slug!r} "
                f"(whole numbers {scale.low} to {scale.high})"
            ),
        ]
        checks.append(f"CASE {' '.join(score_case)} END AS e_score")

        if "submitted_at" in plan.columns:
            parsed, reason = self.date()
            values.append(f"{parsed} AS ts")
            checks.append(
                "CASE WHEN s IS NULL THEN NULL "
                "WHEN r_date IS NULL THEN 'has no date; each response needs one' "
                f"WHEN ts IS NULL THEN {literal(reason)} "
                f"WHEN year(ts) NOT BETWEEN {MIN_YEAR} AND {MAX_YEAR} "
                f"THEN 'is outside the years {MIN_YEAR} to {MAX_YEAR}' END AS e_date"
            )
        else:
            moment = self.received.strftime("%Y-%m-%d %H:%M:%S.%f")
            values.append(f"CAST({literal(moment + '+00')} AS TIMESTAMPTZ) AS ts")

        for slot in plan.slots:
            if slot.field in TEXT_LIMITS or slot.field.startswith(PROPERTY_PREFIX):
                limit = TEXT_LIMITS.get(slot.field, MAX_PROPERTY_VALUE)
                r = f"r_{slot.name}"
                checks.append(
                    f"CASE WHEN s IS NULL OR {r} IS NULL THEN NULL "
                    f"WHEN length({r}) > {limit} THEN 'is ' || length({r}) || "
                    f"' characters long; at most {limit} are allowed' "
                    f"WHEN contains({r}, chr(0)) THEN 'contains a NUL character' "
                    f"END AS e_{slot.name}"
                )

        errors = [f"e_{slot.name}" for slot in plan.slots]
        any_error = " OR ".join(f"{e} IS NOT NULL" for e in errors)
        normalised = ["CAST(s AS VARCHAR)"]
        if "submitted_at" in plan.columns:
            normalised.append("strftime(ts, '%Y-%m-%d %H:%M:%S.%f')")
        normalised += [
            f"lower(r_{slot.name})" if slot.field == "language" else f"r_{slot.name}"
            for slot in plan.slots[1:]
            if slot.field != "submitted_at"
        ]
        content = f"sha256(CAST(to_json(list_value({', '.join(normalised)})) AS VARCHAR))"
        if "id" in plan.columns:
            room = MAX_IDEMPOTENCY_KEY_LENGTH - len(KEY_PREFIX)
            id_key = (
                "CASE WHEN r_id IS NULL THEN NULL "
                f"WHEN length(r_id) <= {room} AND NOT contains(r_id, chr(0)) "
                f"THEN {literal(KEY_PREFIX)} || r_id "
                f"ELSE {literal(HASH_PREFIX)} || sha256(r_id) END"
            )
            content = f"CASE WHEN id_key IS NULL THEN {content} END"
        else:
            id_key = "CAST(NULL AS VARCHAR)"
        keep = ["rn", "s", "ts", *errors, "bad", "ok", "id_key", "h"]
        return (
            f"CREATE TABLE cx AS SELECT {', '.join(keep)} FROM ("
            f"SELECT *, s IS NOT NULL AND ({any_error}) AS bad, "
            f"s IS NOT NULL AND NOT ({any_error}) AS ok, "
            f"CASE WHEN s IS NOT NULL THEN {content} END AS h FROM ("
            f"SELECT *, {', '.join(checks)}, {id_key} AS id_key FROM ("
            f"SELECT rowid + 1 AS rn, *, {', '.join(values)} FROM cx_raw "
            f"WHERE NOT {self.header_rows()})))"
        )

    @staticmethod
    def repeats_tables() -> list[str]:
        """Occurrence numbers of repeated content, and rows repeating a response id."""
        return [
            "CREATE TABLE cx_occ AS SELECT rn, row_number() OVER (PARTITION BY h ORDER BY rn) "
            "AS n FROM cx WHERE h IN (SELECT h FROM cx WHERE h IS NOT NULL GROUP BY h "
            "HAVING count(*) > 1)",
            "CREATE TABLE cx_dup AS SELECT cx.rn FROM cx JOIN (SELECT id_key, min(rn) AS first "
            "FROM cx WHERE ok AND id_key IS NOT NULL GROUP BY id_key HAVING count(*) > 1) AS d "
            "USING (id_key) WHERE cx.ok AND cx.rn > d.first",
        ]


# --------------------------------------------------------------------------- the prepared import

_KEY = (
    f"coalesce(cx.id_key, {literal(HASH_PREFIX)} || cx.h || "
    "CASE WHEN cx_occ.n > 1 THEN ':' || cx_occ.n ELSE '' END)"
)


class PreparedImport:
    """A file read and checked inside DuckDB, ready to be stored (or refused)."""

    def __init__(
        self,
        source: Source,
        plan: _Plan,
        target: SurveyTarget,
        options: ImportOptions,
        *,
        received: datetime,
        started: float,
    ) -> None:
        self._source = source
        self._con: duckdb.DuckDBPyConnection = source.con
        self._plan = plan
        self.target = target
        self.options = options
        self.received = received
        self._started = started
        counts = self._con.execute(
            "SELECT count(*), count(*) FILTER (WHERE s IS NULL), count(*) FILTER (WHERE bad), "
            "(SELECT count(*) FROM cx_dup), count(*) FILTER (WHERE ok) FROM cx"
        ).fetchone()
        assert counts is not None
        self.rows, self.blank, self.invalid, self.duplicates, ok = (int(n) for n in counts)
        self.valid = ok - self.duplicates
        """Rows to store: neither blank, invalid nor repeating a response id."""
        self._first: list[BadCell] | None = None

    @property
    def file(self) -> str:
        return self._source.name

    @property
    def unit(self) -> str:
        return str(self._source.unit)

    @property
    def key(self) -> str:
        return self._plan.key

    @property
    def columns(self) -> dict[str, str]:
        return dict(self._plan.columns)

    # -- invalid cells -------------------------------------------------------------------

    def _bad_cells_sql(self) -> str:
        parts = [
            f"SELECT rn, {order} AS o, {literal(slot.field)} AS f, {literal(slot.column)} AS c, "
            f"left(r_{slot.name}, {MAX_REPORTED_VALUE + 1}) AS v, e_{slot.name} AS why "
            f"FROM cx_bad WHERE e_{slot.name} IS NOT NULL"
            for order, slot in enumerate(self._plan.slots)
        ]
        return (
            "WITH cx_bad AS (SELECT * FROM cx JOIN cx_raw ON cx_raw.rowid + 1 = cx.rn "
            f"WHERE cx.bad) {' UNION ALL '.join(parts)} ORDER BY rn, o"
        )

    def bad_cells(self, limit: int = MAX_SHOWN) -> list[BadCell]:
        """The first invalid cells in file order, with their line numbers."""
        if not self.invalid:
            return []
        if limit == MAX_SHOWN and self._first is not None:
            return self._first
        found = self._con.execute(f"{self._bad_cells_sql()} LIMIT {int(limit)}").fetchall()
        lines = _engine.record_lines(self._source, [row[0] for row in found])
        cells = [
            BadCell(lines[rn], str(column), str(name), _cut(value), str(why))
            for rn, _order, name, column, value, why in found
        ]
        if limit == MAX_SHOWN:
            self._first = cells
        return cells

    def write_report(self, path: str | Path) -> int:
        """Write every invalid cell to a CSV file (line, column, value, reason); the count.

        Cells starting with = + - @ are neutralised, so that a spreadsheet shows them as
        text instead of running them as formulas.
        """
        written = 0
        with Path(path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([self.unit, "column", "value", "reason"])
            if not self.invalid:
                return 0
            found = self._con.execute(self._bad_cells_sql())
            with _engine.LineFinder(self._source) as finder:
                while chunk := found.fetchmany(BATCH_ROWS):
                    lines = finder.lines([row[0] for row in chunk])
                    writer.writerows(
                        [
                            lines[rn],
                            neutralise_cell(str(column)),
                            neutralise_cell(_cut(value) or ""),
                            neutralise_cell(str(why)),
                        ]
                        for rn, _order, _name, column, value, why in chunk
                    )
                    written += len(chunk)
        return written

    def result(self, *, stored: bool, imported: int = 0, contacts: int = 0) -> ImportResult:
        return ImportResult(
            file=self.file,
            survey=self.target.slug,
            rows=self.rows,
            imported=imported,
            already_present=self.valid - imported if stored else 0,
            duplicates=self.duplicates,
            blank=self.blank,
            invalid=self.invalid,
            invalid_rows=self.bad_cells(),
            unit=self.unit,
            contacts_created=contacts,
            key=self.key,
            columns=self.columns,
            seconds=time.monotonic() - self._started,
            stored=stored,
        )

    def check(self) -> None:
        """Raise :class:`InvalidRowsError` when rows are invalid and may not be skipped."""
        if self.invalid and not self.options.skip_invalid:
            raise InvalidRowsError(self.result(stored=False))

    # -- storing -------------------------------------------------------------------------

    def _rows_sql(self, dialect: str) -> tuple[list[str], str]:
        """The fields each row carries (see :class:`BulkWriter`), and the query."""
        slots = {slot.field: slot for slot in self._plan.slots}
        fields: list[str] = []
        selects: list[str] = []
        if "contact" in slots:
            fields.append("contact")
            selects.append(f"r_{slots['contact'].name}")
        fields.append("score")
        selects.append("cx.s")
        default = literal(self.target.touchpoint) if self.target.touchpoint else "NULL"
        for name in ("comment", "language", "channel", "touchpoint"):
            if name in slots:
                fields.append(name)
                column = f"r_{slots[name].name}"
                if name == "language":
                    column = f"lower({column})"
                elif name == "touchpoint":
                    column = f"coalesce({column}, {default})"
                selects.append(column)
        props = self._plan.properties
        if props:
            entries = ", ".join(
                f"CASE WHEN r_{slot.name} IS NOT NULL THEN "
                f"{literal(json.dumps(slot.field[len(PROPERTY_PREFIX) :]) + ':')} "
                f"|| CAST(to_json(r_{slot.name}) AS VARCHAR) END"
                for slot in props
            )
            fields.append("properties")
            selects.append(f"'{{' || concat_ws(',', {entries}) || '}}'")
        if "submitted_at" in slots:
            suffix = "" if dialect == "sqlite" else " || '+00'"
            fields.append("submitted_at")
            selects.append(f"strftime(cx.ts, '%Y-%m-%d %H:%M:%S.%f'){suffix}")
        fields.append("idempotency_key")
        selects.append(_KEY)
        sql = (
            f"SELECT {', '.join(selects)} FROM cx JOIN cx_raw ON cx_raw.rowid + 1 = cx.rn "
            "LEFT JOIN cx_occ ON cx_occ.rn = cx.rn "
            "WHERE cx.ok AND cx.rn NOT IN (SELECT rn FROM cx_dup) ORDER BY cx.ts, cx.rn"
        )
        return fields, sql

    def _planned_rollups(self) -> dict[tuple[str, str, str, float], int]:
        """Rows to store per (day, channel, touchpoint, score): the rollups they add."""
        slots = {slot.field: slot for slot in self._plan.slots}
        channel = f"r_{slots['channel'].name}" if "channel" in slots else "NULL"
        default = literal(self.target.touchpoint) if self.target.touchpoint else "NULL"
        touchpoint = (
            f"coalesce(r_{slots['touchpoint'].name}, {default})"
            if "touchpoint" in slots
            else default
        )
        found = self._con.execute(
            f"SELECT strftime(cx.ts, '%Y-%m-%d') AS day, coalesce({channel}, '') AS c, "
            f"coalesce({touchpoint}, '') AS t, cx.s, count(*) "
            "FROM cx JOIN cx_raw ON cx_raw.rowid + 1 = cx.rn "
            "WHERE cx.ok AND cx.rn NOT IN (SELECT rn FROM cx_dup) GROUP BY ALL"
        ).fetchall()
        return {(day, c, t, float(s)): int(n) for day, c, t, s, n in found}

    def store(
        self,
        session: Session,
        *,
        actor: str = audit.SYSTEM,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Insert the valid rows within ``session``'s transaction; the caller commits.

        Refuses with :class:`InvalidRowsError` when rows are invalid and not to be skipped.
        """
        self.check()
        dialect = session.get_bind().dialect.name
        fields, sql = self._rows_sql(dialect)
        planned = self._planned_rollups()
        # Sorted into a table first: the sort may spill to disk, a query result may not.
        self._con.execute(f"CREATE OR REPLACE TABLE cx_out AS {sql}")
        rows = self._con.execute("SELECT * FROM cx_out")
        # The database transaction starts here (on SQLite it takes the write lock).
        writer = BulkWriter(
            session,
            organisation_id=self.target.organisation_id,
            survey_id=self.target.survey_id,
            fields=fields,
            received_at=self.received,
            touchpoint=self.target.touchpoint,
        )
        done, total = 0, self.valid
        if progress is not None:
            progress("write", 0, total)
        try:
            while batch := rows.fetchmany(self.options.batch_rows):
                writer.write(batch)
                done += len(batch)
                if progress is not None:
                    progress("write", done, total)
            writer.finish(planned)
        finally:
            writer.close()
        result = self.result(
            stored=True, imported=writer.inserted, contacts=writer.contacts_created
        )
        audit.record(
            session,
            self.target.organisation_id,
            actor=actor,
            action="import",
            entity="survey",
            entity_id=self.target.survey_id,
            details={
                "file": result.file,
                "rows": result.rows,
                "imported": result.imported,
                "already_present": result.already_present,
                "duplicates": result.duplicates,
                "blank": result.blank,
                "invalid": result.invalid,
                "key": result.key,
            },
        )
        return result


def _cut(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_REPORTED_VALUE else text[:MAX_REPORTED_VALUE] + "…"


# --------------------------------------------------------------------------- entry points


@contextmanager
def prepare_import(
    path: str | Path,
    target: SurveyTarget,
    options: ImportOptions,
    progress: Progress | None = None,
) -> Iterator[PreparedImport]:
    """Read and check ``path`` for ``target``; nothing touches the database yet.

    Raises :class:`ImportInputError` for a file that cannot be read, a column that is not
    there (the message lists those that are), a bad date format or time zone.
    """
    import duckdb

    started = time.monotonic()
    received = utc_now()
    try:
        preset = get_preset(options.preset) if options.preset else None
        check_properties(dict(options.mapping))
    except (PresetError, MappingError) as error:
        raise ImportInputError(str(error)) from None
    with ExitStack() as stack:
        try:
            source = stack.enter_context(_engine.open_source(path, options.sheet))
            _stage(source)
            plan = _plan(source, preset, options)
            _engine.load_columns(source, list(dict.fromkeys(plan.columns.values())))
            statements = _Sql(source, plan, target, options, received)
            source.run(statements.raw_table(), _scaled(progress, 0.0, 70.0))
            source.run(statements.checked_table(), _scaled(progress, 70.0, 95.0))
            for sql in statements.repeats_tables():
                source.run(sql)
            if progress is not None:
                progress("read", 100.0, 100.0)
            prepared = PreparedImport(
                source, plan, target, options, received=received, started=started
            )
        except FileInputError as error:
            raise ImportInputError(str(error)) from None
        except duckdb.Error as error:
            name = Path(path).name
            raise ImportInputError(f"could not read {name}: {condense(error)}") from None
        if prepared.rows == 0:
            raise ImportInputError(f"{source.name} has no rows to import")
        yield prepared


def _stage(source: Source) -> None:
    """Cap DuckDB's memory and keep the staging tables in a database file of the scratch
    directory: file-backed tables can always be evicted to disk, so a file of any size fits
    in the cap (in-memory tables only partly can)."""
    stage = source.workdir / "stage.duckdb"
    source.con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    source.con.execute(f"ATTACH {literal(str(stage))} AS cx_stage")
    source.con.execute("USE cx_stage")


def _scaled(progress: Progress | None, low: float, high: float) -> Callable[[float], None] | None:
    """A DuckDB progress callback (0-100) reporting into ``low``-``high`` of the read."""
    if progress is None:
        return None

    def report(percent: float) -> None:
        progress("read", low + (high - low) * percent / 100.0, 100.0)

    return report


def import_file(
    session: Session,
    target: SurveyTarget,
    path: str | Path,
    options: ImportOptions,
    *,
    report: str | Path | None = None,
    actor: str = audit.SYSTEM,
    progress: Progress | None = None,
) -> ImportResult:
    """Read, check and store a file in ``session``'s transaction (the caller commits).

    ``report``: write every invalid cell there (also when the import is refused). Raises
    :class:`ImportInputError` or :class:`InvalidRowsError`; nothing is written then.
    """
    with prepare_import(path, target, options, progress) as prepared:
        report_rows = prepared.write_report(report) if report is not None else None
        try:
            result = prepared.store(session, actor=actor, progress=progress)
        except InvalidRowsError as error:
            error.result.report_rows = report_rows
            raise
        result.report_rows = report_rows
        return result
