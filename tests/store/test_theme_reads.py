"""Reads of the theme pages, on SQLite and PostgreSQL: mentions over every survey since a
moment, a period's analysed comments newest first, and how many wait for the worker."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import accounts, surveys, theme_reads
from cxpulse.store.errors import NotFound

from .analysis_support import analysed, answer, theme, write

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)


def test_mentions_count_every_survey_of_the_organisation_since_a_moment(
    session: Session,
) -> None:
    org = accounts.create_organisation(session, slug="shop", name="Shop").id
    one = surveys.create_survey(session, org, slug="a", name="A", metric="csat").id
    two = surveys.create_survey(session, org, slug="b", name="B", metric="nps").id
    late, price = theme(session, org, "late"), theme(session, org, "price")
    recent = [answer(session, org, s, 4, "late again", at=NOW) for s in (one, two, two)]
    old = answer(session, org, one, 2, "late and pricey", at=NOW - timedelta(days=40))
    write(
        session,
        org,
        *(analysed(r, [(late.id, "negative")]) for r in recent),
        analysed(old, [(late.id, "negative"), (price.id, "negative")]),
    )
    since = NOW - timedelta(days=30)
    assert theme_reads.mentions_since(session, org, since) == {late.id: 3}
    assert theme_reads.mentions_since(session, org, NOW - timedelta(days=50)) == {
        late.id: 4,
        price.id: 1,
    }
    other = accounts.create_organisation(session, slug="other", name="Other").id
    assert theme_reads.mentions_since(session, other, since) == {}


def test_period_comments_are_the_newest_first_and_counted(session: Session) -> None:
    org = accounts.create_organisation(session, slug="shop", name="Shop").id
    survey = surveys.create_survey(session, org, slug="a", name="A", metric="csat").id
    stored = [
        answer(session, org, survey, 3, f"comment {n} ann@example.com", at=NOW - timedelta(hours=n))
        for n in range(5)
    ]
    write(session, org, *(analysed(r, language="sv") for r in stored[:4]))
    answer(session, org, survey, 3, "waiting", at=NOW)
    answer(session, org, survey, 3, None, at=NOW)
    answer(session, org, survey, 3, "outside", at=NOW + timedelta(days=2))
    start, end = date(2025, 6, 30), date(2025, 7, 1)
    found = theme_reads.period_comments(session, org, survey, start, end, limit=3)
    assert [c.response_id for c in found] == [r.id for r in stored[:3]]
    assert found[0].text == "comment 0 [email]"
    assert (found[0].language, found[0].score) == ("sv", 3.0)
    counts = theme_reads.period_counts(session, org, survey, start, end)
    # Four analysed; the fifth comment and "waiting" wait; no comment is no comment.
    assert (counts.analysed, counts.waiting) == (4, 2)
    other = accounts.create_organisation(session, slug="other", name="Other").id
    with pytest.raises(NotFound):
        theme_reads.period_comments(session, other, survey, start, end, limit=3)
    with pytest.raises(NotFound):
        theme_reads.period_counts(session, other, survey, start, end)
