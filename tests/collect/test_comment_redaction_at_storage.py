"""Redaction at storage below the web app, on both databases: the file import (the bulk path
that bypasses the ORM), an invitation's answer and its change (``collect.answers``), and the
store's many-callers path (``add_each``) all store ``redact(comment).text`` when the
organisation asks, and the comment as written when it does not. The web doors are tested
in ``tests/web/routes/test_organisation_redaction.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import answers
from cxpulse.redaction import redact
from cxpulse.store import contacts, responses, surveys
from cxpulse.store.comment_analyses import set_redact_comments
from cxpulse.store.models import MAX_COMMENT_LENGTH, Invitation, Organisation
from cxpulse.store.response_checks import stored_comment

from .conftest import assert_rollups_match, run_import, stored, write_csv

WRITTEN = "Call me on +46 70 123 45 67 or jane@example.com, order 12345"
REDACTED = "Call me on [phone] or [email], order 12345"


def _redacting(sessions: sessionmaker[Session], org: Organisation, redact_on: bool) -> None:
    with sessions.begin() as session:
        set_redact_comments(session, org.id, redact_on)


def test_the_redacted_text_is_what_redaction_gives() -> None:
    assert redact(WRITTEN).text == REDACTED
    assert stored_comment(WRITTEN) == REDACTED
    # Placeholders may be longer than what they replace: the stored text keeps the limit.
    crowded = " ".join(["a@b.se"] * (MAX_COMMENT_LENGTH // 7))
    assert len(crowded) <= MAX_COMMENT_LENGTH < len(redact(crowded).text)
    assert len(stored_comment(crowded)) == MAX_COMMENT_LENGTH


@pytest.mark.parametrize("redact_on", [True, False], ids=["on", "off"])
def test_a_file_import_stores_comments_redacted_only_when_asked(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path, redact_on: bool
) -> None:
    _redacting(sessions, org, redact_on)
    lines = ["id,score,comment", f'1,2,"{WRITTEN}"', "2,5,", "3,4,Fine"]
    result = run_import(
        sessions,
        org,
        write_csv(tmp_path / "a.csv", lines),
        mapping="id=id,score=score,comment=comment",
    )
    assert result.imported == 3
    expected = REDACTED if redact_on else WRITTEN
    assert [r.comment for r in stored(sessions)] == [expected, None, "Fine"]
    # The same file again stores nothing twice: the keys come from what the file says.
    again = run_import(
        sessions,
        org,
        write_csv(tmp_path / "a.csv", lines),
        mapping="id=id,score=score,comment=comment",
    )
    assert (again.imported, again.already_present) == (0, 3)
    assert_rollups_match(sessions)


@pytest.mark.parametrize("redact_on", [True, False], ids=["on", "off"])
def test_an_answer_its_change_and_many_callers_store_redacted_only_when_asked(
    sessions: sessionmaker[Session], org: Organisation, redact_on: bool
) -> None:
    _redacting(sessions, org, redact_on)
    expected = REDACTED if redact_on else WRITTEN
    with sessions.begin() as session:
        survey = surveys.get_survey_by_slug(session, org.id, "support-csat")
        contact = contacts.create_contact(session, org.id, email="ann@example.com")
        invitation = Invitation(
            organisation_id=org.id, survey_id=survey.id, contact_id=contact.id, status="sent"
        )
        session.add(invitation)
        session.flush()
        first = answers.record_personal(
            session,
            survey,
            invitation,
            answers.Answer(2, "slow", True, (), False),
            language="en",
        )
        changed = answers.record_personal(
            session,
            survey,
            invitation,
            answers.Answer(2, WRITTEN, True, (), False),
            language="en",
        )
        assert first.response_id == changed.response_id
        assert not changed.created
        (result,) = responses.add_each(
            session, [(org.id, responses.NewResponse(survey.id, 1.0, comment=WRITTEN))]
        )
        assert isinstance(result, tuple)
        many, created = result
        assert created
        assert many.comment == expected
    assert [r.comment for r in stored(sessions)] == [expected, expected]
    assert_rollups_match(sessions)
