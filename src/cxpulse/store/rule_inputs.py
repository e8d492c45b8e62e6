"""What evaluating rules needs about a batch of answers, in a few queries: the answers with
their survey's scoring, their contact's attributes and address, and their comment's
analysis (sentiment and theme keys).

Used by the task that runs the rules when answers arrive (``act.response_events``) and by
"test this rule" (``act.rules``), which reads the last answers of a scope the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Result, select
from sqlalchemy.orm import Session

from cxpulse.store.models import (
    AnalysedComment,
    Contact,
    Response,
    ResponseTheme,
    Survey,
    TextTheme,
)
from cxpulse.store.response_values import ResponseValues

_CHUNK = 500


@dataclass(frozen=True, kw_only=True)
class AnswerRow(ResponseValues):
    """One answer as the rules see it: its values, its contact and its comment's analysis."""

    organisation_id: int
    contact_consent: bool | None
    invitation_id: int | None = None
    contact_email: str | None = None
    contact_name: str | None = None
    contact_locale: str | None = None
    contact_attributes: dict[str, Any] = field(default_factory=dict)
    analysed: bool = False
    sentiment: str | None = None
    themes: frozenset[str] = frozenset()


@dataclass
class RuleInputs:
    answers: dict[int, AnswerRow]
    surveys: dict[int, Survey]


_ANSWER_COLUMNS = (
    Response.id,
    Response.organisation_id,
    Response.survey_id,
    Response.contact_id,
    Response.score,
    Response.comment,
    Response.language,
    Response.channel,
    Response.touchpoint,
    Response.source,
    Response.properties,
    Response.contact_consent,
    Response.submitted_at,
    Response.received_at,
    Contact.email,
    Contact.name,
    Contact.locale,
    Contact.attributes,
    AnalysedComment.sentiment,
    AnalysedComment.response_id,
    Response.invitation_id,
)


def _answers(session: Session, where: Any) -> Result[Any]:
    return session.execute(
        select(*_ANSWER_COLUMNS)
        .outerjoin(
            Contact,
            (Contact.id == Response.contact_id)
            & (Contact.organisation_id == Response.organisation_id),
        )
        .outerjoin(AnalysedComment, AnalysedComment.response_id == Response.id)
        .where(where)
    )


def _row(r: Any) -> AnswerRow:
    return AnswerRow(
        id=int(r[0]),
        organisation_id=int(r[1]),
        survey_id=int(r[2]),
        contact_id=r[3],
        score=float(r[4]),
        comment=r[5],
        language=r[6],
        channel=r[7],
        touchpoint=r[8],
        source=r[9],
        properties=dict(r[10] or {}),
        contact_consent=r[11],
        submitted_at=r[12],
        received_at=r[13],
        contact_email=r[14],
        contact_name=r[15],
        contact_locale=r[16],
        contact_attributes=dict(r[17] or {}),
        sentiment=r[18],
        analysed=r[19] is not None,
        invitation_id=r[20],
    )


def _with_themes(session: Session, rows: list[AnswerRow]) -> dict[int, AnswerRow]:
    analysed = [row.id for row in rows if row.analysed]
    keys: dict[int, set[str]] = {}
    for start in range(0, len(analysed), _CHUNK):
        found = session.execute(
            select(ResponseTheme.response_id, TextTheme.key)
            .join(TextTheme, TextTheme.id == ResponseTheme.theme_id)
            .where(ResponseTheme.response_id.in_(analysed[start : start + _CHUNK]))
        )
        for response_id, key in found:
            keys.setdefault(int(response_id), set()).add(key)
    out: dict[int, AnswerRow] = {}
    for row in rows:
        themes = keys.get(row.id)
        if themes:
            row = dataclasses.replace(row, themes=frozenset(themes))
        out[row.id] = row
    return out


def _surveys(session: Session, survey_ids: Collection[int]) -> dict[int, Survey]:
    if not survey_ids:
        return {}
    return {
        s.id: s for s in session.scalars(select(Survey).where(Survey.id.in_(sorted(survey_ids))))
    }


def load(session: Session, response_ids: Collection[int]) -> RuleInputs:
    """The answers of ``response_ids`` that still exist, with their surveys."""
    rows: list[AnswerRow] = []
    ids = sorted(response_ids)
    for start in range(0, len(ids), _CHUNK):
        rows.extend(
            _row(r) for r in _answers(session, Response.id.in_(ids[start : start + _CHUNK]))
        )
    answers = _with_themes(session, rows)
    return RuleInputs(answers, _surveys(session, {a.survey_id for a in rows}))


def latest(
    session: Session, organisation_id: int, survey_id: int | None, limit: int = 1000
) -> RuleInputs:
    """The scope's last ``limit`` answers (by time submitted), newest first.

    Read survey by survey along the (survey, time) index, each its newest ``limit``, then
    merged: an organisation-wide scope costs a few short index ranges, never a sort of all
    its answers."""
    if survey_id is not None:
        survey_ids = [survey_id]
    else:
        survey_ids = list(
            session.scalars(select(Survey.id).where(Survey.organisation_id == organisation_id))
        )
    keys: list[tuple[datetime, int]] = []
    for one in survey_ids:
        keys.extend(
            (submitted_at, int(response_id))
            for submitted_at, response_id in session.execute(
                select(Response.submitted_at, Response.id)
                .where(Response.survey_id == one, Response.organisation_id == organisation_id)
                .order_by(Response.submitted_at.desc(), Response.id.desc())
                .limit(limit)
            )
        )
    keys.sort(reverse=True)
    newest = [response_id for _, response_id in keys[:limit]]
    found = load(session, newest)
    ordered = {n: found.answers[n] for n in newest if n in found.answers}
    return RuleInputs(ordered, found.surveys)
