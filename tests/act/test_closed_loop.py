"""The closed loop end to end, on SQLite and PostgreSQL, with every part real: answers
through the public API, rules, cases, tags, referral codes, webhooks and emails run by the
worker with its default registries, delivered to a real SMTP server and real webhook
receivers on loopback (signatures checked), erasure through the privacy API, and the
re-survey answered through its emailed link counted in the follow-up figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.closed_loop_support import Loop, answer_path, closed_loop, form_token
from tests.store.privacy_support import places_holding
from tests.web.helpers import bearer
from tests.web.routes.mail_support import email_parts

from cxpulse.act import alert_runner, business_hours, cases, retention
from cxpulse.store import contacts, response_tags, surveys
from cxpulse.store.models import (
    FollowUpCase,
    OutboxItem,
    ReferralCode,
    RuleMatch,
    WebhookDelivery,
)

EMAIL = "ann.lee@mail.example"
COMMENT = (
    "The parcel came two weeks late and nobody answered my messages. "
    f"Write to me at {EMAIL} before I cancel."
)
FRAGMENT = "two weeks late and nobody answered my messages"
"""A part of the comment that no redaction changes."""


@pytest.fixture
def loop(engine: Engine) -> Iterator[Loop]:
    with closed_loop(engine) as running:
        yield running


@dataclass(frozen=True)
class OneStar:
    """Scenario 1 after the worker ran: the ids a later check needs."""

    contact_id: int
    response_id: int
    rule_id: int
    team_id: int
    case_id: int
    first_member: int
    second_member: int
    hooks_endpoint_id: int
    slack_endpoint_id: int


def _count(session: Session, model: type[object], *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _one_star(loop: Loop, comment: str = COMMENT) -> OneStar:
    """The organisation's set-up through the API, a one-star answer with a comment through
    the public API, and the worker drained once."""
    admin = loop.admin()
    org = loop.org
    with loop.db.begin() as session:
        contact_id = contacts.create_contact(
            session, org.id, external_id="cust-4471", email=EMAIL, name="Ann Lee"
        ).id
    team = loop.api("POST", "/api/v1/teams", admin, json={"name": "Care"})
    first, second = sorted([org.users["agent"], org.users["analyst"]])
    for member in (first, second):
        loop.api("PUT", f"/api/v1/teams/{team['id']}/members/{member}", admin)
    hooks = loop.api("POST", "/api/v1/webhook-endpoints", admin, json={"url": loop.hooks.url})
    loop.hooks.secrets = [hooks["secret"]]
    slack = loop.api(
        "POST",
        "/api/v1/webhook-endpoints",
        admin,
        json={"url": loop.slack.url, "format": "slack", "events": ["alert.fired"]},
    )
    rule = loop.api(
        "POST",
        "/api/v1/rules",
        admin,
        json={
            "name": "Call back unhappy customers",
            "survey_id": org.survey_id,
            "conditions": {"band": ["bottom"]},
            "actions": {
                "case": {"priority": "high", "team_id": team["id"]},
                "notify": {"endpoint_ids": [slack["id"]]},
                "tag": ["call-back"],
            },
        },
    )
    # An earlier case of the team, opened by hand: the rule's case is the team's second,
    # so it goes to the next member.
    loop.api(
        "POST",
        "/api/v1/cases",
        admin,
        json={"response_id": org.response_id, "team_id": team["id"]},
    )
    response_id = loop.submit(org.survey_id, score=1, comment=comment, contact_id=contact_id)
    loop.worker().drain()
    with loop.db() as session:
        case_id = session.scalar(
            select(FollowUpCase.id).where(FollowUpCase.response_id == response_id)
        )
    assert case_id is not None
    return OneStar(
        contact_id=contact_id,
        response_id=response_id,
        rule_id=rule["id"],
        team_id=team["id"],
        case_id=case_id,
        first_member=first,
        second_member=second,
        hooks_endpoint_id=hooks["id"],
        slack_endpoint_id=slack["id"],
    )


PERIODIC = (alert_runner.KIND, retention.KIND, cases.RECOVERY_KIND)


def _state_of_the_loop(session: Session) -> dict[str, int]:
    return {
        "cases": _count(session, FollowUpCase),
        "matches": _count(session, RuleMatch),
        "deliveries": _count(session, WebhookDelivery),
        "undelivered": _count(session, WebhookDelivery, WebhookDelivery.state != "delivered"),
        # The periodic scans (alerts hourly, retention, recoveries) may queue their next
        # round; the rest of the outbox must not move.
        "outbox": _count(session, OutboxItem, OutboxItem.kind.not_in(PERIODIC)),
    }


def test_a_one_star_answer_runs_its_rule_once_end_to_end(loop: Loop) -> None:
    done = _one_star(loop)
    with loop.db() as session:
        (case,) = session.scalars(
            select(FollowUpCase).where(FollowUpCase.response_id == done.response_id)
        ).all()
        assert (case.rule_id, case.team_id, case.priority, case.state) == (
            done.rule_id,
            done.team_id,
            "high",
            "new",
        )
        assert case.contact_id == done.contact_id
        # Round-robin: the team's first case went to its first member, this one to the next.
        earlier = session.scalar(
            select(FollowUpCase.assignee_user_id).where(
                FollowUpCase.response_id == loop.org.response_id
            )
        )
        assert (earlier, case.assignee_user_id) == (done.first_member, done.second_member)
        # Due 8 business hours (the default SLA of "high") after it opened.
        calendar = business_hours.calendar_from(None)
        assert case.created_at is not None
        assert case.due_at == business_hours.add_business_hours(calendar, case.created_at, 8)
        assert response_tags.tags_of(session, loop.org.id, [done.response_id]) == {
            done.response_id: ["call-back"]
        }
        before = _state_of_the_loop(session)
    assert before["undelivered"] == 0

    # The standard endpoint: response.created and case.created, both signed and verified.
    # Three events: the hand-made case's case.created too, delivered concurrently, so in
    # any order: the rule's case is told apart by its id.
    received = loop.hooks.wait_for(3)
    assert loop.hooks.rejected == []
    by_type = {
        item.json()["type"]: item
        for item in received
        if item.json()["type"] == "response.created"
        or item.json()["data"]["case"]["id"] == done.case_id
    }
    assert sorted(by_type) == ["case.created", "response.created"]
    response_event = by_type["response.created"]
    assert response_event.event_id == f"response-{done.response_id}-created"
    answer = response_event.json()["data"]
    assert answer["id"] == done.response_id
    assert (answer["score"], answer["band"], answer["contact_id"]) == (
        1.0,
        "bottom",
        done.contact_id,
    )
    assert answer["matched_rule_ids"] == [done.rule_id]
    assert answer["tags"] == ["call-back"]
    opened = by_type["case.created"].json()["data"]["case"]
    assert (opened["id"], opened["rule_id"], opened["assignee_user_id"]) == (
        done.case_id,
        done.rule_id,
        done.second_member,
    )
    # The hand-made case before it went to the standard endpoint too, with its own id.
    assert len([i for i in loop.hooks.received if i.json()["type"] == "case.created"]) == 2

    # The Slack endpoint: one message, readable, with a button to the answer.
    (message,) = loop.slack.wait_for(1)
    slack = message.json()
    assert set(slack) == {"text", "blocks"}
    assert "webhook-signature" not in message.headers
    assert slack["blocks"][0]["type"] == "header"

    # The worker again, now and an hour later: nothing new anywhere.
    arrived = (len(loop.hooks.received), len(loop.slack.received), len(loop.smtp.received))
    loop.worker().drain()
    loop.clock.offset += timedelta(hours=1)
    loop.worker().drain()
    with loop.db() as session:
        assert _state_of_the_loop(session) == before
        assert response_tags.tags_of(session, loop.org.id, [done.response_id]) == {
            done.response_id: ["call-back"]
        }
    assert (len(loop.hooks.received), len(loop.slack.received), len(loop.smtp.received)) == (
        arrived
    )


CODE = re.compile(r"\b[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}\b")


def test_a_promoter_gets_one_referral_code_that_redeems_once(loop: Loop) -> None:
    org = loop.org
    with loop.db.begin() as session:
        nps = surveys.create_survey(
            session, org.id, slug="shop-nps", name="Shop NPS", metric="nps", status="active"
        ).id
        fan = contacts.create_contact(session, org.id, email="fay@customer.example").id
        critic = contacts.create_contact(session, org.id, email="carl@customer.example").id
    # Every answer matches: the customer emails still go to promoters only.
    rule = loop.api(
        "POST",
        "/api/v1/rules",
        loop.admin(),
        json={"name": "Referral codes", "survey_id": nps, "actions": {"referral_code": True}},
    )
    promoter = loop.submit(nps, score=10, contact_id=fan)
    detractor = loop.submit(nps, score=2, contact_id=critic, comment="Never again, too slow")
    loop.worker().drain()

    (mail,) = loop.smtp.wait_for(1)
    assert mail.recipients == ["fay@customer.example"]
    plain, html = email_parts(mail.parsed())
    codes = set(CODE.findall(plain))
    assert len(codes) == 1, plain
    (code,) = codes
    assert code in html
    with loop.db() as session:
        stored = session.scalars(select(ReferralCode)).all()
        assert [(c.code, c.response_id) for c in stored] == [(code, promoter)]
        matched = session.scalars(
            select(RuleMatch.response_id).where(RuleMatch.rule_id == rule["id"])
        )
        assert sorted(matched) == sorted([promoter, detractor])

    redeem = f"/api/v1/referral-codes/{code}/redeem"
    key = bearer(org.write_key)
    first = loop.client.post(redeem, headers=key, json={"reference": "order-10422"})
    assert first.status_code == 200, first.text
    assert (first.json()["response_id"], first.json()["contact_id"]) == (promoter, fan)
    again = loop.client.post(redeem, headers=key, json={"reference": "order-10423"})
    assert again.status_code == 409, again.text
    typed = code.lower().replace("-", "")
    assert (
        loop.client.post(
            f"/api/v1/referral-codes/{typed}/redeem", headers=key, json={"reference": "x"}
        ).status_code
        == 409
    )

    # Nothing more for anybody, however often the worker runs.
    loop.clock.offset += timedelta(hours=1)
    loop.worker().drain()
    assert [m.recipients for m in loop.smtp.received] == [["fay@customer.example"]]


def test_a_receiver_down_gets_every_event_with_its_id_once_back(loop: Loop) -> None:
    endpoint = loop.api(
        "POST",
        "/api/v1/webhook-endpoints",
        loop.admin(),
        json={"url": loop.hooks.url, "events": ["response.created"]},
    )
    loop.hooks.secrets = [endpoint["secret"]]
    loop.hooks.stop()
    answers = [
        loop.submit(loop.org.survey_id, score=1 + n % 5, comment=f"answer number {n}")
        for n in range(20)
    ]
    expected = {f"response-{n}-created" for n in answers}
    worker = loop.worker()
    worker.drain()

    def deliveries() -> dict[int, tuple[str, str, int]]:
        with loop.db() as session:
            rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
            return {r.id: (r.event_id, r.state, r.attempts) for r in rows}

    down = deliveries()
    assert {event_id for event_id, _, _ in down.values()} == expected
    assert {(state, attempts) for _, state, attempts in down.values()} == {("failed", 1)}

    # Back, but answering 503 to the first few: they fail once more.
    loop.hooks.start()
    loop.hooks.answer_next(5, 503)
    loop.clock.offset += timedelta(minutes=10)
    worker.drain()
    with loop.db() as session:
        answered = session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.last_status == 503)
        ).all()
    assert len(answered) == 5
    # Then every delivery, however many attempts a busy machine needed (each attempt that
    # failed is retried after its backoff: the clock moves past it).
    for _ in range(5):
        loop.clock.offset += timedelta(minutes=30)
        worker.drain()
        if {state for _, state, _ in deliveries().values()} == {"delivered"}:
            break

    after = deliveries()
    assert {state for _, state, _ in after.values()} == {"delivered"}, after
    # Each delivery kept its event id through every attempt.
    assert {d: event_id for d, (event_id, _, _) in after.items()} == {
        d: event_id for d, (event_id, _, _) in down.items()
    }
    assert all(after[d][2] >= 3 for d in answered)
    assert all(attempts >= 2 for _, _, attempts in after.values())
    assert set(loop.hooks.event_ids()) == expected  # every event at least once
    assert loop.hooks.rejected == []
    for item in loop.hooks.received:
        assert item.event_id == f"response-{item.json()['data']['id']}-created"


def _erase(loop: Loop, contact_id: int) -> None:
    erased = loop.client.post(
        f"/api/v1/contacts/{contact_id}/erase",
        headers=loop.admin(),
        json={"mode": "anonymise", "confirm": EMAIL},
    )
    assert erased.status_code == 200, erased.text


def test_erasing_the_contact_leaves_no_trace_in_payloads(loop: Loop) -> None:
    """The comment holds the customer's address: the events quote it redacted ("Write to
    me at [email]"), and the erasure must find that form too."""
    done = _one_star(loop)
    with loop.db() as session:
        # Before: the answer's comment is quoted by the deliveries (and the email in it).
        assert places_holding(session, [FRAGMENT]) != []
    _erase(loop, done.contact_id)
    with loop.db() as session:
        assert places_holding(session, [EMAIL, COMMENT, FRAGMENT, "Ann Lee", "cust-4471"]) == []
        # The delivery log keeps its rows, without the data.
        assert _count(session, WebhookDelivery) == 4


