"""Report schedules and the outbox items of the reports due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.report import schedules
from cxpulse.store import accounts, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation, OutboxItem, ReportSchedule, Survey

OCTOBER = datetime(2026, 10, 12, 12, tzinfo=UTC)


@pytest.fixture
def org(seeded: tuple[Organisation, Survey]) -> Organisation:
    return seeded[0]


@pytest.fixture
def survey(seeded: tuple[Organisation, Survey]) -> Survey:
    return seeded[1]


def _items(session: Session) -> list[OutboxItem]:
    """The report emails queued (the answers' own events are other kinds)."""
    return list(
        session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "report").order_by(OutboxItem.id)
        )
    )


def test_reports_are_queued_once_per_schedule_and_month(
    session: Session, org: Organisation, survey: Survey
) -> None:
    schedule = schedules.put_schedule(
        session, org.id, survey.id, emails=["cx@shop.example"], now=OCTOBER
    )
    other_org = accounts.create_organisation(session, slug="other-shop", name="Other shop")
    other_survey = surveys.create_survey(session, other_org.id, slug="s", name="S", metric="nps")
    paused = schedules.put_schedule(
        session, other_org.id, other_survey.id, emails=["x@other.example"], now=OCTOBER
    )
    paused.active = False

    # Created in October: September counts as done, October's report goes out in November.
    assert schedules.enqueue_due_reports(session, OCTOBER + timedelta(days=10)) == []
    queued = schedules.enqueue_due_reports(session, datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    assert len(queued) == 1
    item = queued[0]
    assert item.kind == "report"
    assert item.organisation_id == org.id
    assert item.dedupe_key == f"report:{schedule.id}:2026-10"
    assert item.payload == {
        "schedule_id": schedule.id,
        "survey_id": survey.id,
        "month": "2026-10",
        "recipients": ["cx@shop.example"],
        "language": "en",
    }
    assert schedules.enqueue_due_reports(session, datetime(2026, 11, 2, tzinfo=UTC)) == []
    assert schedules.enqueue_due_reports(session, datetime(2026, 11, 30, 23, tzinfo=UTC)) == []
    # A worker that read the schedule before another's update commits: the dedupe key holds.
    schedule.last_month_sent = "2026-09"
    session.flush()
    assert schedules.enqueue_due_reports(session, datetime(2026, 11, 3, tzinfo=UTC)) == []
    assert len(_items(session)) == 1
    assert schedule.last_month_sent == "2026-10"

    paused.active = True
    december = schedules.enqueue_due_reports(session, datetime(2026, 12, 1, tzinfo=UTC))
    assert sorted(i.dedupe_key for i in december) == [
        f"report:{schedule.id}:2026-11",
        f"report:{paused.id}:2026-11",
    ]
    assert {i.organisation_id for i in december} == {org.id, other_org.id}
    assert len(_items(session)) == 3


def test_schedule_store_checks(session: Session, org: Organisation, survey: Survey) -> None:
    with pytest.raises(Invalid) as raised:
        schedules.put_schedule(session, org.id, survey.id, emails=["nobody"])
    assert raised.value.field == "emails"
    with pytest.raises(Invalid):
        schedules.put_schedule(session, org.id, survey.id, emails=[])
    with pytest.raises(Invalid) as raised:
        schedules.put_schedule(session, org.id, survey.id, emails=["a@b.se"], language="xx")
    assert raised.value.field == "language"
    other = accounts.create_organisation(session, slug="other-shop", name="Other shop")
    with pytest.raises(NotFound):
        schedules.put_schedule(session, other.id, survey.id, emails=["a@b.se"])
    schedules.put_schedule(session, org.id, survey.id, emails=["a@b.se"])
    with pytest.raises(NotFound):
        schedules.delete_schedule(session, other.id, survey.id)
    schedules.delete_schedule(session, org.id, survey.id)
    assert session.scalars(select(ReportSchedule)).all() == []


def test_a_worker_looks_for_active_schedules_only(
    session: Session, org: Organisation, survey: Survey
) -> None:
    assert not schedules.has_active_schedules(session)
    schedule = schedules.put_schedule(session, org.id, survey.id, emails=["a@b.se"], active=False)
    assert not schedules.has_active_schedules(session)
    schedule.active = True
    session.flush()
    assert schedules.has_active_schedules(session)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("cx\x00@shop.example", "control character U+0000"),
        ("cx\x01@shop.example", "control character U+0001"),
        ("cx@shop.example\r\nBcc: x@evil.example", "control character U+000D"),
        ("çx@shop.example", "only ASCII letters, digits and punctuation before the @"),
        ("cx\u200b@shop.example", "invisible character (U+200B zero width space)"),
        ("cx shop.example", "holds a space"),
    ],
)
def test_a_schedule_refuses_what_the_mailer_would_refuse(
    session: Session, org: Organisation, survey: Survey, address: str, problem: str
) -> None:
    """Defect 10: such an address was stored, and then the monthly email failed for every
    recipient."""
    with pytest.raises(Invalid) as raised:
        schedules.put_schedule(
            session, org.id, survey.id, emails=["ok@shop.example", address], now=OCTOBER
        )
    assert raised.value.field == "emails"
    assert raised.value.message.startswith("item 1: ")
    assert problem in raised.value.message
    assert session.scalars(select(ReportSchedule)).all() == []


def test_a_schedule_keeps_each_address_once_in_its_canonical_form(
    session: Session, org: Organisation, survey: Survey
) -> None:
    from cxpulse.collect.mailer import address_header

    schedule = schedules.put_schedule(
        session,
        org.id,
        survey.id,
        emails=[
            "CX@Shop.example",
            "cx@shop.example",
            "\uff43x@shop.example",
            "Boss@B\u00dcCHER.de",
        ],
        now=OCTOBER,
    )
    assert schedule.recipients == {"emails": ["cx@shop.example", "boss@xn--bcher-kva.de"]}
    [item] = schedules.enqueue_due_reports(session, datetime(2026, 11, 1, tzinfo=UTC))
    for recipient in item.payload["recipients"]:
        assert address_header("", recipient) == recipient
