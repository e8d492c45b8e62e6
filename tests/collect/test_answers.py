"""Answers from survey pages: parsing, storing, updating with rollups and audit, on both
databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import answers
from cxpulse.metrics import MetricSpec, Scale
from cxpulse.store import accounts, contacts, rollups, surveys
from cxpulse.store.models import AuditLog, Invitation, Response, Survey

NPS = MetricSpec.default("nps", Scale(0, 10))
REASONS = ("Slow", "Rude")


def _parse(**form: str | list[str]) -> answers.Answer:
    document = {k: v if isinstance(v, list) else [v] for k, v in form.items()}
    return answers.parse_answer(document, NPS, REASONS)


def test_parse_a_full_answer() -> None:
    answer = _parse(
        score="4", comment="  late\r\n\tagain ", reasons=["Slow", "Slow", "Rude"], reasons_shown="1"
    )
    assert answer == answers.Answer(4, "late\r\n\tagain", True, ("Slow", "Rude"), True)


@pytest.mark.parametrize(
    ("comment", "character", "position"),
    [("late \x00", "U+0000", 6), ("\x1b[31mred", "U+001B", 1), ("a\x0bb", "U+000B", 2)],
)
def test_a_comment_with_a_control_character_is_refused_saying_which(
    comment: str, character: str, position: int
) -> None:
    # The store's rule of text (store._values): the API and the widget refuse it too.
    with pytest.raises(answers.AnswerProblem) as caught:
        _parse(score="4", comment=comment)
    assert caught.value.field == "comment"
    assert caught.value.params == {"character": character, "position": position}
    assert str(caught.value) == (
        f"Your comment holds a character that cannot be stored ({character} at position "
        f"{position}). Please remove it and send again."
    )


def test_comment_absent_is_not_comment_empty() -> None:
    assert not _parse(score="9").comment_given
    blank = _parse(score="9", comment="   ")
    assert blank.comment_given
    assert blank.comment is None


@pytest.mark.parametrize("score", ["", "11", "-1", "4.0", "x", "1" * 20, "０"])
def test_scores_off_the_scale(score: str) -> None:
    with pytest.raises(answers.AnswerProblem) as caught:
        _parse(score=score)
    assert caught.value.field == "score"
    assert str(caught.value) == "Please choose an answer from 0 to 10."


def test_reasons_only_after_a_low_score_and_only_offered_ones() -> None:
    assert _parse(score="9", reasons="Slow").reasons == ()
    with pytest.raises(answers.AnswerProblem):
        _parse(score="2", reasons="Invented")


def test_comment_limit() -> None:
    assert _parse(score="1", comment="a" * 10_000).comment == "a" * 10_000
    with pytest.raises(answers.AnswerProblem) as caught:
        _parse(score="1", comment="a" * 10_001)
    assert caught.value.field == "comment"


def test_personal_answer_then_update_keeps_rollups(session: Session) -> None:
    org = accounts.create_organisation(session, slug="acme", name="Acme")
    survey = surveys.create_survey(
        session, org.id, slug="nps", name="NPS", metric="nps", status="active"
    )
    contact = contacts.create_contact(session, org.id, email="a@example.com")
    invitation = Invitation(
        organisation_id=org.id,
        survey_id=survey.id,
        contact_id=contact.id,
        properties={"agent": "li"},
    )
    session.add(invitation)
    session.flush()
    first = answers.record_personal(
        session,
        survey,
        invitation,
        _parse(score="2", reasons="Slow", reasons_shown="1"),
        language="sv",
    )
    assert first.created
    second = answers.record_personal(
        session, survey, invitation, _parse(score="8", comment="better"), language="en"
    )
    assert not second.created
    assert second.response_id == first.response_id
    stored = session.scalars(select(Response)).one()
    assert (stored.score, stored.comment, stored.language) == (8, "better", "en")
    assert stored.properties == {"agent": "li"}  # reasons go with the low score
    assert (stored.source, stored.invitation_id, stored.contact_id) == (
        "email",
        invitation.id,
        contact.id,
    )
    assert rollups.stored(session, survey_id=survey.id) == rollups.recount(
        session, survey_id=survey.id
    )
    entry = session.scalars(select(AuditLog)).one()
    assert entry.actor == f"invitation:{invitation.id}"
    assert entry.details == {
        "score": {"before": 2.0, "after": 8.0},
        "comment_changed": True,
        "reasons": {"before": "Slow", "after": None},
    }


def test_public_answers_are_one_per_form(session: Session) -> None:
    org = accounts.create_organisation(session, slug="acme", name="Acme")
    survey = surveys.create_survey(
        session, org.id, slug="nps", name="NPS", metric="nps", status="active"
    )
    a = answers.record_public(session, survey, _parse(score="5"), language="en", form_nonce="n1")
    again = answers.record_public(
        session, survey, _parse(score="6"), language="en", form_nonce="n1"
    )
    other = answers.record_public(
        session, survey, _parse(score="7"), language="en", form_nonce="n2"
    )
    assert a.created
    assert not again.created
    assert other.created
    assert sorted(session.scalars(select(Response.score))) == [6, 7]
    assert rollups.stored(session, survey_id=survey.id) == rollups.recount(
        session, survey_id=survey.id
    )


def test_concurrent_first_answers_to_one_invitation_make_one_response(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        survey = surveys.create_survey(
            session, org.id, slug="nps", name="NPS", metric="nps", status="active"
        )
        contact = contacts.create_contact(session, org.id, email="a@example.com")
        invitation = Invitation(organisation_id=org.id, survey_id=survey.id, contact_id=contact.id)
        session.add(invitation)
        session.commit()
        survey_id, invitation_id = survey.id, invitation.id
    start = threading.Barrier(6)

    def answer(score: int) -> bool:
        start.wait()
        with sessions() as session:
            own_survey = session.get(Survey, survey_id)
            own_invitation = session.get(Invitation, invitation_id)
            assert own_survey is not None
            assert own_invitation is not None
            recorded = answers.record_personal(
                session, own_survey, own_invitation, _parse(score=str(score)), language="en"
            )
            session.commit()
            return recorded.created

    with ThreadPoolExecutor(6) as pool:
        created = list(pool.map(answer, range(6)))
    assert created.count(True) == 1
    with sessions() as session:
        assert len(session.scalars(select(Response)).all()) == 1
        assert len(session.scalars(select(AuditLog)).all()) == 5
        assert rollups.stored(session, survey_id=survey_id) == rollups.recount(
            session, survey_id=survey_id
        )


def _consent_form(score: str, **extra: str) -> answers.Answer:
    document = {"score": [score], **{k: [v] for k, v in extra.items()}}
    return answers.parse_answer(document, NPS, REASONS, consent_offered=True)


def test_consent_counts_only_when_offered_asked_and_low() -> None:
    assert _consent_form("2", consent_shown="1", contact_ok="yes").consent is True
    refused = _consent_form("2", consent_shown="1")
    assert (refused.consent, refused.consent_given) == (False, True)
    # A high score: the question was about a low one.
    assert not _consent_form("9", consent_shown="1", contact_ok="yes").consent_given
    # The form did not say it asked (the one-click post): nothing to store.
    assert not _consent_form("2", contact_ok="yes").consent_given
    # A page that may not ask (public link, option off): a forged field is ignored.
    forged = _parse(score="2", consent_shown="1", contact_ok="yes")
    assert (forged.consent, forged.consent_given) == (None, False)


def test_consent_is_stored_with_a_low_personal_answer_and_cleared_by_a_high_one(
    session: Session,
) -> None:
    org = accounts.create_organisation(session, slug="acme", name="Acme")
    survey = surveys.create_survey(
        session, org.id, slug="nps", name="NPS", metric="nps", status="active"
    )
    contact = contacts.create_contact(session, org.id, email="a@example.com")
    invitation = Invitation(organisation_id=org.id, survey_id=survey.id, contact_id=contact.id)
    session.add(invitation)
    session.flush()
    first = answers.record_personal(
        session,
        survey,
        invitation,
        _consent_form("3", consent_shown="1", contact_ok="yes"),
        language="en",
    )
    assert (first.created, first.consent) == (True, True)
    session.expire_all()
    assert session.scalars(select(Response.contact_consent)).one() is True
    # The one-click post of the same score again leaves the consent as it was.
    kept = answers.record_personal(session, survey, invitation, _parse(score="3"), language="en")
    assert kept.consent is True
    # Asked again and not ticked: stored as a refusal, not as "not asked".
    refused = answers.record_personal(
        session, survey, invitation, _consent_form("2", consent_shown="1"), language="en"
    )
    assert refused.consent is False
    session.expire_all()
    assert session.scalars(select(Response.contact_consent)).one() is False
    changed = answers.record_personal(session, survey, invitation, _parse(score="9"), language="en")
    assert changed.consent is None
    session.expire_all()
    assert session.scalars(select(Response.contact_consent)).one() is None
    details = [entry.details for entry in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert [d.get("contact_consent") for d in details] == [
        None,
        {"before": True, "after": False},
        {"before": False, "after": None},
    ]