def test_erasing_a_contact_whose_comment_has_nothing_redacted(loop: Loop) -> None:
    """The same loop with a comment that redaction leaves as it is: every quote of it is
    found and emptied."""
    plain = "The parcel came two weeks late and nobody answered my messages."
    done = _one_star(loop, plain)
    with loop.db() as session:
        assert places_holding(session, [FRAGMENT]) != []
    _erase(loop, done.contact_id)
    with loop.db() as session:
        assert places_holding(session, [EMAIL, plain, FRAGMENT, "Ann Lee", "cust-4471"]) == []
        assert _count(session, WebhookDelivery) == 4


def test_a_resurvey_answered_through_its_email_counts_as_a_recovery(loop: Loop) -> None:
    done = _one_star(loop)
    # The assignee closes it.
    role = next(r for r, user_id in loop.org.users.items() if user_id == done.second_member)
    agent = loop.as_user(role)
    closed = loop.api(
        "PATCH",
        f"/api/v1/cases/{done.case_id}",
        agent,
        json={"state": "resolved", "resolution_reason": "Refunded the shipping", "resurvey": True},
    )
    assert closed["state"] == "resolved"
    invitation_id = closed["resurvey_invitation_id"]
    assert invitation_id is not None
    sent_before = len(loop.smtp.received)
    loop.worker().drain()

    (mail,) = loop.smtp.wait_for(sent_before + 1)[sent_before:]
    assert mail.recipients == [EMAIL]
    _, html = email_parts(mail.parsed())
    path = answer_path(html)
    page = loop.client.get(path, params={"score": "5"})
    assert page.status_code == 200, page.text
    answered = loop.client.post(
        path,
        data={"form_token": form_token(page.text), "score": "5", "lang": "en"},
        headers={"Accept": "application/json"},
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "recorded"

    loop.worker().drain()  # a worker's minute: the sweep of answered re-surveys
    with loop.db() as session:
        case = session.get(FollowUpCase, done.case_id)
        assert case is not None
        assert case.recovery_score == 5.0
        assert case.resurvey_invitation_id == invitation_id
    recovered = [
        item.json()["data"]
        for item in loop.hooks.received
        if item.json()["type"] == "case.updated"
        and "recovery_score" in item.json()["data"]["changes"]
    ]
    assert [r["case"]["recovery_score"] for r in recovered] == [5.0]

    figures = loop.api(
        "GET",
        f"/api/v1/surveys/{loop.org.survey_id}/loop-figures",
        bearer(loop.org.read_key),
    )
    recovery = figures["recovery_rate"]
    assert (recovery["part"], recovery["n"]) == (1, 1)
    closed_loop = figures["closed_loop_rate"]
    assert (closed_loop["part"], closed_loop["n"]) == (1, 1)
