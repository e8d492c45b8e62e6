"""The counts behind the follow-up figures (``report.loop_figures``), for one or many surveys
of an organisation and a period of whole UTC days.

Cases belong to the period they were opened in (``created_at``), read through the
(survey, created_at) index; the closed-loop count is the answers of the period (by
``submitted_at``, as the rollups count them) whose case is closed, read from the cases opened
since the period began (a case never comes before its answer). Four statements whatever the
number of surveys (plus one probe per survey for whether it has any case at all); each
returns counts, never rows of cases: durations come grouped to the minute.

The bands (which answers are unhappy, which re-survey scores are good) are not known here:
the closed answers and the re-survey scores come as histograms, and the caller applies the
survey's bands from ``cxpulse.metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Integer, Select, bindparam, case, cast, func, literal, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxpulse.metrics import Histogram
from cxpulse.store.models import FollowUpCase, Response
from cxpulse.store.types import UTCDateTime

OPEN_STATES = ("new", "contacted")
CLOSED_STATES = ("resolved", "wont_fix")
"""A case is closed when it is resolved or will not be fixed: either way the loop is closed."""


@dataclass(frozen=True)
class CaseCounts:
    """One survey's cases opened in a period, and the period's answers whose case is closed."""

    cases: int = 0
    open: int = 0
    """Of ``cases``, those still new or contacted."""
    with_due: int = 0
    """Of ``cases``, those with a due time (an SLA)."""
    breached: int = 0
    """Of ``with_due``, those first contacted after their due time, or still not contacted
    (closed after it, or open) past it."""
    to_first_contact: Mapping[int, int] = field(default_factory=dict)
    """Whole minutes from opening to first contact -> cases, for the contacted cases."""
    to_close: Mapping[int, int] = field(default_factory=dict)
    """Whole minutes from opening to closing -> cases, for the closed cases."""
    recovery: Histogram = field(default_factory=Histogram)
    """The re-survey scores of the re-surveyed cases."""
    closed_answers: Histogram = field(default_factory=Histogram)
    """The scores of the period's answers whose case is closed."""
    ever: bool = False
    """Whether the survey has any case at all, of any period."""


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _minutes(later: Any, earlier: Any, dialect: str) -> ColumnElement[int]:
    """Whole minutes from ``earlier`` to ``later`` (seconds rounded first, so that 3 minutes
    stored as 179.9999 seconds of day fractions still count 3)."""
    if dialect == "sqlite":
        rounded = func.round((func.julianday(later) - func.julianday(earlier)) * 86400)
        return cast(rounded / 60, Integer)
    seconds = func.extract("epoch", later - earlier)
    return cast(func.floor(seconds / 60), Integer)


def _of_period(
    organisation_id: int, survey_ids: Sequence[int], start: date, end: date
) -> list[ColumnElement[bool]]:
    return [
        # "+ 0", as in metrics_query: the (survey, created_at) index, not the organisation's,
        # while the organisation still scopes the rows.
        FollowUpCase.organisation_id + 0 == organisation_id,
        FollowUpCase.survey_id.in_(list(survey_ids)),
        FollowUpCase.created_at >= _instant(start),
        FollowUpCase.created_at < _instant(end),
    ]


def survey_counts(
    session: Session,
    organisation_id: int,
    survey_ids: Sequence[int],
    start: date,
    end: date,
    *,
    now: datetime | None = None,
) -> dict[int, CaseCounts]:
    """Per survey, its counts for the days ``[start, end)``; ``now`` decides which open cases
    are past their due time. Surveys without cases get empty counts."""
    ids = list(dict.fromkeys(survey_ids))
    if not ids:
        return {}
    now = now or datetime.now(UTC)
    where = _of_period(organisation_id, ids, start, end)
    dialect = session.get_bind().dialect.name
    summary = _summary(session, where, now)
    durations = _durations(session, where, dialect)
    recovery = _recovery(session, where)
    closed = _closed_answers(session, organisation_id, ids, start, end)
    ever = _ever(session, organisation_id, ids)
    found = {}
    for survey_id in ids:
        cases, still_open, with_due, breached = summary.get(survey_id, (0, 0, 0, 0))
        found[survey_id] = CaseCounts(
            cases=cases,
            open=still_open,
            with_due=with_due,
            breached=breached,
            to_first_contact=durations.get((survey_id, "contact"), {}),
            to_close=durations.get((survey_id, "close"), {}),
            recovery=Histogram(recovery.get(survey_id, {})),
            closed_answers=Histogram(closed.get(survey_id, {})),
            ever=ever[survey_id],
        )
    return found


