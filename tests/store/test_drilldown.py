"""The responses behind a dashboard number (``store/drilldown.py``): newest first, in keyset
pages, each with its customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from tests.store.analysis_support import analysed, answer, theme, write

from cxpulse.store import contacts, drilldown, responses
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse

START = datetime(2024, 3, 1, tzinfo=UTC)


def test_pages_newest_first_with_ties_broken_by_id(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    ann = contacts.create_contact(session, org.id, email="ann@example.com", name="Ann")
    ext = contacts.create_contact(session, org.id, external_id="C-7")
    items = [
        NewResponse(
            survey_id=survey.id,
            score=1 + n % 5,
            # Pairs of responses at one moment: the id breaks the tie.
            submitted_at=START + timedelta(hours=n // 2),
            comment="late" if n % 3 == 0 else None,
            contact_id=(ann.id, ext.id, None)[n % 3],
            properties={"n": str(n)},
        )
        for n in range(7)
    ]
    responses.add_responses(session, org.id, items)
    everything = ResponseFilters(survey_id=survey.id)
    first = drilldown.drill_page(session, org.id, everything, limit=3)
    assert first.next_after is not None
    second = drilldown.drill_page(session, org.id, everything, after=first.next_after, limit=3)
    third = drilldown.drill_page(session, org.id, everything, after=second.next_after, limit=3)
    assert third.next_after is None
    rows = first.rows + second.rows + third.rows
    assert len(rows) == 7
    keys = [(row.submitted_at, row.id) for row in rows]
    assert keys == sorted(keys, reverse=True)
    customers = {row.properties["n"]: row.customer for row in rows}
    assert customers["0"] == "Ann · ann@example.com"
    assert customers["1"] == "C-7"
    assert customers["2"] is None
    commented = drilldown.drill_page(session, org.id, ResponseFilters(search="LATE"))
    assert {row.properties["n"] for row in commented.rows} == {"0", "3", "6"}
    assert drilldown.drill_page(session, other_org.id, everything).rows == []


def test_a_page_token_not_given_out_is_refused(session: Session, org: Organisation) -> None:
    with pytest.raises(Invalid, match="page token"):
        drilldown.drill_page(session, org.id, ResponseFilters(), after="junk")


def test_customer_label() -> None:
    assert drilldown.customer_label("Ann", "a@x.com", "C-1") == "Ann · a@x.com"
    assert drilldown.customer_label(None, "a@x.com", "C-1") == "a@x.com"
    assert drilldown.customer_label(None, None, "C-1") == "C-1"
    assert drilldown.customer_label(None, None, None) is None


def test_a_theme_and_redacted_comments(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    """``theme`` keeps the answers whose analysed comment mentions the organisation's theme
    of that key (another organisation's theme of the same key never); every comment shows
    with personal data replaced: the analysis's text, else redacted as it is read."""
    delivery = theme(session, org.id, "delivery")
    theirs = theme(session, other_org.id, "delivery")
    mentioned = answer(session, org.id, survey.id, 1, "late, mail ann@example.com", at=START)
    plain = answer(session, org.id, survey.id, 2, "write to bo@example.com", at=START)
    write(session, org.id, analysed(mentioned, [(delivery.id, "negative")]))
    session.flush()
    page = drilldown.drill_page(session, org.id, ResponseFilters(theme="delivery"))
    assert [row.id for row in page.rows] == [mentioned.id]
    assert page.rows[0].comment == "late, mail [email]"
    assert drilldown.drill_page(session, org.id, ResponseFilters(theme="price")).rows == []
    assert drilldown.drill_page(session, other_org.id, ResponseFilters(theme="delivery")).rows == []
    assert theirs.key == "delivery"
    everything = drilldown.drill_page(session, org.id, ResponseFilters(survey_id=survey.id))
    comments = {row.id: row.comment for row in everything.rows}
    assert comments[plain.id] == "write to [email]"
