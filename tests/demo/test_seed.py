"""The demo shop seeded into SQLite and PostgreSQL: contents, idempotence, rollups, signal."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.demo.contacts import DEMO_CONTACTS
from cxpulse.demo.seed import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_ORG_SLUG,
    DemoSummary,
    seed_demo,
)
from cxpulse.metrics import Histogram, compare
from cxpulse.store import accounts, metrics_query, rollups
from cxpulse.store.models import (
    AuditLog,
    Contact,
    DailyRollup,
    Organisation,
    Response,
    Survey,
    User,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
START = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def seed(sessions: sessionmaker[Session], **options: int) -> DemoSummary:
    with sessions.begin() as session:
        return seed_demo(session, now=NOW, **options)


def counts(session: Session) -> dict[str, int]:
    tables = {
        "organisations": Organisation,
        "users": User,
        "surveys": Survey,
        "contacts": Contact,
        "responses": Response,
        "rollups": DailyRollup,
    }
    return {
        name: session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in tables.items()
    }


def test_seed_creates_the_demo_shop(sessions: sessionmaker[Session]) -> None:
    summary = seed(sessions)

    assert summary.organisation_created
    assert summary.admin_created
    assert summary.organisation_slug == DEMO_ORG_SLUG
    assert summary.admin_email == DEMO_ADMIN_EMAIL
    assert summary.admin_password == DEMO_ADMIN_PASSWORD
    assert summary.contacts == summary.contacts_added == DEMO_CONTACTS
    assert [s.slug for s in summary.surveys] == ["support-csat", "relationship-nps", "returns-ces"]
    for survey_summary in summary.surveys:
        # A few thousand responses per survey.
        assert 1500 <= survey_summary.responses <= 8000
        assert survey_summary.added == survey_summary.responses
    org = summary.organisation_id

    with sessions() as session:
        organisation = accounts.get_organisation(session, org)
        assert (organisation.name, organisation.industry) == ("Demo Shop", "e-commerce")
        user = accounts.authenticate(session, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
        assert user is not None
        assert (user.organisation_id, user.role) == (org, "admin")

        found = {s.slug: s for s in session.scalars(select(Survey))}
        assert (found["support-csat"].metric, found["support-csat"].scale.name) == ("csat", "1-5")
        assert found["support-csat"].touchpoint == "after support ticket"
        assert (found["relationship-nps"].metric, found["relationship-nps"].scale.name) == (
            "nps",
            "0-10",
        )
        assert (found["returns-ces"].metric, found["returns-ces"].scale.name) == ("ces", "1-7")
        assert found["returns-ces"].touchpoint == "after a return"
        for survey in found.values():
            assert survey.status == "active"
            # Every language cxpulse speaks: a page in German asks the same question.
            assert set(survey.questions) == {"en", "sv", "nl", "mk", "de", "fr", "es", "pt"}
            for texts in survey.questions.values():
                assert texts["question"]
                assert texts["comment_prompt"]
            assert CYRILLIC.search(survey.questions["mk"]["question"])
            assert CYRILLIC.search(survey.questions["mk"]["comment_prompt"])

        # Contacts with their segmentation attributes.
        attributes = [a for a in session.scalars(select(Contact.attributes))]
        assert len(attributes) == DEMO_CONTACTS
        assert {a["plan"] for a in attributes} == {"free", "pro", "enterprise"}
        assert {a["vip"] for a in attributes} == {"yes", "no"}
        assert {"SE", "NL", "MK", "GB"} <= {a["country"] for a in attributes}

        # Twelve months of responses, all inside the window, from every channel.
        first, last = session.execute(
            select(func.min(Response.submitted_at), func.max(Response.submitted_at))
        ).one()
        assert START <= first < datetime(2025, 6, 20, tzinfo=UTC)
        assert datetime(2026, 6, 10, tzinfo=UTC) < last < NOW
        months = metrics_query.histograms(session, org, found["support-csat"].id, period="month")
        assert len(months) == 13  # June 2025 (part) to June 2026 (part)
        assert all(h.n >= 60 for h in months.values())
        channels = set(session.scalars(select(Response.channel).distinct()))
        assert channels == {"email", "web", "widget", "sms"}
        assert set(session.scalars(select(Response.source).distinct())) == {"demo"}
        assert session.scalar(select(func.count()).where(Response.contact_id.is_(None))) == 0

        csat_properties = session.scalars(
            select(Response.properties).where(Response.survey_id == found["support-csat"].id)
        ).all()
        assert all(
            {"agent", "team", "product", "region", "order_id"} <= set(p) for p in csat_properties
        )
        assert {p["team"] for p in csat_properties} == {"Tier 1", "Tier 2", "Billing"}

        # Comments in four languages, recorded on the response, varied and natural.
        rows = session.execute(
            select(Response.language, Response.comment).where(Response.comment.is_not(None))
        ).all()
        by_language: dict[str, list[str]] = {}
        for language, comment in rows:
            assert language is not None
            assert comment is not None
            by_language.setdefault(language, []).append(comment)
        assert set(by_language) == {"en", "sv", "nl", "mk"}
        assert all(len(comments) >= 200 for comments in by_language.values())
        assert all(CYRILLIC.search(c) for c in by_language["mk"])
        assert not any(CYRILLIC.search(c) for lang in ("en", "sv", "nl") for c in by_language[lang])
        assert any(re.search("[åäö]", c) for c in by_language["sv"])
        assert any("bestelling" in c for c in by_language["nl"])
        for language, comments in by_language.items():
            assert len(set(comments)) >= 60, language
        # Comments follow the score: complaints come with low scores.
        low_scores = session.scalars(
            select(Response.score).where(
                Response.survey_id == found["support-csat"].id,
                Response.comment.like("%took%days to arrive%"),
            )
        ).all()
        assert low_scores
        assert max(low_scores) <= 3

        audit_actions = {(e.action, e.entity) for e in session.scalars(select(AuditLog))}
        assert {("create", "organisation"), ("create", "user"), ("seed", "organisation")} <= (
            audit_actions
        )


def test_second_run_reuses_everything_and_rollups_equal_recount(
    sessions: sessionmaker[Session],
) -> None:
    first = seed(sessions, months=6)
    with sessions() as session:
        before = counts(session)
        stored = rollups.stored(session, first.organisation_id)
        assert stored == rollups.recount(session, first.organisation_id)
        assert sum(stored.values()) == before["responses"] == first.responses

    second = seed(sessions, months=6)
    assert not second.organisation_created
    assert not second.admin_created
    assert second.organisation_id == first.organisation_id
    assert second.admin_password == DEMO_ADMIN_PASSWORD
    assert second.contacts_added == 0
    assert second.responses_added == 0
    assert [(s.slug, s.responses) for s in second.surveys] == [
        (s.slug, s.responses) for s in first.surveys
    ]
    with sessions() as session:
        assert counts(session) == before
        assert rollups.stored(session, first.organisation_id) == stored

    # A different seed or length reuses the shop as it is, too.
    third = seed(sessions, months=3, seed=99)
    assert third.responses_added == 0
    with sessions() as session:
        assert counts(session) == before


def test_a_changed_password_is_not_printed(sessions: sessionmaker[Session]) -> None:
    first = seed(sessions, months=1)
    with sessions.begin() as session:
        user = session.scalars(select(User).where(User.email == DEMO_ADMIN_EMAIL)).one()
        accounts.set_password(session, first.organisation_id, user.id, "a-new-secret")
    again = seed(sessions, months=1)
    assert again.admin_password is None
    with sessions() as session:
        assert accounts.authenticate(session, DEMO_ADMIN_EMAIL, "a-new-secret") is not None


def _histogram(
    session: Session, org: int, survey_id: int, **filters: object
) -> dict[tuple[str | None, ...], Histogram]:
    return metrics_query.histograms(session, org, survey_id, **filters)  # type: ignore[arg-type]


def test_metrics_differ_by_segment_and_change_over_time(sessions: sessionmaker[Session]) -> None:
    summary = seed(sessions)
    org = summary.organisation_id
    ids = {s.slug: s.id for s in summary.surveys}
    with sessions() as session:
        surveys = {slug: session.get(Survey, survey_id) for slug, survey_id in ids.items()}
        specs = {slug: s.metric_spec() for slug, s in surveys.items() if s is not None}

        # CSAT by plan and by support team.
        by_plan = _histogram(session, org, ids["support-csat"], group_by=["contact:plan"])
        plan = compare(by_plan[("free",)], by_plan[("enterprise",)], specs["support-csat"])
        assert plan.significant
        assert plan.difference > 5
        by_team = _histogram(session, org, ids["support-csat"], group_by=["property:team"])
        team = compare(by_team[("Billing",)], by_team[("Tier 2",)], specs["support-csat"])
        assert team.significant
        assert team.difference > 5
        by_channel = _histogram(session, org, ids["support-csat"], group_by=["channel"])
        sms = compare(by_channel[("sms",)], by_channel[("widget",)], specs["support-csat"])
        assert sms.significant
        assert sms.difference > 0

        # NPS: VIPs recommend more; the free plan turns away after the price increase.
        by_vip = _histogram(session, org, ids["relationship-nps"], group_by=["contact:vip"])
        vip = compare(by_vip[("no",)], by_vip[("yes",)], specs["relationship-nps"])
        assert vip.significant
        assert vip.difference > 10
        halves = [
            _histogram(
                session,
                org,
                ids["relationship-nps"],
                start=start,
                end=end,
                contact_attributes={"plan": "free"},
            )[()]
            for start, end in ((date(2025, 7, 1), date(2025, 12, 1)), (date(2026, 1, 1), NOW))
        ]
        drop = compare(halves[0], halves[1], specs["relationship-nps"])
        assert drop.significant
        assert drop.difference < -10

        # CES: the new returns portal makes returns easier.
        quarters = _histogram(session, org, ids["returns-ces"], period="quarter")
        ordered = [quarters[key] for key in sorted(quarters)]
        trend = compare(ordered[1], ordered[-1], specs["returns-ces"])
        assert trend.significant
        assert trend.difference > 0.4

        # Languages differ less than segments, but all are well represented.
        by_language = _histogram(session, org, ids["relationship-nps"], group_by=["language"])
        assert {key[0] for key in by_language} == {"en", "sv", "nl", "mk"}
        assert all(h.n >= 200 for h in by_language.values())


@pytest.mark.parametrize("months", [0, 61])
def test_months_out_of_range_are_refused(months: int) -> None:
    with pytest.raises(ValueError, match="months must be 1 to 60"):
        seed_demo(None, months=months)  # type: ignore[arg-type]
