"""Column names of the satisfaction exports of Zendesk, Typeform, SurveyMonkey and Qualtrics.

A preset lists, for each field, the column names the product uses (first one found wins,
compared ignoring case, spaces, underscores and hyphens), how its exports write scores that
are not plain numbers, and the extra header rows some of them carry. ``--map`` overrides any
field. docs/import.md documents each preset and where its names come from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cxpulse.metrics.scales import THUMBS, Scale


@dataclass(frozen=True)
class ScoreWords:
    """Ratings written as words, and the scale they belong to."""

    scale: Scale
    words: Mapping[str, int | None]
    """Whole cell (lower case) -> score; ``None`` means "not rated" (counted as blank)."""
    prefixes: Mapping[str, int] = field(default_factory=dict)
    """Cell start (lower case) -> score, for variants such as ``good_with_comment``."""


@dataclass(frozen=True)
class HeaderRows:
    """Rows under the header line that describe the columns instead of answering them."""

    max_rows: int
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Field -> cell texts (any case) that mark such a row."""
    prefix: str | None = None
    """A cell of any mapped field starting with this marks such a row."""
    all_blank: tuple[str, ...] = ()
    """Such a row has every one of these fields blank (when they are all mapped)."""


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    columns: Mapping[str, tuple[str, ...]]
    """Field -> candidate column names, best first."""
    score_hint: str
    """Said when no score column is found: how this product names it."""
    score_words: ScoreWords | None = None
    labelled_numbers: bool = False
    """Accept ``"10 - Extremely likely"`` as 10."""
    date_formats: tuple[str, ...] = ()
    """strptime formats tried (before detection) when --date-format is not given."""
    header_rows: HeaderRows | None = None
    score_beside_nps_group: bool = False
    """The score is the column ``X`` that has a ``X_NPS_GROUP`` column beside it."""
    time_zone_in_header: bool = False
    """The third header row holds ``{"ImportId": ..., "timeZone": ...}`` for date columns."""


_ZENDESK_WORDS = ScoreWords(
    scale=THUMBS,
    words={
        "good": 1,
        "bad": 0,
        "offered": None,
        "unoffered": None,
        "not offered": None,
        "not_offered": None,
    },
    prefixes={"good": 1, "bad": 0},
)

PRESETS: dict[str, Preset] = {
    "zendesk": Preset(
        name="zendesk",
        title="Zendesk CSAT (satisfaction ratings)",
        columns={
            "id": ("Ticket ID", "ticket_id", "Satisfaction rating ID", "ID"),
            "score": (
                "Satisfaction Score",
                "Ticket satisfaction rating",
                "Satisfaction rating",
                "Satisfaction",
                "Rating",
                "score",
            ),
            "comment": ("Satisfaction Comment", "Ticket satisfaction comment", "Comment"),
            "submitted_at": ("Rated at", "Created at", "created_at", "Updated at", "updated_at"),
            "channel": ("Channel", "Ticket channel", "Via"),
            "property.agent": ("Assignee", "Ticket assignee", "assignee_id"),
            "property.team": ("Group", "Ticket group", "group_id"),
            "property.reason": (
                "Satisfaction Reason",
                "Ticket satisfaction reason",
                "Reason",
                "reason",
            ),
        },
        score_hint="Zendesk exports name it 'Satisfaction Score' or 'Rating'",
        score_words=_ZENDESK_WORDS,
    ),
    "typeform": Preset(
        name="typeform",
        title="Typeform responses (Results > Responses > Download > CSV)",
        columns={
            "id": ("#", "Response ID", "Token", "response_id"),
            "submitted_at": ("Submit Date (UTC)", "Submitted At", "submitted_at"),
            "property.network_id": ("Network ID",),
        },
        score_hint=(
            "Typeform names the column after the question: pass --map score='<question text>'"
        ),
    ),
    "surveymonkey": Preset(
        name="surveymonkey",
        title="SurveyMonkey (Analyze results > Export > All responses data, CSV)",
        columns={
            "id": ("Respondent ID", "RespondentID", "respondent_id"),
            "submitted_at": ("End Date", "EndDate", "Start Date", "StartDate"),
            "property.collector": ("Collector ID", "CollectorID"),
        },
        score_hint=(
            "SurveyMonkey names the column after the question: pass --map score='<question text>'"
        ),
        labelled_numbers=True,
        date_formats=(
            "%m/%d/%Y %I:%M:%S %p",
            "%m/%d/%Y %I:%M %p",
            "%m/%d/%Y %H:%M:%S",
            "%m/%d/%Y %H:%M",
            "%m/%d/%Y",
        ),
        header_rows=HeaderRows(
            max_rows=1,
            values={"score": ("Response", "Open-Ended Response")},
            all_blank=("id", "submitted_at"),
        ),
    ),
    "qualtrics": Preset(
        name="qualtrics",
        title="Qualtrics (Data & Analysis > Export data > CSV)",
        columns={
            "id": ("ResponseId", "ResponseID"),
            "submitted_at": ("RecordedDate", "EndDate"),
            "channel": ("DistributionChannel",),
            "language": ("UserLanguage",),
        },
        score_hint=(
            "Qualtrics names it after the question id (Q1, QID2...): the column beside "
            "a '..._NPS_GROUP' column is taken when there is exactly one; "
            "otherwise pass --map score=Q1"
        ),
        labelled_numbers=True,
        header_rows=HeaderRows(
            max_rows=2,
            values={
                "id": ("Response ID", "ResponseId", "ResponseID"),
                "submitted_at": ("Recorded Date", "End Date"),
            },
            prefix='{"ImportId"',
        ),
        score_beside_nps_group=True,
        time_zone_in_header=True,
    ),
}


class PresetError(ValueError):
    pass


def get_preset(name: str) -> Preset:
    preset = PRESETS.get(name.strip().lower())
    if preset is None:
        raise PresetError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return preset


def _folded(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name).strip().casefold()


def find_columns(preset: Preset, columns: Sequence[str]) -> dict[str, str]:
    """``{field: column}`` for each preset field the file has a column for."""
    by_folded: dict[str, str] = {}
    for name in columns:
        by_folded.setdefault(_folded(name), name)
    found: dict[str, str] = {}
    for field_name, candidates in preset.columns.items():
        for candidate in candidates:
            column = by_folded.get(_folded(candidate))
            if column is not None:
                found[field_name] = column
                break
    if "score" not in found and preset.score_beside_nps_group:
        scored = [
            name[: -len("_NPS_GROUP")]
            for name in columns
            if name.upper().endswith("_NPS_GROUP") and name[: -len("_NPS_GROUP")] in columns
        ]
        if len(scored) == 1:
            found["score"] = scored[0]
    return found
