"""Erasing a contact: anonymised answers keep their scores (the rollups do not move) and
nothing that names the person is left in any text column of any table; deleted answers
leave the rollups equal to a recount; another person's records are untouched."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store import comment_rollups, contacts, rollups
from cxpulse.store.contact_erasure import (
    ANONYMOUS_CASE_TITLE,
    contact_needles,
    erase_contact,
    identifying_property,
    kept_properties,
    known_values,
    name_words,
)
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import (
    AnalysedComment,
    CaseEvent,
    Contact,
    FollowUpCase,
    Invitation,
    Organisation,
    OutboxItem,
    ReferralCode,
    Response,
    ResponseTag,
    Survey,
    WebhookDelivery,
    WebhookEndpoint,
)

from .privacy_support import Person, build_person, places_holding, rollups_match


@pytest.fixture
def people(session: Session, org: Organisation, survey: Survey) -> tuple[Person, Person]:
    return build_person(session, org.id, survey.id, "anna"), build_person(
        session, org.id, survey.id, "bert"
    )


def _scores(session: Session, organisation_id: int) -> list[tuple[float, str | None]]:
    rows = session.execute(
        select(Response.score, Response.channel).where(Response.organisation_id == organisation_id)
    )
    return sorted((float(score), channel) for score, channel in rows)


def test_anonymising_keeps_the_scores_and_leaves_no_trace(
    session: Session, org: Organisation, survey: Survey, people: tuple[Person, Person]
) -> None:
    anna, bert = people
    scores_before = _scores(session, org.id)
    daily_before = rollups.stored(session, org.id)

    counts = erase_contact(session, org.id, anna.contact_id, "anonymise", keep_opt_outs=False)

    assert counts.responses_anonymised == 3
    assert counts.cases_anonymised == 1
    assert counts.invitations_deleted == 2
    assert counts.emails_deleted == 4
    assert counts.inbound_events_deleted == 1
    assert counts.opt_outs_deleted == 2
    assert counts.payloads_emptied == 1
    assert _scores(session, org.id) == scores_before
    assert rollups.stored(session, org.id) == daily_before
    rollups_match(session, org.id)
    kept = session.execute(
        select(Response.contact_id, Response.comment, Response.properties).where(
            Response.id.in_(anna.response_ids)
        )
    ).all()
    assert [tuple(row) for row in kept] == [
        (None, None, {"product": "Shoes", "region": "Skåne"})
    ] * 3
    assert not session.scalars(
        select(AnalysedComment).where(AnalysedComment.response_id.in_(anna.response_ids))
    ).all()
    # The tag stays: it names no one and keeps the answer countable as unhappy.
    assert session.scalar(select(func.count()).select_from(ResponseTag)) == 2
    case = session.get(FollowUpCase, anna.case_id, populate_existing=True)
    assert case is not None
    assert (case.title, case.state, case.contact_id, case.resolution_reason) == (
        ANONYMOUS_CASE_TITLE, "resolved", None, None,
    )  # fmt: skip
    bodies = session.scalars(select(CaseEvent.body).where(CaseEvent.case_id == anna.case_id))
    assert list(bodies) == [None, None]
    code = session.scalar(select(ReferralCode).where(ReferralCode.code == anna.code))
    assert code is not None
    assert code.contact_id is None
    assert code.redeemed_reference is None
    assert session.get(Contact, anna.contact_id) is None

    assert places_holding(session, anna.secrets()) == []
    replies = session.scalars(select(OutboxItem.payload).where(OutboxItem.kind == "case-reply"))
    assert [payload["case_id"] for payload in replies] == [bert.case_id]
    # The other person is whole.
    assert len(places_holding(session, [bert.email])) > 3
    assert (
        session.scalar(
            select(func.count())
            .select_from(AnalysedComment)
            .where(AnalysedComment.response_id.in_(bert.response_ids))
        )
        == 3
    )


def test_opt_outs_are_kept_unless_asked(
    session: Session, org: Organisation, survey: Survey, people: tuple[Person, Person]
) -> None:
    anna, _ = people
    erase_contact(session, org.id, anna.contact_id, "anonymise")
    assert places_holding(session, anna.secrets()) == [
        f"sms_opt_outs.phone: {anna.phone}",
        f"unsubscribes.email: {anna.email}",
    ]


def test_deleting_removes_the_answers_and_updates_the_rollups(
    session: Session, org: Organisation, survey: Survey, people: tuple[Person, Person]
) -> None:
    anna, bert = people
    answers_before = sum(rollups.stored(session, org.id).values())
    comments_before = sum(comment_rollups.stored(session, org.id)[0].values())

    counts = erase_contact(session, org.id, anna.contact_id, "delete", keep_opt_outs=False)

    assert (counts.responses_deleted, counts.cases_deleted, counts.referral_codes_deleted) == (
        3, 1, 1,
    )  # fmt: skip
    assert sum(rollups.stored(session, org.id).values()) == answers_before - 3
    assert sum(comment_rollups.stored(session, org.id)[0].values()) == comments_before - 3
    rollups_match(session, org.id)
    assert (
        session.scalars(select(Response.id).where(Response.id.in_(anna.response_ids))).all() == []
    )
    assert session.get(FollowUpCase, anna.case_id) is None
    assert (
        session.scalars(select(Invitation.id).where(Invitation.contact_id == anna.contact_id)).all()
        == []
    )
    assert places_holding(session, anna.secrets()) == []
    assert (
        session.scalar(
            select(func.count()).select_from(Response).where(Response.contact_id == bert.contact_id)
        )
        == 3
    )
    bert_emails = session.scalar(
        select(func.count())
        .select_from(OutboxItem)
        .where(OutboxItem.dedupe_key.like("invitation:%"))
    )
    assert bert_emails == 2


def test_erasing_twice_finds_nobody_the_second_time(
    session: Session, org: Organisation, survey: Survey, people: tuple[Person, Person]
) -> None:
    anna, _ = people
    erase_contact(session, org.id, anna.contact_id, "anonymise")
    daily = rollups.stored(session, org.id)
    with pytest.raises(NotFound):
        erase_contact(session, org.id, anna.contact_id, "anonymise")
    assert rollups.stored(session, org.id) == daily


def test_another_organisation_cannot_erase(
    session: Session,
    org: Organisation,
    other_org: Organisation,
    survey: Survey,
    people: tuple[Person, Person],
) -> None:
    anna, _ = people
    with pytest.raises(NotFound):
        erase_contact(session, other_org.id, anna.contact_id, "delete")
    assert session.get(Contact, anna.contact_id) is not None


def test_an_unknown_mode_is_refused(
    session: Session, org: Organisation, survey: Survey, people: tuple[Person, Person]
) -> None:
    anna, _ = people
    with pytest.raises(Invalid) as refused:
        erase_contact(session, org.id, anna.contact_id, "forget")
    assert refused.value.field == "mode"


@pytest.mark.parametrize(
    ("name", "value", "identifying"),
    [
        ("order_id", "1234", True),
        ("orderId", "1234", True),
        ("Ticket #", "88", True),
        ("customer_e-mail", "x", True),
        ("klantnummer", "77", True),
        ("note", "mail me at a@b.se", True),
        ("note", "call +46 70 123 45 67", True),
        ("note", "Anna Lindqvist", True),
        ("product", "Shoes", False),
        ("region", "Skåne", False),
        ("agent", "Sam", False),
        ("plan", "pro", False),
        ("order_count_bucket_size", "3", True),
        ("team", "billing", False),
    ],
)
def test_which_properties_identify(name: str, value: str, identifying: bool) -> None:
    known = known_values("a@b.se", "Anna Lindqvist", None)
    assert identifying_property(name, value, known) is identifying


def test_name_words_and_kept_properties() -> None:
    assert name_words("customerEmailAddress") == ["customer", "email", "address"]
    assert name_words("ORDER_ID") == ["order", "id"]
    assert kept_properties({"product": "x", "phone": "y"}) == {"product": "x"}


def test_what_a_payload_quoting_the_contact_holds() -> None:
    needles = contact_needles("ann@x.se", "+46701234567", "123", "Ann", ["too short", "ok"])
    assert "ann@x.se" in needles
    assert "+46701234567" in needles
    assert "too short" in needles
    assert "ok" not in needles
    assert '"123"' in needles
    assert "123" not in needles
    assert '"Ann"' in needles
    assert "Ann" not in needles
    long = contact_needles(None, None, None, "Åsa Öberg", [])
    assert long == {"Åsa Öberg", "\\u00c5sa \\u00d6berg"}


def test_payloads_of_others_are_left_alone(
    session: Session, org: Organisation, survey: Survey
) -> None:
    lone = contacts.create_contact(session, org.id, email="ann@x.se", name="Ann", external_id="12")
    hook = WebhookEndpoint(organisation_id=org.id, url="https://h.example/", secret="whsec_y")
    session.add(hook)
    session.flush()
    payloads = {
        "theirs": {"contact": {"email": "ann@x.se"}},
        "by name": {"contact": {"name": "Ann", "id": 5}},
        "announcement": {"text": "Announcement 12 of 120", "id": 12},
    }
    for key, payload in payloads.items():
        session.add(
            WebhookDelivery(
                organisation_id=org.id,
                endpoint_id=hook.id,
                event_id=key,
                event_type="response.created",
                payload=payload,
            )
        )
    session.flush()
    counts = erase_contact(session, org.id, lone.id, "anonymise")
    assert counts.payloads_emptied == 2
    rows = session.execute(select(WebhookDelivery.event_id, WebhookDelivery.payload))
    left: dict[str, Any] = {event_id: payload for event_id, payload in rows}
    assert left == {
        "theirs": {"erased": True},
        "by name": {"erased": True},
        "announcement": payloads["announcement"],
    }
