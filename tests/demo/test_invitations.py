"""The demo's invitations: its email answers come from invitations, with plausible rates."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.demo.seed import DemoSummary, seed_demo
from cxpulse.store.models import Response

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def seed(sessions: sessionmaker[Session]) -> DemoSummary:
    with sessions.begin() as session:
        return seed_demo(session, now=NOW)


def test_email_answers_come_from_invitations_and_rates_are_plausible(
    sessions: sessionmaker[Session],
) -> None:
    from cxpulse.collect.rates import response_rates
    from cxpulse.store.models import Invitation

    summary = seed(sessions)
    survey = next(s for s in summary.surveys if s.metric == "csat")
    with sessions() as session:
        linked = session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.survey_id == survey.id, Response.invitation_id.is_not(None))
        )
        invitations = session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.survey_id == survey.id)
        )
        assert linked
        assert invitations
        assert invitations > 2 * linked
        rows = response_rates(session, summary.organisation_id, survey.id, period="month")
        sent = sum(row.sent for row in rows)
        answered = sum(row.answered for row in rows)
        assert answered == linked
        assert 0.2 < answered / sent < 0.5
