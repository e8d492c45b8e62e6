"""Discovered themes of a survey's period, on SQLite and PostgreSQL: per language, without the
words of the defined themes, capped at the newest comments, never across organisations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.redaction import redact
from cxpulse.report import theme_discovery
from cxpulse.report.filters_url import Window
from cxpulse.store import accounts, comment_analyses, responses, surveys, text_themes
from cxpulse.store.comment_analyses import NewAnalysis
from cxpulse.store.errors import NotFound

DAY = datetime(2025, 6, 10, 12, tzinfo=UTC)
JUNE = Window(date(2025, 6, 1), date(2025, 7, 1))
GIFT = [
    f"The gift wrapping was {word}"
    for word in ("torn", "cheap", "lovely", "crushed", "wet", "ugly", "neat", "bland")
]
PARK = [
    f"The car park was {word}"
    for word in ("full", "empty", "dark", "busy", "closed", "small", "huge", "quiet")
]
# Swedish: "the delivery box was ..." and "the app crashed when I ...".
BOX = [
    f"Leveranslådan var {word}"
    for word in ("trasig", "blöt", "smutsig", "liten", "stor", "tom", "fin", "ful")
]
APP = [
    f"Appen kraschade när jag {word}"
    for word in ("betalade", "loggade", "sökte", "köpte", "bytte", "tittade")
]
OTHER = ["ok", "Fine", "Thanks", "Good", "Nothing else", "Great service"]


def _comments(
    session: Session,
    organisation_id: int,
    survey_id: int,
    texts: Sequence[str],
    *,
    language: str | None,
    score: float,
    at: datetime = DAY,
    analysed: bool = True,
) -> None:
    written = []
    for n, text in enumerate(texts):
        response, _ = responses.add_response(
            session,
            organisation_id,
            survey_id,
            score,
            submitted_at=at - timedelta(minutes=n),
            comment=text,
        )
        written.append(
            NewAnalysis(
                response_id=response.id,
                comment=text,
                score=score,
                language=language,
                sentiment="unknown",
                sentiment_source=None,
                redacted_comment=redact(text).text,
            )
        )
    if analysed:
        comment_analyses.write_analyses(session, organisation_id, "t.1", written)


@pytest.fixture
def shop(session: Session) -> tuple[int, int]:
    organisation = accounts.create_organisation(session, slug="shop", name="Shop")
    survey = surveys.create_survey(
        session, organisation.id, slug="csat", name="CSAT", metric="csat"
    )
    return organisation.id, survey.id


def test_themes_are_found_per_language_with_their_facts(
    session: Session, shop: tuple[int, int]
) -> None:
    org, survey = shop
    _comments(session, org, survey, [*GIFT, *PARK, *OTHER], language="en", score=2)
    _comments(session, org, survey, [*BOX, *APP, *OTHER], language="sv", score=4)
    _comments(session, org, survey, ["12345", "!!!"], language=None, score=3)
    _comments(session, org, survey, ["Call me: anna@example.com"], language="en", score=1,
              analysed=False)  # fmt: skip
    found = theme_discovery.discover(session, org, survey, JUNE)
    assert (found.analysed, found.read, found.waiting, found.capped) == (44, 44, 1, False)
    assert found.languages == {"?": 2, "en": 22, "sv": 20}
    by_language: dict[str, list[str]] = {}
    for theme in found.themes:
        by_language.setdefault(theme.language, []).append(theme.label)
    assert sorted(by_language) == ["en", "sv"]
    assert any("gift" in label for label in by_language["en"]), by_language
    assert any("park" in label for label in by_language["en"]), by_language
    assert any("app" in label for label in by_language["sv"]), by_language
    gift = next(theme for theme in found.themes if "gift" in theme.label)
    assert gift.size == 8
    assert gift.share == pytest.approx(8 / 22 * 100)
    assert gift.mean_score == 2.0
    assert len(gift.examples) == theme_discovery.EXAMPLES
    # The examples are the newest of the theme's comments, redacted.
    assert gift.examples[0].text == GIFT[0]
    assert [e.submitted_at for e in gift.examples] == sorted(
        (e.submitted_at for e in gift.examples), reverse=True
    )
    assert found.mean_score == pytest.approx((22 * 2 + 20 * 4 + 2 * 3) / 44)
    sizes = [theme.size for theme in found.themes]
    assert sizes == sorted(sizes, reverse=True)


def test_the_words_of_defined_themes_are_left_out(session: Session, shop: tuple[int, int]) -> None:
    org, survey = shop
    _comments(session, org, survey, [*GIFT, *PARK, *OTHER], language="en", score=2)
    text_themes.create_theme(
        session, org, key="wrapping", name="Wrapping", phrases={"en": ["gift wrapping"]}
    )
    # Another language's phrases change nothing in English.
    text_themes.create_theme(session, org, key="parking", name="P", phrases={"sv": ["car park"]})
    labels = [theme.label for theme in theme_discovery.discover(session, org, survey, JUNE).themes]
    assert not any("gift" in label or "wrap" in label for label in labels), labels
    assert any("park" in label for label in labels), labels
    # An inactive theme covers nothing.
    wrapping = text_themes.get_theme_by_key(session, org, "wrapping")
    text_themes.set_active(session, org, wrapping.id, False)
    labels = [theme.label for theme in theme_discovery.discover(session, org, survey, JUNE).themes]
    assert any("gift" in label for label in labels), labels


def test_the_newest_comments_are_read_up_to_the_cap(
    session: Session, shop: tuple[int, int]
) -> None:
    org, survey = shop
    _comments(session, org, survey, PARK, language="en", score=2, at=DAY - timedelta(days=5))
    _comments(session, org, survey, [*GIFT, *OTHER], language="en", score=2)
    found = theme_discovery.discover(session, org, survey, JUNE, cap=14)
    assert (found.analysed, found.read, found.cap, found.capped) == (22, 14, 14, True)
    labels = [theme.label for theme in found.themes]
    assert not any("park" in label for label in labels), labels
    # Outside the period nothing is read.
    may = theme_discovery.discover(session, org, survey, Window(date(2025, 5, 1), date(2025, 6, 1)))
    assert (may.analysed, may.read, may.themes) == (0, 0, [])


def test_another_organisations_survey_is_not_found(session: Session, shop: tuple[int, int]) -> None:
    _org, survey = shop
    other = accounts.create_organisation(session, slug="other", name="Other")
    with pytest.raises(NotFound):
        theme_discovery.discover(session, other.id, survey, JUNE)


def test_the_default_window_ends_on_the_latest_answer(
    session: Session, shop: tuple[int, int]
) -> None:
    org, survey = shop
    today = date(2025, 9, 1)
    empty = theme_discovery.default_window(session, org, survey, today)
    assert (empty.start, empty.last_day) == (today - timedelta(days=89), today)
    _comments(session, org, survey, OTHER, language="en", score=4)
    found = theme_discovery.default_window(session, org, survey, today)
    assert found.last_day == DAY.date()
    assert found.days == theme_discovery.DEFAULT_DAYS
