"""Theme histograms equal a recount of the stored answers, whatever the period, filters and
periods of a trend, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram
from cxpulse.store import text_themes
from cxpulse.store.comment_analyses import NewAnalysis
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Organisation, Response, Survey
from cxpulse.store.theme_histograms import ThemeHistograms, theme_histograms, theme_trend

from .analysis_support import analysed, answer, theme, write

START = datetime(2024, 1, 1, tzinfo=UTC)
SENTIMENTS = ("negative", "neutral", "positive", "unknown")
_EVERY: dict[int, list[Response]] = {}
"""Every answer of a survey, read once per test (see ``fresh``)."""


@pytest.fixture(autouse=True)
def fresh() -> None:
    _EVERY.clear()


@pytest.fixture
def stored(
    session: Session, org: Organisation, survey: Survey
) -> tuple[list[int], list[tuple[Response, dict[int, str]]]]:
    """120 answers over three months, most with a comment, analysed with random themes; some
    comments left unanalysed (still queued)."""
    chooser = random.Random(12)
    themes = [theme(session, org.id, key).id for key in ("delivery", "price", "staff", "app")]
    made: list[tuple[Response, dict[int, str]]] = []
    batch: list[NewAnalysis] = []
    for n in range(120):
        at = START + timedelta(days=chooser.randrange(90), minutes=n)
        score = chooser.randint(1, 5)
        channel = chooser.choice(["email", "chat"])
        if chooser.random() < 0.2:
            answer(session, org.id, survey.id, score, None, at=at, channel=channel)
            continue
        response = answer(session, org.id, survey.id, score, f"comment {n}", at=at, channel=channel)
        if chooser.random() < 0.1:
            continue  # still in the queue
        mentioned = {
            theme_id: chooser.choice(SENTIMENTS)
            for theme_id in chooser.sample(themes, chooser.randint(0, 3))
        }
        batch.append(analysed(response, list(mentioned.items())))
        made.append((response, mentioned))
    write(session, org.id, *batch)
    return themes, made


def _recount(
    session: Session,
    survey: Survey,
    made: list[tuple[Response, dict[int, str]]],
    keep: object,
) -> ThemeHistograms:
    """What the histograms should be, counted in Python over the answers ``keep`` keeps."""
    assert callable(keep)
    kept = [(r, m) for r, m in made if keep(r)]
    if survey.id not in _EVERY:
        _EVERY[survey.id] = list(session.query(Response).filter(Response.survey_id == survey.id))
    every = [r for r in _EVERY[survey.id] if keep(r)]
    themes: dict[int, Counter[float]] = {}
    sentiments: dict[int, Counter[str]] = {}
    for response, mentioned in kept:
        for theme_id, sentiment in mentioned.items():
            themes.setdefault(theme_id, Counter())[response.score] += 1
            sentiments.setdefault(theme_id, Counter())[sentiment] += 1
    return ThemeHistograms(
        themes={t: Histogram(dict(c)) for t, c in themes.items()},
        sentiments={t: dict(c) for t, c in sentiments.items()},
        commented=Histogram.from_values(r.score for r, _ in kept),
        everyone=Histogram.from_values(r.score for r in every),
    )


@pytest.mark.parametrize("use_rollups", [None, False])
def test_histograms_equal_a_recount(
    session: Session,
    org: Organisation,
    survey: Survey,
    stored: tuple[list[int], list[tuple[Response, dict[int, str]]]],
    use_rollups: bool | None,
) -> None:
    _, made = stored
    whole = theme_histograms(
        session, org.id, ResponseFilters(survey_id=survey.id), use_rollups=use_rollups
    )
    assert whole == _recount(session, survey, made, lambda r: True)
    assert whole.commented.n < whole.everyone.n
    days = ResponseFilters(survey_id=survey.id, start=date(2024, 1, 20), end=date(2024, 3, 2))
    first, last = datetime(2024, 1, 20, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)
    assert theme_histograms(session, org.id, days, use_rollups=use_rollups) == _recount(
        session, survey, made, lambda r: first <= r.submitted_at < last
    )


def test_chosen_themes_only(
    session: Session,
    org: Organisation,
    survey: Survey,
    stored: tuple[list[int], list[tuple[Response, dict[int, str]]]],
) -> None:
    themes, made = stored
    chosen = theme_histograms(
        session, org.id, ResponseFilters(survey_id=survey.id), theme_ids=themes[:1]
    )
    assert set(chosen.themes) == {themes[0]}
    assert theme_histograms(
        session, org.id, ResponseFilters(survey_id=survey.id), theme_ids=[]
    ) == (
        ThemeHistograms(
            commented=Histogram.from_values(r.score for r, _ in made),
            everyone=_recount(session, survey, made, lambda r: True).everyone,
        )
    )
    # An inactive theme is left out unless asked for.
    text_themes.set_active(session, org.id, themes[1], False)
    assert (
        themes[1]
        not in theme_histograms(session, org.id, ResponseFilters(survey_id=survey.id)).themes
    )


@pytest.mark.parametrize("use_rollups", [None, False])
def test_a_trend_is_a_recount_per_period(
    session: Session,
    org: Organisation,
    survey: Survey,
    stored: tuple[list[int], list[tuple[Response, dict[int, str]]]],
    use_rollups: bool | None,
) -> None:
    _, made = stored
    for period, label_of in (("month", "%Y-%m"), ("day", "%Y-%m-%d")):
        trend = theme_trend(
            session,
            org.id,
            ResponseFilters(survey_id=survey.id),
            period,  # type: ignore[arg-type]
            use_rollups=use_rollups,
        )
        if period == "month":
            assert sorted(trend) == ["2024-01", "2024-02", "2024-03"]
        for label, counts in trend.items():
            assert counts == _recount(
                session,
                survey,
                made,
                lambda r, label=label, label_of=label_of: (
                    r.submitted_at.strftime(label_of) == label
                ),
            )
    weekly = theme_trend(
        session, org.id, ResponseFilters(survey_id=survey.id, channel="email"), "week"
    )
    total = sum((c.commented for c in weekly.values()), Histogram())
    assert total == _recount(session, survey, made, lambda r: r.channel == "email").commented
    with pytest.raises(Invalid):
        theme_trend(session, org.id, ResponseFilters(survey_id=survey.id), "fortnight")  # type: ignore[arg-type]
    hours = ResponseFilters(survey_id=survey.id, start=START + timedelta(hours=3))
    with pytest.raises(Invalid):
        theme_histograms(session, org.id, hours, use_rollups=True)


def test_only_the_surveys_organisation_may_count(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    with pytest.raises(NotFound):
        theme_histograms(session, other_org.id, ResponseFilters(survey_id=survey.id))
    with pytest.raises(Invalid):
        theme_histograms(session, org.id, ResponseFilters())
    empty = theme_histograms(session, org.id, ResponseFilters(survey_id=survey.id))
    assert empty == ThemeHistograms()
