"""Surveys of each metric with answers in the weeks up to today, for the page tests of the
dashboard's context (goals, breakdown, benchmark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import surveys
from cxpulse.store.models import Organisation
from cxpulse.store.responses import NewResponse, add_responses


def survey_with_answers(
    db: sessionmaker[Session],
    organisation_id: int,
    metric: str,
    by_channel: Mapping[str, Sequence[int]],
    *,
    weeks: int = 6,
    industry: str | None = None,
) -> int:
    """A new active survey of ``metric`` whose every channel gets its ``scores`` once in each
    of the last ``weeks`` weeks (the latest a day ago); its id.

    The times are counted from noon (UTC) today, not from now: pages count answers by
    calendar day, and answers a few hours before a day's start would cross into the
    previous day after midnight (a 30-day window then held 19 answers instead of 20)."""
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with db() as session:
        if industry is not None:
            organisation = session.get(Organisation, organisation_id)
            assert organisation is not None
            organisation.industry = industry
        survey = surveys.create_survey(
            session,
            organisation_id,
            slug=f"{metric}-context",
            name=f"{metric.upper()} context",
            metric=metric,
            status="active",
        )
        add_responses(
            session,
            organisation_id,
            [
                NewResponse(
                    survey_id=survey.id,
                    score=score,
                    submitted_at=now - timedelta(days=1 + 7 * week, hours=i % 5),
                    channel=channel,
                )
                for week in range(weeks)
                for channel, scores in by_channel.items()
                for i, score in enumerate(scores)
            ],
        )
        session.commit()
        return survey.id
