"""Histograms and scores counted by the database, from the responses or from the rollups."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram, score
from cxpulse.store import contacts, metrics_query, responses, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse
from cxpulse.store.sql import PERIODS, Period


def iso_label(moment: datetime, period: Period) -> str:
    """The labels the file engine uses, computed in Python as the reference."""
    if period == "day":
        return moment.date().isoformat()
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{moment.year}-{moment.month:02d}"
    if period == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return str(moment.year)


@dataclass(frozen=True)
class Answer:
    score: int
    submitted_at: datetime
    channel: str | None
    touchpoint: str | None
    language: str | None
    agent: str | None
    plan: str | None


@pytest.fixture
def answers(session: Session, org: Organisation, survey: Survey) -> list[Answer]:
    """400 answers from late 2019 to early 2021, across ISO-year edges and channels."""
    rng = random.Random(7)
    plans = {
        plan: contacts.create_contact(session, org.id, attributes={"plan": plan}).id
        for plan in ("free", "pro")
    }
    start = datetime(2019, 12, 25, tzinfo=UTC)
    made: list[Answer] = []
    for _ in range(400):
        made.append(
            Answer(
                score=rng.randint(1, 5),
                submitted_at=start + timedelta(minutes=rng.randrange(60 * 24 * 390)),
                channel=rng.choice(["email", "chat", "web", None]),
                touchpoint=rng.choice(["after purchase", None]),
                language=rng.choice(["en", "sv", "nl", "mk"]),
                agent=rng.choice(["Ann", "Bo", None]),
                plan=rng.choice(["free", "pro", None]),
            )
        )
    responses.add_responses(
        session,
        org.id,
        [
            NewResponse(
                survey.id,
                a.score,
                submitted_at=a.submitted_at,
                channel=a.channel,
                touchpoint=a.touchpoint or "",
                language=a.language,
                properties={"agent": a.agent} if a.agent else {},
                contact_id=plans[a.plan] if a.plan else None,
            )
            for a in made
        ],
    )
    # The survey's touchpoint fills in for answers given none.
    return [Answer(**{**a.__dict__, "touchpoint": a.touchpoint or survey.touchpoint}) for a in made]


def expected(
    answers: list[Answer],
    group: list[str],
    period: Period | None,
    keep: object = None,
) -> dict[tuple[str | None, ...], Histogram]:
    counts: dict[tuple[str | None, ...], Counter[int]] = {}
    for answer in answers:
        if keep is not None and not keep(answer):  # type: ignore[operator]
            continue
        key: list[str | None] = [iso_label(answer.submitted_at, period)] if period else []
        for name in group:
            attribute = name.removeprefix("property:").removeprefix("contact:")
            key.append(getattr(answer, attribute))
        counts.setdefault(tuple(key), Counter())[answer.score] += 1
    return {
        key: Histogram({float(v): c for v, c in counter.items()}) for key, counter in counts.items()
    }


@pytest.mark.parametrize("period", [None, *PERIODS])
@pytest.mark.parametrize("group", [[], ["channel"], ["touchpoint", "channel"]])
def test_rollups_and_responses_give_the_same_histograms(
    session: Session,
    org: Organisation,
    survey: Survey,
    answers: list[Answer],
    period: Period | None,
    group: list[str],
) -> None:
    from_rollups = metrics_query.histograms(
        session, org.id, survey.id, group_by=group, period=period, use_rollups=True
    )
    from_responses = metrics_query.histograms(
        session, org.id, survey.id, group_by=group, period=period, use_rollups=False
    )
    assert from_rollups == from_responses == expected(answers, group, period)


def test_filters_on_the_rollup_path(
    session: Session, org: Organisation, survey: Survey, answers: list[Answer]
) -> None:
    start, end = date(2020, 3, 1), datetime(2020, 9, 1, tzinfo=UTC)
    for use_rollups in (True, False):
        found = metrics_query.histograms(
            session,
            org.id,
            survey.id,
            start=start,
            end=end,
            channel="email",
            touchpoint="after purchase",
            period="month",
            use_rollups=use_rollups,
        )
        assert found == expected(
            answers,
            [],
            "month",
            lambda a: (
                datetime(2020, 3, 1, tzinfo=UTC) <= a.submitted_at < end
                and a.channel == "email"
                and a.touchpoint == "after purchase"
            ),
        )


def test_property_contact_and_language_filters_and_groups(
    session: Session, org: Organisation, survey: Survey, answers: list[Answer]
) -> None:
    found = metrics_query.histograms(
        session,
        org.id,
        survey.id,
        properties={"agent": "Ann"},
        contact_attributes={"plan": "pro"},
        language="sv",
    )
    assert found == {
        (): expected(
            answers, [], None, lambda a: (a.agent, a.plan, a.language) == ("Ann", "pro", "sv")
        )[()]
    }
    grouped = metrics_query.histograms(
        session, org.id, survey.id, group_by=["property:agent", "contact:plan"], period="quarter"
    )
    assert grouped == expected(answers, ["property:agent", "contact:plan"], "quarter")
    # Answers without the property or without a contact form the None group.
    assert any(key[1] is None for key in grouped)
    assert any(key[2] is None for key in grouped)
    by_language = metrics_query.histograms(session, org.id, survey.id, group_by=["language"])
    assert by_language == expected(answers, ["language"], None)


@pytest.mark.parametrize(
    ("moment", "labels"),
    [
        # Sunday 3 January 2021 belongs to ISO week 53 of 2020.
        (
            datetime(2021, 1, 3, 23, 59, tzinfo=UTC),
            ("2021-01-03", "2020-W53", "2021-01", "2021-Q1", "2021"),
        ),
        (
            datetime(2021, 1, 4, tzinfo=UTC),
            ("2021-01-04", "2021-W01", "2021-01", "2021-Q1", "2021"),
        ),
        # Monday 30 December 2019 is in week 1 of 2020.
        (
            datetime(2019, 12, 30, 12, tzinfo=UTC),
            ("2019-12-30", "2020-W01", "2019-12", "2019-Q4", "2019"),
        ),
        (
            datetime(2018, 3, 4, 8, tzinfo=UTC),
            ("2018-03-04", "2018-W09", "2018-03", "2018-Q1", "2018"),
        ),
        (
            datetime(2020, 12, 31, tzinfo=UTC),
            ("2020-12-31", "2020-W53", "2020-12", "2020-Q4", "2020"),
        ),
        (
            datetime(2026, 6, 30, 23, tzinfo=UTC),
            ("2026-06-30", "2026-W27", "2026-06", "2026-Q2", "2026"),
        ),
    ],
)
def test_period_labels_are_iso(
    session: Session,
    org: Organisation,
    survey: Survey,
    moment: datetime,
    labels: tuple[str, ...],
) -> None:
    responses.add_response(session, org.id, survey.id, 4, submitted_at=moment)
    for period, label in zip(PERIODS, labels, strict=True):
        assert iso_label(moment, period) == label
        for use_rollups in (True, False):
            found = metrics_query.histograms(
                session, org.id, survey.id, period=period, use_rollups=use_rollups
            )
            assert list(found) == [(label,)], (period, use_rollups)


def test_every_day_of_years_of_iso_weeks(
    session: Session, org: Organisation, survey: Survey
) -> None:
    """One answer a day for six years: every ISO week label matches Python's."""
    first = datetime(2019, 12, 20, 6, tzinfo=UTC)
    days = [first + timedelta(days=n) for n in range(6 * 366)]
    responses.add_responses(
        session, org.id, [NewResponse(survey.id, 3, submitted_at=d) for d in days]
    )
    for use_rollups in (True, False):
        found = metrics_query.histograms(
            session, org.id, survey.id, period="week", use_rollups=use_rollups
        )
        want = Counter(iso_label(d, "week") for d in days)
        assert {key[0]: h.n for key, h in found.items()} == want


