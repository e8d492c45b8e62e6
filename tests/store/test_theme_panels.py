"""The reads behind the themes panels (``store/theme_panels.py``) on SQLite and PostgreSQL:
examples per theme and band, the languages present, and the counts of many surveys at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from tests.store.analysis_support import analysed, answer, theme, write

from cxpulse.metrics import Histogram
from cxpulse.store import accounts, comment_analyses, surveys, theme_panels
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Response
from cxpulse.store.theme_panels import Band

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 4, 1, tzinfo=UTC)


@pytest.fixture
def seeded(session: Session) -> tuple[int, int, int, int]:
    """(organisation, survey, delivery theme, price theme): March 2025 holds 6 answers of 1
    and 4 of 5 mentioning delivery (the 1s in Dutch, by chat), 2 answers of 5 mentioning
    price; February one answer of 1 mentioning delivery."""
    org = accounts.create_organisation(session, slug="shop", name="Shop").id
    sid = surveys.create_survey(session, org, slug="csat", name="CSAT", metric="csat").id
    delivery = theme(session, org, "delivery").id
    price = theme(session, org, "price").id
    found = []
    for n in range(6):
        late = answer(
            session, org, sid, 1, f"te laat {n}", at=START + timedelta(days=n), channel="chat"
        )
        found.append(analysed(late, [(delivery, "negative")], language="nl"))
    for n in range(4):
        quick = answer(session, org, sid, 5, f"quick {n}", at=START + timedelta(days=n, hours=1))
        found.append(analysed(quick, [(delivery, "positive")]))
    for n in range(2):
        cheap = answer(session, org, sid, 5, f"cheap {n}", at=START + timedelta(days=10 + n))
        found.append(analysed(cheap, [(price, "positive")]))
    old = answer(session, org, sid, 1, "late in February", at=START - timedelta(days=3))
    found.append(analysed(old, [(delivery, "negative")]))
    write(session, org, *found)
    session.flush()
    return org, sid, delivery, price


def test_examples_newest_first_in_their_band(
    session: Session, seeded: tuple[int, int, int, int]
) -> None:
    org, sid, delivery, price = seeded
    march = ResponseFilters(survey_id=sid, start=START, end=END)
    found = theme_panels.theme_examples(
        session, org, march, {delivery: Band(high=2), price: Band(high=2)}, limit=3
    )
    assert list(found) == [delivery]  # price has no answer of 2 or less
    assert [e.text for e in found[delivery]] == ["te laat 5", "te laat 4", "te laat 3"]
    assert found[delivery][0].language == "nl"
    assert found[delivery][0].sentiment == "negative"
    top = theme_panels.theme_examples(session, org, march, {delivery: Band(low=4)}, limit=20)
    assert [e.text for e in top[delivery]] == [f"quick {n}" for n in (3, 2, 1, 0)]
    # The view's segment filters join the responses.
    chat = ResponseFilters(survey_id=sid, start=START, end=END, channel="chat")
    assert theme_panels.theme_examples(session, org, chat, {delivery: Band(low=4)}) == {}


def test_a_changed_comment_is_not_an_example(
    session: Session, seeded: tuple[int, int, int, int]
) -> None:
    org, sid, delivery, _ = seeded
    march = ResponseFilters(survey_id=sid, start=START, end=END)
    newest = theme_panels.theme_examples(session, org, march, {delivery: Band(high=2)}, limit=1)
    response_id = newest[delivery][0].response_id
    response = session.get(Response, response_id)
    assert response is not None
    response.comment = "changed, call me"
    comment_analyses.on_response_changed(session, response, reanalyse=True)
    session.flush()
    again = theme_panels.theme_examples(session, org, march, {delivery: Band(high=2)}, limit=1)
    assert again[delivery][0].text == "te laat 4"


def test_examples_refuse_bad_limits_and_other_organisations(
    session: Session, seeded: tuple[int, int, int, int]
) -> None:
    org, sid, delivery, _ = seeded
    march = ResponseFilters(survey_id=sid, start=START, end=END)
    with pytest.raises(Invalid):
        theme_panels.theme_examples(session, org, march, {delivery: Band()}, limit=0)
    other = accounts.create_organisation(session, slug="other", name="Other").id
    with pytest.raises(NotFound):
        theme_panels.theme_examples(session, other, march, {delivery: Band()})
    with pytest.raises(Invalid):
        theme_panels.theme_examples(session, org, ResponseFilters(), {delivery: Band()})


def test_languages_present(session: Session, seeded: tuple[int, int, int, int]) -> None:
    org, sid, _, _ = seeded
    march = ResponseFilters(survey_id=sid, start=START, end=END)
    wanted = ["en", "sv", "nl", "de"]
    assert theme_panels.languages_present(session, org, march, wanted) == ["en", "nl"]
    email = ResponseFilters(survey_id=sid, start=START, end=END, channel="chat")
    assert theme_panels.languages_present(session, org, email, wanted) == ["nl"]
    february = ResponseFilters(survey_id=sid, start=START - timedelta(days=28), end=START)
    assert theme_panels.languages_present(session, org, february, wanted) == ["en"]
    assert theme_panels.languages_present(session, org, march, []) == []


def test_many_surveys_at_once(session: Session, seeded: tuple[int, int, int, int]) -> None:
    org, sid, delivery, price = seeded
    quiet = surveys.create_survey(session, org, slug="quiet", name="Quiet", metric="nps").id
    other = accounts.create_organisation(session, slug="other", name="Other").id
    foreign = surveys.create_survey(session, other, slug="x", name="X", metric="csat").id
    themes, commented = theme_panels.surveys_theme_histograms(
        session, org, [sid, quiet, foreign], [delivery, price], START, END
    )
    assert set(themes) == {sid, quiet}  # another organisation's survey is ignored
    assert themes[sid] == {delivery: Histogram({1: 6, 5: 4}), price: Histogram({5: 2})}
    assert themes[quiet] == {}
    assert commented[sid] == Histogram({1: 6, 5: 6})
    assert commented[quiet] == Histogram()
    assert theme_panels.analysed_by_survey(
        session, org, [sid, quiet, foreign], START.date(), END.date()
    ) == {
        sid: 12,
        quiet: 0,
    }
    assert theme_panels.surveys_theme_histograms(session, org, [], [delivery], START, END) == (
        {},
        {},
    )
