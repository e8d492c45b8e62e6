"""Any Unicode property or attribute name works as a filter, a segment and a breakdown, on
SQLite and PostgreSQL (``store.sql.json_text``).

Every name below is stored on one response (and one contact) with the value "hit" and on
every other response with "miss", so a lookup that confuses a name with its neighbours (``a``
for ``a"b``, a nested ``a`` > ``b`` for ``a.b``, é for e + combining acute) or fails on it
shows up as a wrong set of rows or an error. Before the fix, SQLite read the name inside a
JSON path: ``a"b`` was a path error (the pages answered 503) and every non-ASCII name, stored
escaped by Python's JSON encoder, matched nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from cxpulse.store import contacts, exports, metrics_query, responses, surveys
from cxpulse.store.drilldown import drill_page
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.models import Organisation, Response, Survey
from cxpulse.store.responses import NewResponse
from cxpulse.store.sql import json_text

HOSTILE_NAMES = [
    "a",
    'a"b',
    '"',
    '""',
    "'",
    "a'b",
    "a.b",
    ".",
    "a[0]",
    "[0]",
    "[#-1]",
    "a\\b",
    "\\",
    '\\"',
    "$",
    "$.a",
    '$."a"',
    "*",
    "a b",
    " a",
    "%",
    "_",
    "?",
    ":name",
    "%(name)s",
    "-- x",
    "'; DROP TABLE responses; --",
    "é",  # é as one code point
    "e\u0301",  # e and a combining acute: another name, drawn alike
    "café",
    "\u200fright-to-left\u200f",
    "\u202eevil",
    "😀",
    "Ω≈ç√",
    "名前",
    'x"' * 50,  # 100 characters, quotes all along
    "😀" * 100,  # 100 characters outside the Basic Multilingual Plane
]
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Stored:
    survey_id: int
    by_name: dict[str, int]
    """The response holding "hit" under each name."""
    contact_answer: dict[str, int]
    """The response of the contact holding "hit" under each name."""


@pytest.fixture
def stored(session: Session, org: Organisation, survey: Survey) -> Stored:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    items: list[NewResponse] = []
    for position, name in enumerate(HOSTILE_NAMES):
        properties = {other: "hit" if other == name else "miss" for other in HOSTILE_NAMES}
        contact = contacts.create_contact(session, org.id, attributes=properties)
        items.append(
            NewResponse(
                survey_id=survey.id,
                score=1 + position % 5,
                submitted_at=start + timedelta(hours=position),
                properties=properties,
                contact_id=contact.id,
            )
        )
    found = responses.add_responses(session, org.id, items)
    ids = {name: row.id for name, (row, _) in zip(HOSTILE_NAMES, found, strict=True)}
    return Stored(survey.id, ids, ids)


def _ids(session: Session, org_id: int, filters: ResponseFilters) -> set[int]:
    conditions, needs_contacts = filter_conditions(org_id, filters)
    query = select(Response.id)
    if needs_contacts:
        query = join_contacts(query, org_id)
    return set(session.scalars(query.where(*conditions)))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_filter_on_any_name_keeps_exactly_its_rows(
    session: Session, org: Organisation, stored: Stored, name: str
) -> None:
    survey = ResponseFilters(survey_id=stored.survey_id)
    hit = {stored.by_name[name]}
    everyone = set(stored.by_name.values())
    assert _ids(session, org.id, survey.narrowed(f"property:{name}", "hit")) == hit
    assert _ids(session, org.id, survey.narrowed(f"property:{name}", "miss")) == everyone - hit
    assert _ids(session, org.id, survey.narrowed(f"contact:{name}", "hit")) == hit
    segment = ResponseFilters.of_segment(
        {f"property:{name}": "hit", f"contact:{name}": "hit"}, survey_id=stored.survey_id
    )
    assert _ids(session, org.id, segment) == hit


def test_every_name_filters_at_once(session: Session, org: Organisation, stored: Stored) -> None:
    # All the lookups in one statement: each binds its own name.
    everything = ResponseFilters(
        survey_id=stored.survey_id, properties=dict.fromkeys(HOSTILE_NAMES, "miss")
    )
    assert _ids(session, org.id, everything) == set()
    one = dict.fromkeys(HOSTILE_NAMES, "miss") | {'a"b': "hit"}
    found = _ids(session, org.id, ResponseFilters(survey_id=stored.survey_id, properties=one))
    assert found == {stored.by_name['a"b']}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_breakdown_by_any_name_groups_its_rows(
    session: Session, org: Organisation, stored: Stored, name: str
) -> None:
    total = len(HOSTILE_NAMES)
    for dimension in (f"property:{name}", f"contact:{name}"):
        groups = metrics_query.histograms(
            session, org.id, stored.survey_id, group_by=[dimension], use_rollups=False
        )
        assert {key: histogram.n for key, histogram in groups.items()} == {
            ("hit",): 1,
            ("miss",): total - 1,
        }
    # A segment filter and a breakdown by the same name in one query.
    narrowed = metrics_query.histograms(
        session,
        org.id,
        stored.survey_id,
        properties={name: "hit"},
        group_by=[f"property:{name}", "property:a"],
    )
    expected_a = "hit" if name == "a" else "miss"
    assert {key: h.n for key, h in narrowed.items()} == {("hit", expected_a): 1}


def test_score_rows_name_the_group_as_given(
    session: Session, org: Organisation, stored: Stored
) -> None:
    rows = metrics_query.score_rows(
        session, org.id, stored.survey_id, group_by=['property:a"b'], min_n=1
    )
    assert [row["group"] for row in rows] == [{}, {'property:a"b': "hit"}, {'property:a"b': "miss"}]


def test_drill_down_and_exports_keep_names_intact(
    session: Session, org: Organisation, stored: Stored
) -> None:
    filters = ResponseFilters(survey_id=stored.survey_id, properties={"\\": "hit"})
    page = drill_page(session, org.id, filters)
    [row] = page.rows
    assert row.id == stored.by_name["\\"]
    assert set(row.properties) == set(HOSTILE_NAMES)
    assert row.properties["\\"] == "hit"
    names = exports.property_names(session, org.id, ResponseFilters(survey_id=stored.survey_id))
    assert names == sorted(HOSTILE_NAMES)
    assert exports.count_rows(session, org.id, filters) == 1


def test_a_missing_name_is_null_and_absent_rows_are_blank(
    session: Session, org: Organisation, stored: Stored
) -> None:
    survey = ResponseFilters(survey_id=stored.survey_id)
    assert _ids(session, org.id, survey.narrowed('property:a"c', "hit")) == set()
    groups = metrics_query.histograms(
        session, org.id, stored.survey_id, group_by=['property:a"c'], use_rollups=False
    )
    assert list(groups) == [(None,)]


@pytest.mark.parametrize("name", ["a\x00b", "\x00", "\ud800", "a\udfffb"])
def test_a_name_no_database_can_store_matches_nothing_on_both(
    session: Session, org: Organisation, stored: Stored, name: str
) -> None:
    # PostgreSQL text holds no NUL and no half surrogate pair: such a name is no stored
    # property on either database, and the lookup is NULL instead of a driver error.
    survey = ResponseFilters(survey_id=stored.survey_id)
    assert _ids(session, org.id, survey.narrowed(f"property:{name}", "hit")) == set()
    value = session.scalar(select(json_text(Response.properties, name)).limit(1))
    assert value is None


def test_the_name_is_bound_never_written_into_the_sql() -> None:
    name = "needle\"'.[0]$*"
    expression = json_text(Response.properties, name)
    for url in ("sqlite://", "postgresql+psycopg://"):
        dialect = create_engine(url).dialect  # no connection is opened
        compiled = select(expression).compile(dialect=dialect)
        assert "needle" not in str(compiled)
        assert name in compiled.params.values()


_examples = itertools.count()
# Any name the store accepts (store._values.name_problem): 1 to 100 characters, not blank,
# no control character and no surrogate.
_names = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=MAX_NAME_LENGTH,
).filter(lambda name: bool(name.strip()))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(names=st.lists(_names, min_size=1, max_size=6, unique=True))
def test_generated_names_find_their_own_rows(
    session: Session, org: Organisation, names: list[str]
) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    # A survey of its own for each example: the rows of earlier examples stay out.
    fresh_survey = surveys.create_survey(
        session, org.id, slug=f"generated-{next(_examples)}", name="Generated", metric="csat"
    )
    found = responses.add_responses(
        session,
        org.id,
        [
            NewResponse(
                survey_id=fresh_survey.id,
                score=5,
                submitted_at=start,
                properties={other: "hit" if other == name else "miss" for other in names},
            )
            for name in names
        ],
    )
    ids = {name: row.id for name, (row, _) in zip(names, found, strict=True)}
    survey = ResponseFilters(survey_id=fresh_survey.id)
    for name in names:
        assert _ids(session, org.id, survey.narrowed(f"property:{name}", "hit")) == {ids[name]}