def test_a_day_starts_at_midnight_utc(session: Session, org: Organisation, survey: Survey) -> None:
    responses.add_response(
        session, org.id, survey.id, 5, submitted_at=datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    )
    responses.add_response(
        session, org.id, survey.id, 1, submitted_at=datetime(2024, 3, 1, tzinfo=UTC)
    )
    for use_rollups in (True, False):
        march = metrics_query.histograms(
            session, org.id, survey.id, start=date(2024, 3, 1), use_rollups=use_rollups
        )
        assert march == {(): Histogram({1: 1})}
        february = metrics_query.histograms(
            session, org.id, survey.id, end=date(2024, 3, 1), use_rollups=use_rollups
        )
        assert february == {(): Histogram({5: 1})}


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_one_group_by_query_and_the_rollups_when_they_suffice(
    session: Session, org: Organisation, survey: Survey, statements: list[str]
) -> None:
    responses.add_response(
        session, org.id, survey.id, 5, submitted_at=datetime(2024, 1, 1, tzinfo=UTC)
    )
    session.flush()

    def counting_queries() -> list[str]:
        return [s for s in statements if "GROUP BY" in s]

    statements.clear()
    metrics_query.histograms(session, org.id, survey.id, group_by=["channel"], period="month")
    assert len(counting_queries()) == 1
    assert "daily_rollups" in counting_queries()[0]
    assert "responses" not in counting_queries()[0]

    statements.clear()
    metrics_query.histograms(
        session, org.id, survey.id, group_by=["channel"], properties={"agent": "Ann"}
    )
    assert len(counting_queries()) == 1
    assert "FROM responses" in counting_queries()[0]

    # A bound inside a day needs the exact instants, which only the responses have.
    statements.clear()
    metrics_query.histograms(session, org.id, survey.id, start=datetime(2024, 1, 1, 12, tzinfo=UTC))
    assert "FROM responses" in counting_queries()[0]


