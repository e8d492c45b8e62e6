"""Follow-up cases (``act.cases``) on SQLite and PostgreSQL: opening once per answer with an
SLA due time in business hours, round-robin within a team (also under concurrency), the
states and their rules, notes, bulk changes, and the re-survey that measures recovery."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import cases
from cxpulse.act.jobs import JobRegistry
from cxpulse.act.tasks import TaskContext, TaskRegistry, TaskRunner
from cxpulse.collect.invitation_scheduling import INVITATION_KIND
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import accounts, contacts, loop_settings, responses, surveys, teams
from cxpulse.store import cases as case_store
from cxpulse.store.db import session_factory
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import (
    CaseEvent,
    FollowUpCase,
    Invitation,
    Organisation,
    OutboxItem,
    Response,
    Rule,
    Survey,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from cxpulse.store.types import utc_now

MONDAY_9 = datetime(2026, 12, 7, 9, tzinfo=UTC)


def _user(
    session: Session, org_id: int, name: str, role: str = "agent", active: bool = True
) -> int:
    user = User(
        organisation_id=org_id,
        email=f"{name.lower()}@acme.example",
        name=name,
        role=role,
        password_hash="h",
        is_active=active,
    )
    session.add(user)
    session.flush()
    return user.id


def _answer(
    session: Session, org_id: int, survey_id: int, score: float = 1, *, email: str | None = None
) -> int:
    contact = contacts.create_contact(session, org_id, email=email or "ana@example.com", name="Ana")
    stored = responses.add_responses(
        session,
        org_id,
        [
            responses.NewResponse(
                survey_id=survey_id,
                score=score,
                comment="Waited two weeks",
                contact_id=contact.id,
                submitted_at=MONDAY_9 - timedelta(days=1),
            )
        ],
    )
    return stored[0][0].id


def _case(session: Session, org_id: int, case_id: int | None) -> FollowUpCase:
    assert case_id is not None
    return case_store.get_case(session, org_id, case_id)


def _kinds(session: Session, case_id: int) -> list[str]:
    return list(
        session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
    )


def test_a_case_opens_once_per_answer_due_by_the_sla(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        answer = _answer(session, org.id, survey.id)
        case_id = cases.open_case(
            session, org.id, response_id=answer, priority="urgent", now=MONDAY_9
        )
        assert cases.open_case(session, org.id, response_id=answer, now=MONDAY_9) is None
    with sessions() as session:
        row = _case(session, org.id, case_id)
        assert (row.state, row.priority, row.survey_id) == ("new", "urgent", survey.id)
        assert row.due_at == MONDAY_9 + timedelta(hours=4)
        assert row.title == "Support: score 1"
        assert row.contact_id is not None
        assert len(row.reply_token) >= 24
        assert _kinds(session, row.id) == ["created"]


def test_the_due_time_follows_the_organisations_hours_and_zone(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        cases.update_settings(
            session,
            org.id,
            timezone="Europe/Stockholm",
            business_hours_document={"days": [0, 1, 2, 3], "start": "08:00", "end": "12:00"},
            sla_hours={"normal": 6},
        )
        answer = _answer(session, org.id, survey.id)
        # Thursday 11:00 in Stockholm (10:00 UTC): one hour that day, four on Monday (Friday is
        # closed), the last on Tuesday from 08:00 local (07:00 UTC).
        opened = datetime(2026, 12, 10, 10, tzinfo=UTC)
        case_id = cases.open_case(session, org.id, response_id=answer, now=opened)
    with sessions() as session:
        assert _case(session, org.id, case_id).due_at == datetime(2026, 12, 15, 8, tzinfo=UTC)
        view = cases.settings_view(session, org.id)
        assert view["sla_hours"]["normal"] == 6.0
        assert view["sla_hours"]["urgent"] == 4.0


def test_settings_refuse_a_bad_value_and_keep_the_old(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions() as session:
        with pytest.raises(Invalid) as raised:
            cases.update_settings(session, org.id, sla_hours={"urgent": -3})
        assert raised.value.field == "sla_hours.urgent"
        session.rollback()
        assert loop_settings.get_settings(session, org.id).sla_hours == {}


def test_answers_of_another_organisation_are_not_found(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        other = accounts.create_organisation(session, slug="globex", name="Globex")
        answer = _answer(session, org.id, survey.id)
        with pytest.raises(NotFound):
            cases.open_case(session, other.id, response_id=answer)
        case_id = cases.open_case(session, org.id, response_id=answer)
        assert case_id is not None
        with pytest.raises(NotFound):
            cases.add_note(session, other.id, case_id, "hello", author_user_id=None)
        result = cases.bulk_update(
            session, other.id, [case_id], author_user_id=None, priority="low"
        )
        assert result.missing == [case_id]
        assert result.updated == []


def test_round_robin_skips_viewers_and_inactive_members(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        team = teams.create_team(session, org.id, "Billing")
        ana = _user(session, org.id, "Ana")
        ben = _user(session, org.id, "Ben", role="admin")
        viewer = _user(session, org.id, "Vic", role="viewer")
        gone = _user(session, org.id, "Gus", active=False)
        for user in (ana, ben, viewer, gone):
            teams.add_member(session, org.id, team.id, user)
        assignees = []
        for n in range(5):
            answer = _answer(session, org.id, survey.id, email=f"c{n}@example.com")
            case_id = cases.open_case(session, org.id, response_id=answer, team_id=team.id)
            assignees.append(_case(session, org.id, case_id).assignee_user_id)
    assert assignees == [ana, ben, ana, ben, ana]


def test_round_robin_under_concurrency_gives_each_member_a_fair_share(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        team = teams.create_team(session, org.id, "Support")
        members = [_user(session, org.id, name) for name in ("Ana", "Ben", "Cy")]
        for user in members:
            teams.add_member(session, org.id, team.id, user)
        answers = [
            _answer(session, org.id, survey.id, email=f"c{n}@example.com") for n in range(12)
        ]
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []

    def work(mine: list[int]) -> None:
        try:
            barrier.wait()
            for answer in mine:
                with sessions.begin() as session:
                    cases.open_case(session, org.id, response_id=answer, team_id=team.id)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(answers[n::3],)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    with sessions() as session:
        got = Counter(
            session.scalars(
                select(FollowUpCase.assignee_user_id).where(FollowUpCase.team_id == team.id)
            )
        )
    assert got == {user: 4 for user in members}


def test_a_rule_whose_team_is_gone_still_opens_the_case(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        answer = _answer(session, org.id, survey.id)
        with pytest.raises(Invalid) as raised:
            cases.open_case(session, org.id, response_id=answer, team_id=424242)
        assert raised.value.field == "team_id"
        rule = Rule(organisation_id=org.id, name="Detractors", conditions={}, actions={})
        session.add(rule)
        session.flush()
        case_id = cases.open_case(
            session, org.id, response_id=answer, team_id=424242, rule_id=rule.id
        )
    with sessions() as session:
        row = _case(session, org.id, case_id)
        assert row.team_id is None
        assert row.assignee_user_id is None
        (created,) = case_store.events(session, org.id, row.id)
        assert created.data["notes"] == ["team 424242 no longer exists"]


def test_the_life_of_a_case(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        agent = _user(session, org.id, "Ana")
        answer = _answer(session, org.id, survey.id)
        case_id = cases.open_case(session, org.id, response_id=answer, now=MONDAY_9)
        assert case_id is not None
        later = MONDAY_9 + timedelta(hours=2)
        row = cases.change_state(
            session, org.id, case_id, "contacted", author_user_id=agent, now=later
        )
        assert row.first_contact_at == later
        with pytest.raises(Invalid) as raised:
            cases.change_state(session, org.id, case_id, "resolved", author_user_id=agent)
        assert raised.value.field == "resolution_reason"
        with pytest.raises(Invalid) as raised:
            cases.change_state(session, org.id, case_id, "new", author_user_id=agent)
        assert raised.value.field == "state"
        done = later + timedelta(hours=1)
        row = cases.change_state(
            session,
            org.id,
            case_id,
            "resolved",
            author_user_id=agent,
            resolution_reason="Refunded the order",
            now=done,
        )
        assert (row.closed_at, row.resolution_reason) == (done, "Refunded the order")
        row = cases.change_state(
            session, org.id, case_id, "contacted", author_user_id=agent, now=done
        )
        assert row.closed_at is None
        assert row.resolution_reason is None
        assert row.first_contact_at == later
        cases.add_note(
            session, org.id, case_id, "Called back, no answer", author_user_id=agent, now=done
        )
        with pytest.raises(Invalid):
            cases.add_note(session, org.id, case_id, "   ", author_user_id=agent)
    with sessions() as session:
        assert _kinds(session, case_id) == ["created", "state", "state", "state", "note"]
        history = case_store.events(session, org.id, case_id)
        assert history[2].data == {
            "from": "contacted",
            "to": "resolved",
            "reason": "Refunded the order",
        }
        assert history[-1].author_user_id == agent


def test_assignment_priority_and_due_time(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        agent = _user(session, org.id, "Ana")
        viewer = _user(session, org.id, "Vic", role="viewer")
        other = accounts.create_organisation(session, slug="globex", name="Globex")
        stranger = _user(session, other.id, "Sam")
        answer = _answer(session, org.id, survey.id)
        case_id = cases.open_case(session, org.id, response_id=answer, now=MONDAY_9)
        assert case_id is not None
        for refused in (viewer, stranger):
            with pytest.raises(Invalid) as raised:
                cases.assign(session, org.id, case_id, refused, author_user_id=agent)
            assert raised.value.field == "assignee_user_id"
        row = cases.assign(session, org.id, case_id, agent, author_user_id=agent)
        assert row.assignee_user_id == agent
        row = cases.set_priority(session, org.id, case_id, "high", author_user_id=agent)
        assert row.due_at == MONDAY_9 + timedelta(hours=8)
        with pytest.raises(Invalid):
            cases.set_priority(session, org.id, case_id, "critical", author_user_id=agent)
        row = cases.assign(session, org.id, case_id, None, author_user_id=agent)
        assert row.assignee_user_id is None


def test_bulk_changes_are_all_or_nothing(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        agent = _user(session, org.id, "Ana")
        ids = []
        for n in range(3):
            answer = _answer(session, org.id, survey.id, email=f"c{n}@example.com")
            case_id = cases.open_case(session, org.id, response_id=answer)
            assert case_id is not None
            ids.append(case_id)
        cases.change_state(session, org.id, ids[2], "contacted", author_user_id=agent)
        result = cases.bulk_update(
            session, org.id, [*ids, 999_999], author_user_id=agent, state="contacted"
        )
        assert (result.updated, result.unchanged, result.missing) == (ids[:2], [ids[2]], [999_999])
        result = cases.bulk_update(
            session, org.id, ids, author_user_id=agent, assignee_user_id=agent, priority="low"
        )
        assert result.updated == ids
    with sessions() as session:
        with pytest.raises(Invalid) as raised:
            cases.bulk_update(session, org.id, ids, author_user_id=agent, state="resolved")
        assert raised.value.field == "resolution_reason"
        assert raised.value.index == 0
        with pytest.raises(Invalid):
            cases.bulk_update(
                session, org.id, list(range(1, 502)), author_user_id=agent, priority="low"
            )
        with pytest.raises(Invalid):
            cases.bulk_update(session, org.id, ids, author_user_id=agent)


def test_a_resolution_with_a_resurvey_invites_again_and_records_the_recovery(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        agent = _user(session, org.id, "Ana")
        answer = _answer(session, org.id, survey.id)
        row = _case(session, org.id, cases.open_case(session, org.id, response_id=answer))
        # The customer was invited yesterday: the throttle (30 days) would refuse another.
        session.add(
            Invitation(
                organisation_id=org.id,
                survey_id=survey.id,
                contact_id=row.contact_id,
                status="sent",
                send_at=MONDAY_9 - timedelta(days=1),
                sent_at=MONDAY_9 - timedelta(days=1),
            )
        )
        with pytest.raises(Invalid) as raised:
            cases.change_state(
                session, org.id, row.id, "contacted", author_user_id=agent, resurvey=True
            )
        assert raised.value.field == "resurvey"
        cases.change_state(
            session,
            org.id,
            row.id,
            "resolved",
            author_user_id=agent,
            resolution_reason="Sent a replacement",
            resurvey=True,
        )
        invitation_id = row.resurvey_invitation_id
        assert invitation_id is not None
    with sessions.begin() as session:
        invitation = session.get(Invitation, invitation_id)
        assert invitation is not None
        assert invitation.status == "scheduled"
        assert invitation.reason is not None
        assert "throttle is bypassed" in invitation.reason
        keys = session.scalars(
            select(OutboxItem.dedupe_key).where(OutboxItem.kind == INVITATION_KIND)
        )
        assert f"invitation:{invitation_id}" in list(keys)
        stored = responses.add_responses(
            session,
            org.id,
            [
                responses.NewResponse(
                    survey_id=survey.id,
                    score=5,
                    invitation_id=invitation_id,
                    contact_id=row.contact_id,
                )
            ],
        )
        again = stored[0][0]
        assert cases.record_recovery(session, again) == row.id
        assert cases.record_recovery(session, again) is None  # first answer wins
    with sessions() as session:
        closed = _case(session, org.id, row.id)
        assert closed.recovery_score == 5.0
        assert _kinds(session, row.id)[-2:] == ["resurvey", "resurvey"]


def test_an_answer_that_is_no_resurvey_records_nothing(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        answer = _answer(session, org.id, survey.id)
        stored = session.get(Response, answer)
        assert stored is not None
        assert cases.record_recovery(session, stored) is None


def test_a_closed_survey_cannot_be_sent_again(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions() as session:
        agent = _user(session, org.id, "Ana")
        answer = _answer(session, org.id, survey.id)
        case_id = cases.open_case(session, org.id, response_id=answer)
        assert case_id is not None
        surveys.get_survey(session, org.id, survey.id).status = "closed"
        with pytest.raises(Invalid) as raised:
            cases.change_state(
                session,
                org.id,
                case_id,
                "resolved",
                author_user_id=agent,
                resolution_reason="Done",
                resurvey=True,
            )
        assert raised.value.field == "survey"


def test_the_worker_records_answered_resurveys(
    engine: Engine, sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    registry = TaskRegistry()
    cases.register(registry, JobRegistry())
    cases.register(registry, JobRegistry())  # again: harmless
    runner = TaskRunner(
        TaskContext(
            sessions,
            session_factory(engine, read_only=True),
            utc_now,
            LinkSigner("test-key"),
            SmtpSettings(),
        ),
        registry,
    )
    with sessions.begin() as session:
        agent = _user(session, org.id, "Ana")
        answer = _answer(session, org.id, survey.id)
        case_id = cases.open_case(session, org.id, response_id=answer)
        assert case_id is not None
        cases.change_state(
            session,
            org.id,
            case_id,
            "resolved",
            author_user_id=agent,
            resolution_reason="Refunded",
            resurvey=True,
        )
    assert runner.enqueue_due() == 0  # nothing answered yet
    with sessions.begin() as session:
        row = _case(session, org.id, case_id)
        responses.add_responses(
            session,
            org.id,
            [
                responses.NewResponse(
                    survey_id=survey.id,
                    score=4,
                    invitation_id=row.resurvey_invitation_id,
                    contact_id=row.contact_id,
                )
            ],
        )
    assert runner.enqueue_due() == 1
    assert runner.run_once() == 1
    with sessions() as session:
        assert _case(session, org.id, case_id).recovery_score == 4.0
    assert runner.enqueue_due() == 0


def test_two_transactions_opening_a_case_for_one_answer_open_one(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        answer = _answer(session, org.id, survey.id)
    barrier = threading.Barrier(2)
    opened: list[int | None] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with sessions.begin() as session:
                barrier.wait()
                opened.append(cases.open_case(session, org.id, response_id=answer))
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(opened) == 2
    assert opened.count(None) == 1


def test_cases_publish_their_events_to_the_webhooks(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        session.add(
            WebhookEndpoint(
                organisation_id=org.id,
                url="https://hooks.example/cx",
                secret="whsec_" + "A" * 32,
                events={"types": ["case.created", "case.updated"]},
            )
        )
        agent = _user(session, org.id, "Ana")
        answer = _answer(session, org.id, survey.id)
        case_id = cases.open_case(session, org.id, response_id=answer)
        assert case_id is not None
        cases.update_case(
            session, org.id, case_id, author_user_id=agent, priority="high", assignee_user_id=agent
        )
        cases.update_case(session, org.id, case_id, author_user_id=agent, priority="high")
    with sessions() as session:
        sent = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [delivery.event_type for delivery in sent] == ["case.created", "case.updated"]
        data = sent[1].payload["data"]
        assert data["case"]["priority"] == "high"
        assert data["changes"] == ["assignee", "priority"]
        assert "reply_token" not in str(sent[0].payload)
