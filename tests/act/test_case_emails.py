"""Replies to the customer from a case (``act.case_emails``) through a real SMTP server on
loopback, on SQLite and PostgreSQL: threaded headers, the reply address with the case's
token, and the customer's answer coming back on the case only when it answers the case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act import case_emails, cases
from cxpulse.act.jobs import JobRegistry
from cxpulse.act.worker import OutboxWorker
from cxpulse.collect.links import LinkSigner
from cxpulse.store import cases as case_store
from cxpulse.store import contacts, responses
from cxpulse.store.errors import Invalid
from cxpulse.store.models import CaseEvent, Organisation, Response, Survey, User

DOMAIN = "acme.example"


@pytest.fixture
def mailer(engine: Engine, server: SmtpTestServer) -> Iterator[OutboxWorker]:
    registry = JobRegistry()
    case_emails.register(registry)
    case_emails.register(registry)  # again: harmless
    made = OutboxWorker(
        engine,
        server.settings(mail_from=f"Acme support <support@{DOMAIN}>"),
        LinkSigner("test-key"),
        jobs=registry,
        analyse_comments=False,
    )
    yield made
    made.connection.close()


def _open(
    session: Session, org: Organisation, survey: Survey, *, invitation_id: int | None = None
) -> tuple[int, int]:
    agent = User(
        organisation_id=org.id,
        email="ana@acme.example",
        name="Ana Berg",
        role="agent",
        password_hash="h",
    )
    session.add(agent)
    contact = contacts.create_contact(session, org.id, email="customer@example.com", name="Chris")
    stored = responses.add_responses(
        session,
        org.id,
        [
            responses.NewResponse(
                survey_id=survey.id,
                score=1,
                contact_id=contact.id,
                invitation_id=invitation_id,
                submitted_at=datetime(2026, 12, 1, tzinfo=UTC),
            )
        ],
    )
    session.flush()
    case_id = cases.open_case(session, org.id, response_id=stored[0][0].id)
    assert case_id is not None
    return case_id, agent.id


def _send(worker: OutboxWorker, server: SmtpTestServer, count: int) -> None:
    worker.run_once()
    server.wait_for(count)


def test_a_reply_is_sent_threaded_with_the_reply_address(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    mailer: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    with sessions.begin() as session:
        case_id, agent = _open(session, org, survey, invitation_id=77)
        row = cases.reply(
            session,
            org.id,
            case_id,
            "We are sorry.\n\nA new one is on its way <today>.",
            author_user_id=agent,
            mail_domain=DOMAIN,
        )
        assert row.state == "contacted"
        assert row.first_contact_at is not None
        token = row.reply_token
    _send(mailer, server, 1)
    first = server.messages[0]
    assert first["To"] == "Chris <customer@example.com>"
    assert first["From"] == "Ana Berg <support@acme.example>"
    assert first["Reply-To"] == f"Acme <reply+{token}@{DOMAIN}>"
    assert first["Subject"] == "Your feedback to Acme"
    # The answer came from an invitation: the reply joins that email's thread.
    assert first["In-Reply-To"] == f"<cxpulse.invitation.77@{DOMAIN}>"
    html_part = first.get_body(("html",))
    assert html_part is not None
    assert "&lt;today&gt;" in html_part.get_content()
    text_part = first.get_body(("plain",))
    assert text_part is not None
    assert "A new one is on its way <today>." in text_part.get_content()
    with sessions() as session:
        out = session.scalars(select(CaseEvent).where(CaseEvent.kind == "email_out")).one()
        assert out.message_id == first["Message-ID"]

    # The customer answers; the answer lands on the case, once however often it is posted.
    with sessions.begin() as session:
        received = cases.receive_email(
            session,
            sender="Chris <Customer@Example.com>",
            to=f"Acme <reply+{token}@{DOMAIN}>",
            subject="Re: Your feedback to Acme",
            text="Thanks, it arrived.",
            message_id="<abc@mail.example.com>",
            in_reply_to=first["Message-ID"],
        )
        assert (received.case_id, received.duplicate) == (case_id, False)
        again = cases.receive_email(
            session,
            sender="customer@example.com",
            to=f"reply+{token}@{DOMAIN}",
            subject=None,
            text="Thanks, it arrived.",
            message_id="<abc@mail.example.com>",
            in_reply_to=None,
            references=f"<other@x> {first['Message-ID']}",
        )
        assert again.duplicate
    with sessions.begin() as session:
        cases.reply(
            session,
            org.id,
            case_id,
            "Glad to hear it.",
            author_user_id=agent,
            mail_domain=DOMAIN,
            subject="Your order",
        )
    _send(mailer, server, 2)
    second = server.messages[1]
    assert second["Subject"] == "Your order"
    assert second["In-Reply-To"] == "<abc@mail.example.com>"
    assert second["References"].split() == [
        f"<cxpulse.invitation.77@{DOMAIN}>",
        first["Message-ID"],
        "<abc@mail.example.com>",
    ]
    with sessions() as session:
        history = case_store.events(session, org.id, case_id)
        assert [event.kind for event in history] == [
            "created",
            "email_out",
            "state",
            "email_in",
            "email_out",
        ]
        assert history[3].body == "Thanks, it arrived."
        assert history[3].data["from"] == "customer@example.com"


def test_an_email_that_answers_no_message_of_the_case_is_refused(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        case_id, agent = _open(session, org, survey)
        row = cases.reply(
            session, org.id, case_id, "Hello", author_user_id=agent, mail_domain=DOMAIN
        )
        token = row.reply_token
        sent = case_store.events(session, org.id, case_id)[1].message_id
    with sessions() as session:
        refusals = [
            ({"to": f"reply+{'x' * 32}@{DOMAIN}", "in_reply_to": sent}, 404),
            ({"to": f"someone@{DOMAIN}", "in_reply_to": sent}, 404),
            ({"to": f"reply+{token}@{DOMAIN}", "in_reply_to": "<guess@acme.example>"}, 403),
            ({"to": f"reply+{token}@{DOMAIN}", "in_reply_to": None}, 403),
        ]
        for fields, status in refusals:
            with pytest.raises(cases.InboundRefused) as refused:
                cases.receive_email(
                    session,
                    sender="x@example.com",
                    subject="hi",
                    text="hi",
                    message_id="<m@x>",
                    **fields,
                )  # type: ignore[arg-type]
            assert refused.value.status == status
        assert [event.kind for event in case_store.events(session, org.id, case_id)] == [
            "created",
            "email_out",
            "state",
        ]


def test_no_reply_without_an_address_or_against_the_customers_wish(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        case_id, agent = _open(session, org, survey)
        row = case_store.get_case(session, org.id, case_id)
        answer = session.get(Response, row.response_id)
        assert answer is not None
        answer.contact_consent = False
        with pytest.raises(Invalid, match="asked not to be contacted"):
            cases.reply(session, org.id, case_id, "Hello", author_user_id=agent, mail_domain=DOMAIN)
        stored = responses.add_responses(
            session, org.id, [responses.NewResponse(survey_id=survey.id, score=1)]
        )
        anonymous = cases.open_case(session, org.id, response_id=stored[0][0].id)
        assert anonymous is not None
        with pytest.raises(Invalid, match="no email address"):
            cases.reply(
                session, org.id, anonymous, "Hello", author_user_id=agent, mail_domain=DOMAIN
            )


def test_a_case_deleted_before_sending_sends_nothing(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    mailer: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    with sessions.begin() as session:
        case_id, agent = _open(session, org, survey)
        cases.reply(session, org.id, case_id, "Hello", author_user_id=agent, mail_domain=DOMAIN)
    with sessions.begin() as session:
        session.delete(case_store.get_case(session, org.id, case_id))
    stats = mailer.run_once()
    assert stats.claimed == 1
    assert server.messages == []


def test_tokens_and_thread_ids_are_read_strictly() -> None:
    assert case_emails.tokens_in('"Acme" <reply+abcdefghijklmnop@acme.example>, x@y') == [
        "abcdefghijklmnop"
    ]
    assert case_emails.tokens_in("reply+short@acme.example") == []
    assert case_emails.tokens_in("noreply+abcdefghijklmnop@acme.example") == []
    assert case_emails.thread_ids("<a@b> junk <c@d>") == ["<a@b>", "<c@d>"]
    assert case_emails.thread_ids(None) == []