def test_score_rows_have_the_cli_shape(
    session: Session, org: Organisation, survey: Survey, answers: list[Answer]
) -> None:
    rows = metrics_query.score_rows(
        session, org.id, survey.id, group_by=["channel"], period="year", min_n=50
    )
    spec = survey.metric_spec(min_n=50)
    overall = Histogram({float(v): c for v, c in Counter(a.score for a in answers).items()})
    assert rows[0] == {"group": {}, **score(overall, spec).to_dict()}
    groups = expected(answers, ["channel"], "year")
    assert len(rows) == 1 + len(groups)
    for row in rows[1:]:
        key = (row["group"]["year"], row["group"]["channel"])
        assert row == {
            "group": {"year": key[0], "channel": key[1]},
            **score(groups[key], spec).to_dict(),
        }
        assert set(row) >= {"group", "value", "ci_low", "ci_high", "n", "counts", "too_small"}
    # Key order, blanks last within each year.
    keys = [(r["group"]["year"], r["group"]["channel"]) for r in rows[1:]]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1] is None, k[1] or ""))
    assert keys[0][0] == "2019"


def test_an_empty_survey_scores_as_no_answers(
    session: Session, org: Organisation, survey: Survey
) -> None:
    assert metrics_query.histograms(session, org.id, survey.id) == {(): Histogram()}
    assert metrics_query.histograms(session, org.id, survey.id, group_by=["channel"]) == {}
    (row,) = metrics_query.score_rows(session, org.id, survey.id)
    assert row["n"] == 0
    assert row["value"] is None
    assert row["too_small"] is True


def test_nps_survey_scores(session: Session, org: Organisation) -> None:
    nps = surveys.create_survey(session, org.id, slug="nps", name="NPS", metric="nps")
    # 80 promoters, 20 passives, 40 detractors -> 28.57, unrounded.
    scores = [10] * 80 + [7] * 20 + [3] * 40
    responses.add_responses(session, org.id, [NewResponse(nps.id, s) for s in scores])
    (row,) = metrics_query.score_rows(session, org.id, nps.id)
    assert row["value"] == pytest.approx(200 / 7)
    assert row["counts"] == {"promoters": 80, "passives": 20, "detractors": 40}


def test_bad_questions_are_refused(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    with pytest.raises(NotFound):
        metrics_query.histograms(session, other_org.id, survey.id)
    with pytest.raises(Invalid, match="group_by"):
        metrics_query.histograms(session, org.id, survey.id, group_by=["comment"])
    with pytest.raises(Invalid, match="group_by"):
        metrics_query.histograms(session, org.id, survey.id, group_by=["property:"])
    with pytest.raises(Invalid, match="period"):
        metrics_query.histograms(session, org.id, survey.id, period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(Invalid, match="use_rollups"):
        metrics_query.histograms(
            session, org.id, survey.id, properties={"agent": "Ann"}, use_rollups=True
        )
    with pytest.raises(Invalid, match="time zone"):
        metrics_query.histograms(session, org.id, survey.id, start=datetime(2024, 1, 1))


def test_combinations_of_groups_match_a_recount(
    session: Session, org: Organisation, survey: Survey, answers: list[Answer]
) -> None:
    dims = ["channel", "touchpoint", "language", "property:agent", "contact:plan"]
    for size in (1, 2):
        for group in itertools.combinations(dims, size):
            found = metrics_query.histograms(session, org.id, survey.id, group_by=list(group))
            assert found == expected(answers, list(group), None), group


def test_a_theme_filter_is_never_answered_from_the_rollups() -> None:
    from cxpulse.store.filters import ResponseFilters

    assert metrics_query.rollups_can_answer(ResponseFilters())
    # The rollups count scores per day, channel and touchpoint: a theme is not among them.
    assert not metrics_query.rollups_can_answer(ResponseFilters(theme="delivery"))
