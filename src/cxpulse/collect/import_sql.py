"""The staging statements of an import: the file's mapped columns checked inside DuckDB.

``cx_raw`` holds the mapped columns as trimmed text (``r_<slot>``) in file order, so its
``rowid + 1`` is the data row number; ``cx`` the parsed values, the problems (``e_<slot>``),
the flags and the keys of every row but header rows; ``cx_occ`` the occurrence numbers of rows
whose values repeat an earlier row's; ``cx_dup`` the rows whose response id repeats an earlier
row's. No window function runs over all rows, and no Python code runs per row.

Idempotency keys: ``import:<response id>`` when a response id column is mapped, else
``import:sha256:<hash of the row's mapped values>`` (``:2``, ``:3``... for the second, third
identical row of a file), computed here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cxpulse.collect.import_dates import StagedDates
from cxpulse.collect.import_options import ImportOptions, SurveyTarget
from cxpulse.collect.import_plan import Plan
from cxpulse.collect.import_results import ImportInputError
from cxpulse.collect.mapping import PROPERTY_PREFIX
from cxpulse.engine import NUMBER_TYPES, TEXT_TYPES, Source, trimmed_sql, valid_score_sql
from cxpulse.engine.duck import ident, literal
from cxpulse.store._values import (
    ALLOWED_CONTROLS,
    EARLIEST_ANSWER,
    FUTURE_ALLOWANCE,
    answer_time_problem,
)
from cxpulse.store.models import MAX_COMMENT_LENGTH
from cxpulse.store.responses import MAX_IDEMPOTENCY_KEY_LENGTH

__all__ = [
    "HASH_PREFIX",
    "KEY_PREFIX",
    "MAX_PROPERTY_VALUE",
    "TEXT_LIMITS",
    "StagingSql",
    "answer_time_sql",
    "control_problem_sql",
    "repeats_tables",
]

TEXT_LIMITS: dict[str, int] = {
    "comment": MAX_COMMENT_LENGTH,
    "language": 35,
    "channel": 50,
    "touchpoint": 100,
    "contact": 200,
}
"""Longest text of each field, in characters: the store's limits."""
MAX_PROPERTY_VALUE = 1000
KEY_PREFIX = "import:"
HASH_PREFIX = "import:sha256:"

_LABELLED_RE = r"^([0-9]+)\s*[-–—:]"
_INSTANT = "%Y-%m-%d %H:%M:%S.%f+00"


def _refused_controls() -> str:
    """An RE2 class of the control characters text may not hold: C0, DEL and C1, but those
    of ``store._values.ALLOWED_CONTROLS`` (tab and line breaks)."""
    every = (*range(0x20), *range(0x7F, 0xA0))
    codes = [code for code in every if chr(code) not in ALLOWED_CONTROLS]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = [
        f"\\x{{{low:02X}}}" if low == high else f"\\x{{{low:02X}}}-\\x{{{high:02X}}}"
        for low, high in ranges
    ]
    return "[" + "".join(parts) + "]"


REFUSED_CONTROLS = _refused_controls()


def control_problem_sql(column: str) -> str:
    """SQL giving ``store._values.control_problem`` of a text column (NULL when none): the
    same words, character and position, for every row at once."""
    found = f"regexp_extract({column}, {literal(REFUSED_CONTROLS)})"
    return (
        f"CASE WHEN regexp_matches({column}, {literal(REFUSED_CONTROLS)}) THEN "
        f"'holds the control character U+' || printf('%04X', ord({found})) || "
        f"' at position ' || strpos({column}, {found}) || '; remove it' END"
    )


def answer_time_sql(moment: str, received: datetime) -> str:
    """SQL giving ``store._values.answer_time_problem`` of a TIMESTAMPTZ (NULL when none), with
    ``received`` as now: the range and words of every other door."""
    latest = received + FUTURE_ALLOWANCE
    too_early = answer_time_problem(EARLIEST_ANSWER - timedelta(microseconds=1), received)
    too_late = answer_time_problem(latest + timedelta(microseconds=1), received)
    assert too_early is not None
    assert too_late is not None
    first = literal(EARLIEST_ANSWER.strftime(_INSTANT))
    last = literal(latest.strftime(_INSTANT))
    return (
        f"CASE WHEN {moment} < CAST({first} AS TIMESTAMPTZ) THEN {literal(too_early)} "
        f"WHEN {moment} > CAST({last} AS TIMESTAMPTZ) THEN {literal(too_late)} END"
    )


class StagingSql:
    """Builds the staging statements for one file, survey and set of options."""

    def __init__(
        self,
        source: Source,
        plan: Plan,
        target: SurveyTarget,
        options: ImportOptions,
        received: datetime,
    ) -> None:
        self.source = source
        self.plan = plan
        self.target = target
        self.options = options
        self.received = received
        self.dates = StagedDates(source, plan, options)

    def trimmed(self, column: str) -> str:
        return trimmed_sql(self.source, column)

    # -- cx_raw --------------------------------------------------------------------------

    def raw_table(self) -> str:
        plan = self.plan
        raws = [f"{self.trimmed(plan.columns['score'])} AS r_score"]
        if "id" in plan.columns:
            raws.append(f"{self.trimmed(plan.columns['id'])} AS r_id")
        raws += [f"{self.trimmed(slot.column)} AS r_{slot.name}" for slot in plan.slots[1:]]
        date = plan.columns.get("submitted_at")
        if date is not None and self.source.columns[date] not in TEXT_TYPES:
            raws.append(f"{ident(date)} AS d_date")
        return f"CREATE TABLE cx_raw AS SELECT {', '.join(raws)} FROM {self.source.from_item()}"

    # -- values --------------------------------------------------------------------------

    def score(self) -> tuple[str, str]:
        """``(value, from_word)``: DOUBLE (NULL blank, NaN not a number), and BOOLEAN."""
        column = self.plan.columns["score"]
        column_type = self.source.columns[column]
        r = "r_score"
        if column_type in NUMBER_TYPES or column_type.startswith("DECIMAL"):
            return f"TRY_CAST({r} AS DOUBLE)", "false"
        if column_type == "BOOLEAN":
            return f"CASE lower({r}) WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 END", "false"
        if column_type not in TEXT_TYPES:
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
        self.dates.settle_time_zone()
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
            f"WHEN NOT ({valid_score_sql('s', scale)}) THEN "
            + literal(
                f"is not on the {scale.name} scale of survey {slug!r} "
                f"(whole numbers {scale.low} to {scale.high})"
            ),
        ]
        checks.append(f"CASE {' '.join(score_case)} END AS e_score")

        if "submitted_at" in plan.columns:
            parsed, reason = self.dates.parsed()
            values.append(f"{parsed} AS ts")
            checks.append(
                "CASE WHEN s IS NULL THEN NULL "
                "WHEN r_date IS NULL THEN 'has no date; each response needs one' "
                f"WHEN ts IS NULL THEN {literal(reason)} "
                f"ELSE {answer_time_sql('ts', self.received)} END AS e_date"
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
                    f"ELSE {control_problem_sql(r)} END AS e_{slot.name}"
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
