"""The monthly report as an outbox job: its email, and its registration with the worker."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from sqlalchemy.orm import Session

from cxpulse.act.jobs import JobRegistry
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.report import jobs
from cxpulse.store.models import Organisation, ReportSchedule, Survey
from cxpulse.store.outbox import Claimed

SMTP = SmtpSettings(mail_from="Acme surveys <surveys@acme.example>")


Seeded = tuple[Organisation, Survey]
"""The organisation and survey of tests/report/conftest.py."""


def _item(seeded: Seeded, recipients: list[str]) -> Claimed:
    org, survey = seeded
    payload = {
        "schedule_id": 7,
        "survey_id": survey.id,
        "month": "2026-10",
        "recipients": recipients,
        "language": "en",
    }
    return Claimed(1, org.id, "report", "report:7:2026-10", payload, 1, datetime.now(UTC))


def test_a_report_becomes_one_email_to_all_its_recipients(session: Session, seeded: Seeded) -> None:
    composed = jobs.compose_report(
        session, _item(seeded, ["boss@acme.example", " team@acme.example "]), SMTP
    )
    assert composed is not None
    assert composed.recipients == ("boss@acme.example", "team@acme.example")
    assert composed.sender == "surveys@acme.example"
    assert composed.message_id == "<cxpulse.report.7.2026-10@acme.example>"
    message = message_from_bytes(composed.data, policy=policy.default)
    assert message["Subject"] == "Support CSAT: monthly report October 2026"
    assert message["To"] == "boss@acme.example, team@acme.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None


def test_a_report_without_recipients_is_nothing_to_send(session: Session, seeded: Seeded) -> None:
    assert jobs.compose_report(session, _item(seeded, [" "]), SMTP) is None


def test_register_tells_the_worker_how_to_queue_and_send_reports(
    session: Session, seeded: Seeded
) -> None:
    org, survey = seeded
    registry = JobRegistry()
    jobs.register(registry)
    jobs.register(registry)
    handler = registry.handler("report")
    assert handler is jobs.REPORT_JOB
    assert handler.has_work is not None
    assert handler.enqueue_due is not None
    assert not handler.has_work(session)
    session.add(
        ReportSchedule(
            organisation_id=org.id,
            survey_id=survey.id,
            recipients={"emails": ["boss@acme.example"]},
            language="en",
        )
    )
    session.flush()
    assert handler.has_work(session)
    assert handler.enqueue_due(session, datetime.now(UTC)) == 1
    assert handler.enqueue_due(session, datetime.now(UTC)) == 0
