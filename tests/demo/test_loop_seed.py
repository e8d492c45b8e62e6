"""The demo shop's closed loop on SQLite and PostgreSQL: a team, rules, cases worked in the
past, figures that read, and nothing added by a second run."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.demo.loop_seed import CALL_BACK, LOOP_DAYS, REVIEW, SECOND_LOOK, TEAM_NAME
from cxpulse.demo.seed import DEMO_ADMIN_EMAIL, DemoSummary, seed_demo
from cxpulse.metrics import DEFAULT_MIN_N
from cxpulse.report.dashboard import follow_ups
from cxpulse.report.filters_url import Window
from cxpulse.report.overview import load_overview
from cxpulse.store import demo_data, teams
from cxpulse.store.models import (
    Alert,
    CaseEvent,
    FollowUpCase,
    OutboxItem,
    Response,
    ResponseTag,
    Rule,
    RuleMatch,
    Survey,
    Team,
    TeamMember,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
"""A Monday noon: the weekend's cases wait for the morning, the older ones are worked."""
PERIOD = Window((NOW - timedelta(days=LOOP_DAYS - 1)).date(), (NOW + timedelta(days=1)).date())


def seed(sessions: sessionmaker[Session]) -> DemoSummary:
    with sessions.begin() as session:
        return seed_demo(session, months=2, now=NOW)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _maybe(moment: datetime | None) -> datetime | None:
    return None if moment is None else _aware(moment)


def test_the_demo_has_its_closed_loop(sessions: sessionmaker[Session]) -> None:
    summary = seed(sessions)
    org = summary.organisation_id
    assert summary.loop is not None
    assert summary.loop.rules_added == 4
    with sessions() as session:
        admin = demo_data.find_user_by_email(session, DEMO_ADMIN_EMAIL)
        assert admin is not None
        (team,) = session.scalars(select(Team).where(Team.organisation_id == org))
        assert team.name == TEAM_NAME
        assert [u.id for u in teams.members(session, org, team.id)] == [admin.id]

        rules = {rule.name: rule for rule in session.scalars(select(Rule))}
        assert set(rules) >= {CALL_BACK, SECOND_LOOK, REVIEW}
        assert rules[CALL_BACK].actions["case"] == {"priority": "high", "team_id": team.id}
        for rule in rules.values():
            # Cases and tags only: no rule writes to the demo's made-up customers.
            assert set(rule.actions) <= {"case", "tag"}, rule.actions

        cases = list(session.scalars(select(FollowUpCase).order_by(FollowUpCase.id)))
        assert len(cases) == summary.loop.cases_added >= 60
        states = Counter(row.state for row in cases)
        assert set(states) == {"new", "contacted", "resolved", "wont_fix"}
        # Mostly closed, as a team that keeps up with its cases.
        assert states["resolved"] + states["wont_fix"] > len(cases) / 2
        overdue = [row for row in cases if row.state == "new" and _aware(row.due_at or NOW) < NOW]
        assert 1 <= len(overdue) < len(cases) / 5
        case_rules = {rules[CALL_BACK].id, rules[SECOND_LOOK].id}
        for row in cases:
            answer = session.get(Response, row.response_id)
            assert answer is not None
            created = _aware(row.created_at)
            assert _aware(answer.submitted_at) <= created <= NOW
            assert created >= NOW - timedelta(days=LOOP_DAYS)
            assert row.rule_id in case_rules
            assert (row.team_id, row.assignee_user_id) == (team.id, admin.id)
            contact, closed = _maybe(row.first_contact_at), _maybe(row.closed_at)
            if row.state == "new":
                assert contact is None
                assert closed is None
            if contact is not None:
                assert created <= contact <= NOW
            if row.state in ("resolved", "wont_fix"):
                assert closed is not None
                assert created <= closed <= NOW
                assert row.resolution_reason
        kinds = Counter(session.scalars(select(CaseEvent.kind)))
        assert kinds["created"] == len(cases)
        assert kinds["note"] >= states["resolved"]
        last_event = session.scalar(
            select(CaseEvent.created_at).order_by(CaseEvent.created_at.desc()).limit(1)
        )
        assert last_event is not None
        assert _aware(last_event) <= NOW

        # Each match recorded once, with what its actions did.
        matches = list(session.scalars(select(RuleMatch)))
        assert len(matches) == summary.loop.matches_added
        assert all(match.outcome for match in matches)
        review = session.scalars(
            select(Response.score)
            .join(ResponseTag, ResponseTag.response_id == Response.id)
            .where(ResponseTag.tag == "review-request")
        ).all()
        assert review
        # Nothing for the customers waits in the outbox; an alert's email goes to the admin.
        kinds_queued = set(session.scalars(select(OutboxItem.kind)))
        assert kinds_queued <= {"alert-email"}, kinds_queued
        alerts = session.scalar(select(func.count()).select_from(Alert))
        assert alerts == summary.loop.alerts_raised


def test_the_demo_s_follow_up_figures_read(sessions: sessionmaker[Session]) -> None:
    summary = seed(sessions)
    org = summary.organisation_id
    with sessions() as session:
        found = {}
        surveys = list(session.scalars(select(Survey).where(Survey.organisation_id == org)))
        for survey in surveys:
            figures = follow_ups(session, org, survey, PERIOD, now=NOW, shown_only=True)
            assert figures is not None, survey.slug
            assert figures.min_n == DEFAULT_MIN_N
            found[survey.slug] = figures
        # Detractors come by the dozens every month: each NPS figure reads. Support's and
        # returns' unhappy answers are fewer outside the winter peak; their figures are
        # counted and may be flagged too few.
        nps = found["relationship-nps"]
        assert not nps.first_contact.too_small
        assert not nps.resolution.too_small
        assert not nps.breaches.too_small
        assert not nps.closed_loop.too_small
        for slug, figures in found.items():
            assert figures.first_contact.n > 0, slug
            assert 0 < figures.first_contact.median < figures.resolution.median, slug
            assert figures.breaches.part < figures.breaches.n / 3, slug
            assert figures.closed_loop.n > 0, slug
            assert 50 <= figures.closed_loop.value <= 100, slug
        # The overview's cards show the same figures (their period ends today too).
        overview = load_overview(session, org, surveys, today=NOW.date())
        slugs = {survey.id: survey.slug for survey in surveys}
        for card in overview.cards:
            assert card.follow_ups is not None, card.name
            assert card.follow_ups.cases == found[slugs[card.survey_id]].cases


def test_a_second_run_adds_nothing(sessions: sessionmaker[Session]) -> None:
    models = (Team, TeamMember, Rule, RuleMatch, ResponseTag, FollowUpCase, CaseEvent, Alert)

    def counts() -> dict[str, int]:
        with sessions() as session:
            return {
                model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in models
            }

    first = seed(sessions)
    before = counts()
    with sessions.begin() as session:
        again = seed_demo(session, months=2, now=NOW + timedelta(days=1))
    assert counts() == before
    assert again.loop is not None
    assert first.loop is not None
    assert (again.loop.rules_added, again.loop.cases_added, again.loop.matches_added) == (0, 0, 0)
    assert again.loop.rule_ids == first.loop.rule_ids
    assert again.loop.team_id == first.loop.team_id