def _summary(
    session: Session, where: list[ColumnElement[bool]], now: datetime
) -> dict[int, tuple[int, int, int, int]]:
    # The SLA clock stops at the first contact; a case never contacted stops it when closed,
    # and an open one is still running now.
    stopped = func.coalesce(
        FollowUpCase.first_contact_at,
        FollowUpCase.closed_at,
        literal(now, UTCDateTime()),
    )
    breached = case(
        (FollowUpCase.due_at.is_not(None) & (stopped > FollowUpCase.due_at), 1), else_=0
    )
    still_open = case((FollowUpCase.state.in_(OPEN_STATES), 1), else_=0)
    query = (
        select(
            FollowUpCase.survey_id,
            func.count(),
            func.sum(still_open),
            func.count(FollowUpCase.due_at),
            func.sum(breached),
        )
        .where(*where)
        .group_by(FollowUpCase.survey_id)
    )
    return {
        int(survey_id): (int(n), int(opened or 0), int(due or 0), int(late or 0))
        for survey_id, n, opened, due, late in session.execute(query)
    }


def _durations(
    session: Session, where: list[ColumnElement[bool]], dialect: str
) -> dict[tuple[int, str], dict[int, int]]:
    contact: Select[Any, Any, Any] = select(
        FollowUpCase.survey_id.label("survey_id"),
        literal_column("'contact'").label("kind"),
        _minutes(FollowUpCase.first_contact_at, FollowUpCase.created_at, dialect).label("minutes"),
    ).where(*where, FollowUpCase.first_contact_at.is_not(None))
    close: Select[Any, Any, Any] = select(
        FollowUpCase.survey_id.label("survey_id"),
        literal_column("'close'").label("kind"),
        _minutes(FollowUpCase.closed_at, FollowUpCase.created_at, dialect).label("minutes"),
    ).where(*where, FollowUpCase.closed_at.is_not(None), FollowUpCase.state.in_(CLOSED_STATES))
    both = contact.union_all(close).subquery()
    # Grouped by the subquery's columns: PostgreSQL does not see that two copies of an
    # expression with bound parameters are the same.
    query = select(both.c.survey_id, both.c.kind, both.c.minutes, func.count()).group_by(
        both.c.survey_id, both.c.kind, both.c.minutes
    )
    found: dict[tuple[int, str], dict[int, int]] = {}
    for survey_id, kind, minutes, count in session.execute(query):
        # A first contact stamped before the case was opened (clocks of two systems) counts
        # as immediate rather than as a negative time.
        bucket = found.setdefault((int(survey_id), str(kind)), {})
        key = max(0, int(minutes))
        bucket[key] = bucket.get(key, 0) + int(count)
    return found


def _recovery(session: Session, where: list[ColumnElement[bool]]) -> dict[int, dict[float, int]]:
    query = (
        select(FollowUpCase.survey_id, FollowUpCase.recovery_score, func.count())
        .where(*where, FollowUpCase.recovery_score.is_not(None))
        .group_by(FollowUpCase.survey_id, FollowUpCase.recovery_score)
    )
    found: dict[int, dict[float, int]] = {}
    for survey_id, value, count in session.execute(query):
        if survey_id is not None and value is not None:
            found.setdefault(int(survey_id), {})[float(value)] = int(count)
    return found


def _closed_answers(
    session: Session, organisation_id: int, survey_ids: Sequence[int], start: date, end: date
) -> dict[int, dict[float, int]]:
    """Per survey, the scores of its answers submitted in ``[start, end)`` whose case is
    closed: the cases opened since ``start`` joined to their answers."""
    query = (
        select(Response.survey_id, Response.score, func.count())
        .select_from(FollowUpCase)
        .join(Response, Response.id == FollowUpCase.response_id)
        .where(
            FollowUpCase.organisation_id + 0 == organisation_id,
            FollowUpCase.survey_id.in_(list(survey_ids)),
            FollowUpCase.created_at >= _instant(start),
            FollowUpCase.state.in_(CLOSED_STATES),
            Response.organisation_id == organisation_id,
            Response.survey_id == FollowUpCase.survey_id,
            Response.submitted_at >= _instant(start),
            Response.submitted_at < _instant(end),
        )
        .group_by(Response.survey_id, Response.score)
    )
    found: dict[int, dict[float, int]] = {}
    for survey_id, value, count in session.execute(query):
        found.setdefault(int(survey_id), {})[float(value)] = int(count)
    return found


def _ever(session: Session, organisation_id: int, survey_ids: Sequence[int]) -> dict[int, bool]:
    # One small statement per survey, each reading at most one index entry.
    statement = (
        select(FollowUpCase.id)
        .where(
            FollowUpCase.organisation_id + 0 == organisation_id,
            FollowUpCase.survey_id == bindparam("survey_id"),
        )
        .limit(1)
    )
    return {
        survey_id: session.scalar(statement, {"survey_id": survey_id}) is not None
        for survey_id in survey_ids
    }
