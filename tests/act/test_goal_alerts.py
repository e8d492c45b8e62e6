"""Goals off track (``act.goal_alerts``) on both databases: the goal's owner is emailed once
when its forecast says it will be missed, again only when the state changes, through the
worker and a real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act import alert_emails, goal_alerts
from cxpulse.act.jobs import JobRegistry
from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.act.tasks import TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.store import accounts, audit
from cxpulse.store.models import Alert, Goal, Organisation, Survey
from cxpulse.store.responses import NewResponse, add_responses


def _falling_csat(sessions: sessionmaker[Session], org_id: int, survey_id: int) -> None:
    """Ten weeks of 50 answers a week, CSAT falling from about 86% to 58%."""
    today = datetime.now(UTC).date()
    items = []
    for week in range(10):
        day = today - timedelta(days=7 * (9 - week) + 1)
        satisfied = 43 - 3 * week
        for n in range(50):
            items.append(
                NewResponse(
                    survey_id=survey_id,
                    score=5 if n < satisfied else 2,
                    submitted_at=datetime.combine(day, time(10), tzinfo=UTC) + timedelta(minutes=n),
                )
            )
    with sessions.begin() as session:
        add_responses(session, org_id, items, events=False)


def _check(sessions: sessionmaker[Session], org_id: int) -> dict[str, int]:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        return goal_alerts.check_goals(session, org_id, today=now.date(), now=now)


def _set_goal(sessions: sessionmaker[Session], goal_id: int, **values: object) -> None:
    with sessions.begin() as session:
        goal = session.get(Goal, goal_id)
        assert goal is not None
        for name, value in values.items():
            setattr(goal, name, value)


def test_the_owner_hears_once_per_change_of_state(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    server: SmtpTestServer,
) -> None:
    today = datetime.now(UTC).date()
    with sessions.begin() as session:
        owner = accounts.create_user(
            session, org.id, email="olga@acme.example", password="a long password", role="owner"
        )
        analyst = accounts.create_user(
            session,
            org.id,
            email="ann@acme.example",
            password="a long password",
            role="analyst",
            name="Ann",
        )
        goal = Goal(
            organisation_id=org.id,
            survey_id=survey.id,
            name="CSAT back to 90",
            baseline=70.0,
            baseline_date=today - timedelta(days=70),
            target=90.0,
            due_date=today + timedelta(days=28),
        )
        session.add(goal)
        session.flush()
        goal_id = goal.id
        audit.record(
            session,
            org.id,
            actor=f"user:{analyst.id}",
            action="create",
            entity="goal",
            entity_id=goal.id,
        )
        del owner
    _falling_csat(sessions, org.id, survey.id)
    jobs = JobRegistry()
    alert_emails.register(jobs)
    worker = OutboxWorker(
        engine,
        server.settings(),
        LinkSigner("k"),
        tasks=TaskRegistry(),
        jobs=jobs,
        analyse_comments=False,
    )

    def send() -> None:
        for _ in range(2):
            worker.run_once()

    try:
        assert _check(sessions, org.id)["opened"] == 1
        assert _check(sessions, org.id) == {"opened": 0, "closed": 0, "changed": 0}
        send()
        (first,) = server.wait_for(1)
        assert first.recipients == ["ann@acme.example"]  # the goal's creator, not the owner
        part = first.parsed().get_body(("plain",))
        assert part is not None
        body = part.get_content()
        assert "off track" in body
        assert "short of the target 90.0" in body
        # Back on track (an easier target): closed, no email.
        _set_goal(sessions, goal_id, target=71.0, baseline=90.0)
        assert _check(sessions, org.id)["closed"] == 1
        assert _check(sessions, org.id)["closed"] == 0
        # Off track again: a new alert and one more email.
        _set_goal(sessions, goal_id, target=90.0, baseline=70.0)
        assert _check(sessions, org.id)["opened"] == 1
        # Past its due date: missed, the same alert, told once.
        _set_goal(sessions, goal_id, due_date=today)
        assert _check(sessions, org.id)["changed"] == 1
        assert _check(sessions, org.id)["changed"] == 0
        send()
        received = server.wait_for(3)
    finally:
        worker.connection.close()
    assert len(received) == 3
    subjects = [str(message.parsed()["Subject"]) for message in received]
    assert subjects[2] == "cxpulse alert: Goal 'CSAT back to 90' is missed"
    with sessions() as session:
        rows = session.scalars(select(Alert).order_by(Alert.id)).all()
        assert [(a.kind, a.state) for a in rows] == [
            ("goal-off-track", "closed"),
            ("goal-off-track", "open"),
        ]
        assert rows[1].key == f"goal-off-track:{goal_id}"
        assert rows[1].details["status"] == "missed"


def test_without_its_creator_the_owners_and_admins_hear(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    from cxpulse.store import alert_inputs

    with sessions.begin() as session:
        admin = accounts.create_user(
            session, org.id, email="ad@acme.example", password="a long password", role="admin"
        )
        accounts.create_user(
            session, org.id, email="vi@acme.example", password="a long password", role="viewer"
        )
        audit.record(
            session, org.id, actor="api_key:4", action="create", entity="goal", entity_id=77
        )
        assert [u.id for u in alert_inputs.goal_owners(session, org.id, 77)] == [admin.id]
