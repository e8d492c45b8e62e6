"""The hourly alert scan (``act.alert_runner``) on SQLite and PostgreSQL, end to end: answers
stored through the store (so the rollups are the real ones), the scan queued and run by the
worker, the alert's email sent to a real SMTP server on loopback."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act import alert_emails, alert_runner
from cxpulse.act.jobs import JobRegistry
from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.act.tasks import TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.store import accounts, responses
from cxpulse.store.models import Alert, Organisation, OutboxItem, Survey
from cxpulse.store.responses import NewResponse


class Clock:
    """The real time plus an offset the test moves (outbox items are due from real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def _start_of_incident() -> datetime:
    """An hour inside one UTC day, not in the future: the incident's hour."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    return hour - timedelta(hours=2) if hour.hour >= 2 else hour - timedelta(hours=hour.hour)


def _last_hour() -> tuple[datetime, datetime]:
    """The hour up to now, or today's part of it (an incident within one UTC day)."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - timedelta(hours=1), midnight), now


def _stable_month(
    sessions: sessionmaker[Session], org_id: int, survey_id: int, end: datetime
) -> None:
    """28 days of 60 answers a day (CSAT about 80%), by email and chat."""
    rng = random.Random(7)
    items = []
    for day in range(1, 29):
        start = (end - timedelta(days=day)).replace(hour=0, minute=0)
        for n in range(60):
            items.append(
                NewResponse(
                    survey_id=survey_id,
                    score=rng.choice([5, 5, 4, 4, 4, 5, 4, 5, 3, 2]),
                    submitted_at=start + timedelta(minutes=n * 20),
                    channel="email" if n % 2 else "chat",
                )
            )
    with sessions.begin() as session:
        responses.add_responses(session, org_id, items, events=False)


def _bad_answers(
    sessions: sessionmaker[Session],
    org_id: int,
    survey_id: int,
    start: datetime,
    count: int,
    spacing: timedelta = timedelta(seconds=7),
) -> None:
    items = [
        NewResponse(
            survey_id=survey_id,
            score=1,
            submitted_at=start + spacing * n,
            channel="email",
        )
        for n in range(count)
    ]
    with sessions.begin() as session:
        responses.add_responses(session, org_id, items, events=False)


def _alerts(sessions: sessionmaker[Session]) -> list[Alert]:
    with sessions() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def test_one_incident_of_500_bad_answers_in_an_hour_gives_one_alert(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    server: SmtpTestServer,
) -> None:
    start, now = _last_hour()
    with sessions.begin() as session:
        for name, role in (("Olga", "owner"), ("Adam", "admin"), ("Vera", "viewer")):
            accounts.create_user(
                session,
                org.id,
                email=f"{name.lower()}@acme.example",
                name=name,
                role=role,
                password="a long enough password",
            )
    _stable_month(sessions, org.id, survey.id, now)
    tasks, jobs = TaskRegistry(), JobRegistry()
    alert_runner.register(tasks)
    alert_emails.register(jobs)
    clock = Clock()
    worker = OutboxWorker(
        engine,
        server.settings(),
        LinkSigner("k"),
        clock=clock,
        tasks=tasks,
        jobs=jobs,
        analyse_comments=False,
    )
    try:
        # This hour's scan, before the incident: nothing.
        assert worker.tasks.enqueue_due() == 1
        assert worker.tasks.enqueue_due() == 0  # once per organisation and hour
        assert worker.run_tasks() == 1
        assert _alerts(sessions) == []
        # The incident: 500 one-star answers by email within the hour, scanned as they
        # come (five scans), then by the worker in each of the next two hours.
        spacing = (now - start) / 500
        for part in range(5):
            _bad_answers(sessions, org.id, survey.id, start + spacing * 100 * part, 100, spacing)
            with sessions.begin() as session:
                alert_runner.scan_organisation(session, org.id, now + timedelta(seconds=part))
        for hours in (1, 2):
            clock.offset = timedelta(hours=hours)
            assert worker.tasks.enqueue_due() == 1
            assert worker.run_tasks() == 1
        (alert,) = _alerts(sessions)
        assert alert.kind == "score-drop"
        assert alert.state == "open"
        assert alert.key == f"score-drop:{survey.id}"
        segments = {found["segment"] for found in alert.details["segments"]}
        assert {"all", "channel=email"} <= segments
        assert alert.details["segment"] == "channel=email"  # the largest drop leads
        assert alert.details["change"] < -20
        assert alert.details["ci_high"] < 0
        assert alert.details["n_after"] >= 500
        last_seen = alert.last_seen_at.replace(tzinfo=UTC)
        assert last_seen >= now + timedelta(hours=2)
        # One email to each owner and admin, none to the viewer.
        for _ in range(3):
            worker.run_once()
        received = server.wait_for(2)
        assert sorted(r for message in received for r in message.recipients) == [
            "adam@acme.example",
            "olga@acme.example",
        ]
        plain = received[0].parsed().get_body(("plain",))
        assert plain is not None
        text = plain.get_content()
        assert "CSAT" in text
        assert "channel email" in alert.title
        assert f"/app/alerts/{alert.id}" in text
        # Closed after three quiet days.
        with sessions.begin() as session:
            alert_runner.scan_organisation(session, org.id, now + timedelta(days=4))
    finally:
        worker.connection.close()
    (alert,) = _alerts(sessions)
    assert alert.state == "closed"
    with sessions() as session:
        emails = session.scalar(select(func.count()).where(OutboxItem.kind == alert_emails.KIND))
    assert emails == 2


def test_new_alerts_are_limited_per_hour_and_the_rest_counted(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    from cxpulse.store import surveys as survey_store

    incident = _start_of_incident()
    with sessions.begin() as session:
        ids = [
            survey_store.create_survey(
                session, org.id, slug=f"s{n}", name=f"Shop {n}", metric="csat", status="active"
            ).id
            for n in range(4)
        ]
    for survey_id in ids:
        _stable_month(sessions, org.id, survey_id, incident)
        _bad_answers(sessions, org.id, survey_id, incident, 120)
    with sessions.begin() as session:
        result = alert_runner.scan_organisation(
            session, org.id, incident + timedelta(minutes=30), max_new_per_hour=3
        )
    assert len(result.raised) == 3
    assert result.held_back == 1
    raised = _alerts(sessions)
    assert len(raised) == 3
    assert raised[-1].details["held_back"] == 1
    # An hour later the one held back is raised; the others are updated.
    with sessions.begin() as session:
        later = alert_runner.scan_organisation(
            session, org.id, incident + timedelta(hours=1, minutes=31), max_new_per_hour=3
        )
    assert len(later.raised) == 1
    assert len(later.updated) == 3
    assert later.held_back == 0
    assert len(_alerts(sessions)) == 4


def test_a_stable_month_raises_nothing_and_other_organisations_are_untouched(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    incident = _start_of_incident()
    _stable_month(sessions, org.id, survey.id, incident + timedelta(days=1))
    with sessions.begin() as session:
        other = accounts.create_organisation(session, slug="other", name="Other")
        result = alert_runner.scan_organisation(session, other.id, incident)
        assert result.surveys == 0
        mine = alert_runner.scan_organisation(session, org.id, incident)
    assert mine.surveys == 1
    assert mine.raised == []
    assert _alerts(sessions) == []


def test_yesterday_is_judged_complete_at_the_daily_level(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    # 20 bad answers among 60: too few to stand out at the hourly looks' level (0.025 / 24
    # per segment), enough at the complete day's (0.025).
    now = datetime.now(UTC)
    yesterday = (now - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    _stable_month(sessions, org.id, survey.id, yesterday)
    items = [
        NewResponse(
            survey_id=survey.id,
            score=2 if n < 20 else 5,
            submitted_at=yesterday + timedelta(minutes=n),
            channel="chat",
        )
        for n in range(60)
    ]
    with sessions.begin() as session:
        responses.add_responses(session, org.id, items, events=False)
    hourly_only = ((1, alert_runner.DAY_SO_FAR),)
    with sessions.begin() as session:
        found, _ = alert_runner.detections(session, org.id, now.date(), hourly_only)
        assert found == []
        found, _ = alert_runner.detections(session, org.id, now.date())
    (detection,) = found
    assert detection.details["day"] == yesterday.date().isoformat()
    # Two segments tested (all answers, chat), once: 1 - 2 * 0.025 / 2.
    assert detection.details["level"] == pytest.approx(0.975)
    assert detection.details["segments_tested"] == 2
