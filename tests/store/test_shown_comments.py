"""Comments as shown: the analysis's redaction when it is current, else redacted on the spot;
the same in the export rows. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, comment_analyses, responses, shown_comments, surveys
from cxpulse.store.comment_analyses import NewAnalysis
from cxpulse.store.exports import row_pages
from cxpulse.store.filters import ResponseFilters

PERSONAL = "Call +46 70 123 45 67 or anna@example.com about order 12345"
REDACTED = "Call [phone] or [email] about order 12345"


def _shop(session: Session) -> tuple[int, int]:
    organisation = accounts.create_organisation(session, slug="shop", name="Shop")
    survey = surveys.create_survey(session, organisation.id, slug="s", name="S", metric="csat")
    return organisation.id, survey.id


def _answer(session: Session, org: int, survey: int, comment: str | None, minute: int) -> int:
    response, _ = responses.add_response(
        session,
        org,
        survey,
        3,
        submitted_at=datetime(2025, 3, 1, 9, minute, tzinfo=UTC),
        comment=comment,
    )
    return response.id


def _analyse(session: Session, org: int, response_id: int, comment: str, stored: str) -> None:
    comment_analyses.write_analyses(
        session,
        org,
        "t.1",
        [
            NewAnalysis(
                response_id=response_id,
                comment=comment,
                score=3,
                language="en",
                sentiment="neutral",
                sentiment_source="score",
                redacted_comment=stored,
            )
        ],
    )


def test_shown_comments_prefer_the_current_analysis(session: Session) -> None:
    org, survey = _shop(session)
    waiting = _answer(session, org, survey, PERSONAL, 0)
    analysed = _answer(session, org, survey, PERSONAL, 1)
    silent = _answer(session, org, survey, None, 2)
    # A stored redaction that differs from redact(): the page must show the stored one.
    _analyse(session, org, analysed, PERSONAL, "stored redaction")
    found = shown_comments.shown_comments(
        session, org, {waiting: PERSONAL, analysed: PERSONAL, silent: None}
    )
    assert found == {waiting: REDACTED, analysed: "stored redaction", silent: None}
    # Another organisation's analysis is never read.
    other = accounts.create_organisation(session, slug="other", name="Other")
    assert shown_comments.shown_comments(session, other.id, {analysed: PERSONAL}) == {
        analysed: REDACTED
    }
    # A comment changed since its analysis: the old redaction is not its text any more.
    response = responses.get_response(session, org, analysed)
    comment_analyses.on_response_changed(session, response, reanalyse=True)
    assert shown_comments.shown_comments(session, org, {analysed: PERSONAL}) == {analysed: REDACTED}


def test_export_rows_carry_the_shown_comment(
    session: Session, sessions: sessionmaker[Session]
) -> None:
    org, survey = _shop(session)
    ids = [_answer(session, org, survey, text, n) for n, text in enumerate([PERSONAL] * 2 + [None])]
    _analyse(session, org, ids[1], PERSONAL, "stored redaction")
    session.commit()
    fields = ["id", "submitted_at", "comment", "score"]
    pages = list(row_pages(sessions, org, ResponseFilters(survey_id=survey), fields, 2))
    rows = [tuple(row) for page in pages for row in page]
    assert [(row[0], row[2]) for row in rows] == [
        (ids[0], REDACTED),
        (ids[1], "stored redaction"),
        (ids[2], None),
    ]
    assert [len(page) for page in pages] == [2, 1]
    # Without the comment column, no analysis is joined and nothing else changes.
    bare = list(
        row_pages(sessions, org, ResponseFilters(survey_id=survey), ["id", "submitted_at"], 5)
    )
    assert [row[0] for row in bare[0]] == ids
