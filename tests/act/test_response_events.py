"""The rules run when answers arrive (``act.response_events``), on SQLite and PostgreSQL,
through the real worker and a real SMTP server: every door's new answer queues one
``response-event``; its matching rules are recorded once and their actions run (tags,
notices to users, a promoter's referral code and review link, a passive's question), never
twice on a retry; customer emails respect unsubscribes and a refused contact; a theme rule
waits for the comment's analysis, then for at most ten minutes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from tests.act.conftest import Clock
from tests.smtp_server import SmtpTestServer

from cxpulse.act import response_events, rules
from cxpulse.act.jobs import JobRegistry
from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.act.rule_actions import parse_actions
from cxpulse.act.rule_conditions import InvalidRule
from cxpulse.act.tasks import TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.store import contacts, outbox, response_tags, responses, surveys
from cxpulse.store.invitations import add_unsubscribe
from cxpulse.store.models import (
    FollowUpCase,
    Organisation,
    OutboxItem,
    ReferralCode,
    Rule,
    RuleMatch,
    Survey,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from cxpulse.store.response_checks import NewResponse
from cxpulse.store.response_events import KIND


@pytest.fixture
def nps(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    with sessions.begin() as session:
        return surveys.create_survey(
            session,
            org.id,
            slug="shop-nps",
            name="Shop NPS",
            metric="nps",
            status="active",
            collect_options={"review_url": "https://reviews.example/acme"},
        )


@pytest.fixture
def rule_worker(engine: Engine, server: SmtpTestServer, clock: Clock) -> Iterator[OutboxWorker]:
    tasks, jobs = TaskRegistry(), JobRegistry()
    response_events.register(tasks, jobs)
    made = OutboxWorker(
        engine,
        server.settings(),
        LinkSigner("test-key"),
        clock=clock,
        jobs=jobs,
        tasks=tasks,
        analyse_comments=False,
    )
    yield made
    made.connection.close()


def _contact(session: Session, org: Organisation, email: str, **fields: object) -> int:
    return contacts.create_contact(session, org.id, email=email, **fields).id  # type: ignore[arg-type]


def _drain(worker: OutboxWorker, rounds: int = 5) -> None:
    for _ in range(rounds):
        worker.run_once()


def _endpoint(
    session: Session, org: Organisation, url: str, format: str, types: list[str] | None
) -> WebhookEndpoint:
    """A webhook endpoint of ``org`` taking ``types`` (None: no event of its own)."""
    endpoint = WebhookEndpoint(
        organisation_id=org.id,
        url=url,
        format=format,
        events={"types": types} if types is not None else {},
        secret="whsec_dGVzdA==",
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def _endpoint_and_tag_rule(
    session: Session, org: Organisation, event_type: str
) -> tuple[WebhookEndpoint, Rule]:
    """An endpoint taking ``event_type`` and a rule tagging detractors ``call-back``."""
    endpoint = _endpoint(session, org, "https://hooks.example/cx", "standard", [event_type])
    rule = rules.create_rule(
        session,
        org.id,
        name="Detractors",
        conditions={"band": "detractor"},
        actions={"tag": ["call-back"]},
    )
    return endpoint, rule


def test_every_new_answer_queues_one_event_and_a_repeat_none(
    sessions: sessionmaker[Session], org: Organisation, nps: Survey
) -> None:
    with sessions.begin() as session:
        (first, _created), _ = responses.add_responses(
            session,
            org.id,
            [
                NewResponse(survey_id=nps.id, score=3, idempotency_key="a"),
                NewResponse(survey_id=nps.id, score=9),
            ],
        )
        responses.add_responses(
            session, org.id, [NewResponse(survey_id=nps.id, score=3, idempotency_key="a")]
        )
        _one, _ = responses.add_response(session, org.id, nps.id, 7, source="email")
        each = responses.add_each(session, [(org.id, NewResponse(survey_id=nps.id, score=10))])
        responses.import_responses(session, org.id, [NewResponse(survey_id=nps.id, score=1)])
    with sessions() as session:
        keys = session.scalars(select(OutboxItem.dedupe_key).where(OutboxItem.kind == KIND))
        assert len(list(keys)) == 4  # not the repeat, not the import
        stored = session.scalars(
            select(OutboxItem.payload).where(
                OutboxItem.dedupe_key.startswith(f"{KIND}:{first.id}:")
            )
        ).all()
        assert stored == [{"response_id": first.id}]
    result = each[0]
    assert isinstance(result, tuple)


def test_rules_run_once_with_their_actions(
    sessions: sessionmaker[Session],
    org: Organisation,
    nps: Survey,
    rule_worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    with sessions.begin() as session:
        user = User(
            organisation_id=org.id,
            email="lead@acme.example",
            name="Lea",
            role="admin",
            password_hash="h",
        )
        session.add(user)
        branded = session.get(Organisation, org.id)
        assert branded is not None
        branded.sender_name, branded.reply_to = "Acme Care", "care@acme.example"
        branded.accent_colour = "#7a2e8c"
        session.flush()
        vip = _contact(session, org, "vip@customer.example", attributes={"vip": "Yes"})
        fan = _contact(session, org, "fan@customer.example", name="Fay", locale="sv")
        meh = _contact(session, org, "meh@customer.example")
        rules.create_rule(
            session,
            org.id,
            name="VIP detractors",
            conditions={"band": "detractor", "segments": {"contact:vip": "yes"}},
            actions={
                "tag": ["vip-detractor"],
                "email": {"user_ids": [user.id], "addresses": ["ops@acme.example"]},
            },
        )
        rules.create_rule(
            session,
            org.id,
            name="Promoters",
            survey_id=nps.id,
            conditions={"band": "promoter"},
            actions={"review_request": True, "referral_code": True},
        )
        rules.create_rule(
            session,
            org.id,
            name="Passives",
            conditions={"band": ["passive", "detractor"]},
            actions={"passive_question": True},
        )
        stored = responses.add_responses(
            session,
            org.id,
            [
                NewResponse(
                    survey_id=nps.id, score=2, contact_id=vip, comment="Call me 0701234567"
                ),
                NewResponse(survey_id=nps.id, score=10, contact_id=fan, language="sv"),
                NewResponse(survey_id=nps.id, score=8, contact_id=meh, invitation_id=4242),
            ],
        )
    detractor, promoter, _passive = (r.id for r, _ in stored)
    _drain(rule_worker)
    messages = {m["To"].addresses[0].addr_spec: m for m in server.messages}
    assert set(messages) == {
        "lead@acme.example",
        "ops@acme.example",
        "fan@customer.example",
        "meh@customer.example",
    }
    notice = messages["lead@acme.example"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "VIP detractors" in notice
    assert "0701234567" not in notice
    with sessions() as session:
        code = session.scalar(select(ReferralCode.code).where(ReferralCode.response_id == promoter))
        assert code is not None
        assert response_tags.tags_of(session, org.id, [detractor]) == {detractor: ["vip-detractor"]}
        assert session.scalar(select(func.count()).select_from(RuleMatch)) == 4
    promoter_mail = messages["fan@customer.example"]
    body = promoter_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert code in body
    assert "https://reviews.example/acme" in body
    assert "Skriv ett omdöme" in body  # the survey page's words, in the answer's language
    assert promoter_mail["Content-Language"] == "sv"
    # The organisation's sender, reply-to and accent colour, as on its invitations.
    assert promoter_mail["From"].addresses[0].display_name == "Acme Care"
    assert str(promoter_mail["Reply-To"]) == "care@acme.example"
    html = promoter_mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "#7a2e8c" in html
    passive_body = messages["meh@customer.example"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "What would make it a 10?" in passive_body
    # Answered through an invitation: the invitation's own unsubscribe link, one click.
    leave = messages["meh@customer.example"]["List-Unsubscribe"]
    assert leave.startswith("<https://cx.example/u/")
    target = LinkSigner("test-key").verify(leave[len("<https://cx.example/u/") : -1], "unsubscribe")
    assert target.invitation_id == 4242
    assert leave[1:-1] in passive_body
    assert promoter_mail["List-Unsubscribe"] is None  # no invitation: nothing to sign
    # The detractor matched the passive rule, and got no passive email: never to detractors.
    with sessions() as session:
        outcome = session.scalar(
            select(RuleMatch.outcome)
            .where(RuleMatch.response_id == detractor)
            .order_by(RuleMatch.id.desc())
        )
    assert outcome == {"passive_email": "skipped: not a passive"}

    # The same items run again (a worker died before recording them): nothing twice.
    with sessions.begin() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.kind == KIND)
            .values(state="pending", locked_until=None)
        )
    _drain(rule_worker)
    assert len(server.messages) == 4
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(RuleMatch)) == 4
        assert session.scalar(select(func.count()).select_from(ReferralCode)) == 1


def test_customer_emails_respect_unsubscribes_and_refused_contact(
    sessions: sessionmaker[Session],
    org: Organisation,
    nps: Survey,
    rule_worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    with sessions.begin() as session:
        gone = _contact(session, org, "gone@customer.example")
        add_unsubscribe(session, org.id, "gone@customer.example", "link")
        shy = _contact(session, org, "shy@customer.example")
        rules.create_rule(session, org.id, name="Passives", actions={"passive_question": True})
        rules.create_rule(session, org.id, name="Promoters", actions={"referral_code": True})
        (_unsubscribed, _), (refused, _) = responses.add_responses(
            session,
            org.id,
            [
                NewResponse(survey_id=nps.id, score=7, contact_id=gone),
                NewResponse(survey_id=nps.id, score=9, contact_id=shy),
            ],
        )
        responses.update_response(session, org.id, refused.id, contact_consent=False)
    _drain(rule_worker)
    assert server.messages == []
    with sessions() as session:
        values = list(session.scalars(select(RuleMatch.outcome)))
        assert session.scalar(select(func.count()).select_from(ReferralCode)) == 0
    assert {"passive_email": "skipped: unsubscribed"} in values
    assert {"promoter_email": "skipped: declined to be contacted"} in values
    assert {"passive_email": "skipped: not a passive"} in values


def test_a_theme_rule_waits_for_the_analysis_then_at_most_ten_minutes(
    sessions: sessionmaker[Session],
    org: Organisation,
    nps: Survey,
    rule_worker: OutboxWorker,
    clock: Clock,
) -> None:
    from cxpulse.act.comment_pipeline import ensure_starter_taxonomy

    with sessions.begin() as session:
        ensure_starter_taxonomy(session, org.id)
        theme = rules.create_rule(
            session,
            org.id,
            name="Delivery trouble",
            conditions={"theme": "delivery"},
            actions={"tag": ["delivery"]},
        )
        unhappy = rules.create_rule(
            session,
            org.id,
            name="Unhappy",
            conditions={"band": "detractor"},
            actions={"tag": ["unhappy"]},
        )
        ((answer, _),) = responses.add_responses(
            session,
            org.id,
            [NewResponse(survey_id=nps.id, score=2, comment="The parcel arrived two weeks late")],
        )
    rule_worker.run_once()
    with sessions() as session:
        matched = set(session.scalars(select(RuleMatch.rule_id)))
        item = session.scalar(select(OutboxItem).where(OutboxItem.kind == KIND))
        assert item is not None
        state, error = item.state, item.last_error
    assert matched == {unhappy.id}  # the other rules do not wait
    assert (state, error) == ("pending", "waiting for the comment's analysis")
    clock.offset = timedelta(minutes=11)
    rule_worker.run_once()
    with sessions() as session:
        matched = set(session.scalars(select(RuleMatch.rule_id)))
        done = session.scalar(select(OutboxItem.state).where(OutboxItem.kind == KIND))
    # Unanalysed after ten minutes: decided on what is known (no theme), and done.
    assert matched == {unhappy.id}
    assert done == "sent"
    assert theme.id not in matched
    del answer


def test_a_theme_rule_matches_once_the_comment_is_analysed(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    nps: Survey,
    server: SmtpTestServer,
) -> None:
    from cxpulse.act.comment_pipeline import ensure_starter_taxonomy

    tasks, jobs = TaskRegistry(), JobRegistry()
    response_events.register(tasks, jobs)
    worker = OutboxWorker(
        engine, server.settings(), LinkSigner("k"), jobs=jobs, tasks=tasks, analyse_comments=True
    )
    with sessions.begin() as session:
        ensure_starter_taxonomy(session, org.id)
        rule = rules.create_rule(
            session,
            org.id,
            name="Delivery trouble",
            conditions={"theme": "delivery", "sentiment": "negative"},
            actions={"tag": ["delivery"]},
        )
        ((answer, _),) = responses.add_responses(
            session,
            org.id,
            [NewResponse(survey_id=nps.id, score=2, comment="The delivery was late again")],
        )
    try:
        for _ in range(3):
            worker.run_once()
    finally:
        worker.connection.close()
    with sessions() as session:
        assert set(session.scalars(select(RuleMatch.rule_id))) == {rule.id}
        assert response_tags.tags_of(session, org.id, [answer.id]) == {answer.id: ["delivery"]}


def test_a_deleted_answer_is_done(
    sessions: sessionmaker[Session], org: Organisation, nps: Survey, rule_worker: OutboxWorker
) -> None:
    with sessions.begin() as session:
        ((answer, _),) = responses.add_responses(
            session, org.id, [NewResponse(survey_id=nps.id, score=2)]
        )
        responses.delete_response(session, org.id, answer.id)
    rule_worker.run_once()
    with sessions() as session:
        assert outbox.count_by_state(session, org.id) == {"sent": 1}


def test_a_rule_opens_a_case_and_notifies_an_endpoint_once(
    sessions: sessionmaker[Session],
    org: Organisation,
    nps: Survey,
    rule_worker: OutboxWorker,
) -> None:
    with sessions.begin() as session:
        endpoint = _endpoint(
            session, org, "https://hooks.slack.example/services/T0/B0/x", "slack", None
        )
        rule = rules.create_rule(
            session,
            org.id,
            name="Detractors " + "x" * 189,
            conditions={"band": "detractor"},
            actions={"case": {"priority": "urgent"}, "notify": {"endpoint_ids": [endpoint.id]}},
        )
        ((answer, _),) = responses.add_responses(
            session,
            org.id,
            [NewResponse(survey_id=nps.id, score=0, comment="Mail me: a@b.example")],
        )
    for _ in range(2):
        rule_worker.run_once()
        with sessions.begin() as session:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.kind == KIND)
                .values(state="pending", locked_until=None)
            )
    rule_worker.run_once()
    with sessions() as session:
        [case] = session.scalars(select(FollowUpCase)).all()
        assert (case.response_id, case.rule_id, case.priority) == (answer.id, rule.id, "urgent")
        assert len(case.title) <= 300
        notes = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        ).all()
        outcome = session.scalar(select(RuleMatch.outcome))
    by_type: dict[str, list[WebhookDelivery]] = {}
    for delivery in notes:
        by_type.setdefault(delivery.event_type, []).append(delivery)
    # Three rounds of the same item: each event once, the rule's notification and the
    # answer's response.created with the ids receivers deduplicate on.
    assert [d.event_id for d in by_type["notification"]] == [
        f"rule-{rule.id}-resp-{answer.id}-ep-{endpoint.id}"
    ]
    assert [d.event_id for d in by_type["response.created"]] == [f"response-{answer.id}-created"]
    assert len(by_type["case.created"]) == 1
    for delivery in notes:
        assert "a@b.example" not in str(delivery.payload)
    assert outcome == {"case_id": case.id, "notified": [endpoint.id]}


def test_a_changed_answer_sends_response_updated_once_per_change(
    sessions: sessionmaker[Session], org: Organisation, nps: Survey, rule_worker: OutboxWorker
) -> None:
    with sessions.begin() as session:
        endpoint, rule = _endpoint_and_tag_rule(session, org, "response.updated")
        ((answer, _),) = responses.add_responses(
            session, org.id, [NewResponse(survey_id=nps.id, score=9)]
        )
    _drain(rule_worker)
    with sessions.begin() as session:
        # The customer changes their mind: now a detractor.
        responses.update_response(session, org.id, answer.id, score=2)
    _drain(rule_worker)
    # A retry of the same item changes nothing.
    with sessions.begin() as session:
        session.execute(update(OutboxItem).where(OutboxItem.kind == KIND).values(state="pending"))
    _drain(rule_worker)
    with sessions() as session:
        deliveries = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        ).all()
        tags = response_tags.tags_of(session, org.id, [answer.id])
        matches = session.scalars(select(RuleMatch).where(RuleMatch.rule_id == rule.id)).all()
    # Only the change is sent (the endpoint takes response.updated only), once, and the
    # rule that the change made true ran on it.
    assert [d.event_type for d in deliveries] == ["response.updated"]
    assert deliveries[0].event_id.startswith(f"response-{answer.id}-")
    assert deliveries[0].payload["type"] == "response.updated"
    assert deliveries[0].payload["data"]["score"] == 2
    assert tags == {answer.id: ["call-back"]}
    assert len(matches) == 1


def test_a_rule_texts_staff_once_and_refuses_a_bad_number(
    sessions: sessionmaker[Session], org: Organisation, nps: Survey, rule_worker: OutboxWorker
) -> None:
    with pytest.raises(InvalidRule) as refused:
        parse_actions({"sms": {"phones": ["+46701234567", "0701234567", 7]}})
    assert [p.field for p in refused.value.problems] == [
        "actions.sms.phones.1",
        "actions.sms.phones.2",
    ]
    with sessions.begin() as session:
        rule = rules.create_rule(
            session,
            org.id,
            name="Detractors",
            conditions={"band": "detractor"},
            actions={"sms": {"phones": ["+46 70 123 45 67"]}},
        )
        ((_answer, _),) = responses.add_responses(
            session, org.id, [NewResponse(survey_id=nps.id, score=1, comment="Call a@b.example")]
        )
    _drain(rule_worker)
    with sessions.begin() as session:
        session.execute(update(OutboxItem).where(OutboxItem.kind == KIND).values(state="pending"))
    _drain(rule_worker)
    with sessions() as session:
        texts = session.scalars(select(OutboxItem).where(OutboxItem.kind == "sms")).all()
        outcome = session.scalar(select(RuleMatch.outcome).where(RuleMatch.rule_id == rule.id))
    assert [t.payload["phone"] for t in texts] == ["+46701234567"]
    assert texts[0].payload["text"].startswith("Detractors: Shop NPS: score 1.")
    assert "a@b.example" not in texts[0].payload["text"]
    assert outcome == {"texted": 1}


def test_an_answer_whose_actions_fail_is_retried_alone(
    sessions: sessionmaker[Session],
    org: Organisation,
    nps: Survey,
    rule_worker: OutboxWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch is decided on a read, then written answer by answer: one answer's failure
    (injected: its actions raise) leaves the others' matches, tags and events committed, and
    its own retry later runs the rule once. Each event names every tag of its answer, those
    it had and those the rule just added."""
    with sessions.begin() as session:
        endpoint, rule = _endpoint_and_tag_rule(session, org, "response.created")
        stored = responses.add_responses(
            session, org.id, [NewResponse(survey_id=nps.id, score=s) for s in (1, 2, 3, 9)]
        )
        first, failing, third, promoter = (r.id for r, _ in stored)
        response_tags.add_tags(session, org.id, first, ["vip"])
    real = response_events.run_actions  # type: ignore[attr-defined]

    def relay_down(*args: object, **kwargs: object) -> object:
        answer = args[4]
        if getattr(answer, "id", None) == failing:
            raise RuntimeError("the relay is down")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(response_events, "run_actions", relay_down)
    rule_worker.run_once()

    def state() -> tuple[set[int], dict[int, dict[str, object]], dict[int, str]]:
        with sessions() as session:
            matched = set(session.scalars(select(RuleMatch.response_id)))
            events = {
                int(d.payload["data"]["id"]): d.payload["data"]
                for d in session.scalars(
                    select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                )
            }
            items = {
                int(i.payload["response_id"]): i.state
                for i in session.scalars(select(OutboxItem).where(OutboxItem.kind == KIND))
            }
        return matched, events, items

    matched, events, items = state()
    assert matched == {first, third}
    assert set(events) == {first, third, promoter}
    assert events[first]["tags"] == ["call-back", "vip"]
    assert events[first]["matched_rule_ids"] == [rule.id]
    assert events[promoter]["tags"] == []
    assert events[promoter]["matched_rule_ids"] == []
    assert items[failing] == "pending"
    assert items[first] == "sent"

    monkeypatch.undo()
    with sessions.begin() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.kind == KIND, OutboxItem.state == "pending")
            .values(available_at=OutboxItem.created_at, locked_until=None)
        )
    rule_worker.run_once()
    matched, events, items = state()
    assert matched == {first, failing, third}
    assert events[failing]["tags"] == ["call-back"]
    assert set(items.values()) == {"sent"}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 4
