"""The counts behind the follow-up figures (``store/case_counts.py``) on SQLite and PostgreSQL,
on cases worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from tests.case_rows import add_case, answer, answer_with_case

from cxpulse.metrics import Histogram
from cxpulse.store import accounts, case_counts, surveys
from cxpulse.store.models import Organisation, Survey

START, END = date(2025, 9, 1), date(2025, 10, 1)
NOW = datetime(2025, 10, 5, 12, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def _at(day: int, hour: int = 10, month: int = 9) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


@pytest.fixture
def shop(session: Session) -> tuple[Organisation, Survey, Survey]:
    """An NPS survey with cases opened in September 2025 and around it:

    1. answer 2 (2 Sep), contacted after 30 min, resolved after 5 h, due after 4 h, re-survey 9;
    2. answer 0 (3 Sep), contacted after 6 h (past its 4 h): still contacted;
    3. answer 5 (4 Sep), never contacted, due after 4 h: new, past due at NOW;
    4. answer 6 (5 Sep), closed as won't fix after 2 h without contact, due after 4 h;
    5. no answer (6 Sep), new, no due time;
    6. answer 1 (7 Sep), contacted after 90 min, resolved after a day, due 4 h, re-survey 6;
    7. answer 3 and its case on 30 Aug: another period;
    8. answer 4 on 31 Aug 23:50, its case opened 1 Sep 00:10, contacted after 10 min and
       resolved after an hour: a case of September whose answer is of August;
    9. answer 0 on 30 Sep 23:00 and its new case a minute later;
    10. answer 0 on 30 Sep 23:30 whose case was opened and resolved on 2 Oct: an answer of
       September with a closed case of October.

    A second survey has no case; another organisation has a case in September.
    """
    organisation = accounts.create_organisation(session, slug="shop", name="Shop")
    org = organisation.id
    nps = surveys.create_survey(session, org, slug="nps", name="NPS", metric="nps")
    quiet = surveys.create_survey(session, org, slug="quiet", name="Quiet", metric="csat")
    sid = nps.id
    answer_with_case(
        session, org, sid, 2, _at(2), state="resolved", contact_after=30 * M,
        close_after=5 * H, due_after=4 * H, recovery_score=9,
    )  # fmt: skip
    answer_with_case(
        session, org, sid, 0, _at(3), state="contacted", contact_after=6 * H, due_after=4 * H
    )
    answer_with_case(session, org, sid, 5, _at(4), state="new", due_after=4 * H)
    answer_with_case(
        session, org, sid, 6, _at(5), state="wont_fix", close_after=2 * H, due_after=4 * H
    )
    add_case(session, org, sid, _at(6), state="new")
    answer_with_case(
        session, org, sid, 1, _at(7), state="resolved", contact_after=90 * M,
        close_after=24 * H, due_after=4 * H, recovery_score=6,
    )  # fmt: skip
    answer_with_case(session, org, sid, 3, _at(30, month=8), state="resolved", close_after=H)
    late = answer(session, org, sid, 4, datetime(2025, 8, 31, 23, 50, tzinfo=UTC))
    add_case(
        session, org, sid, datetime(2025, 9, 1, 0, 10, tzinfo=UTC), response_id=late,
        state="resolved", contact_after=10 * M, close_after=H,
    )  # fmt: skip
    answer_with_case(session, org, sid, 0, _at(30, 23), state="new")
    last = answer(session, org, sid, 0, datetime(2025, 9, 30, 23, 30, tzinfo=UTC))
    add_case(session, org, sid, _at(2, month=10), response_id=last, state="resolved", close_after=H)
    other = accounts.create_organisation(session, slug="other", name="Other")
    theirs = surveys.create_survey(session, other.id, slug="nps", name="NPS", metric="nps")
    answer_with_case(
        session, other.id, theirs.id, 0, _at(10), state="resolved", contact_after=M,
        close_after=H, due_after=H, recovery_score=10,
    )  # fmt: skip
    session.flush()
    return organisation, nps, quiet


def test_counts_of_a_period_worked_by_hand(
    session: Session, shop: tuple[Organisation, Survey, Survey]
) -> None:
    organisation, nps, quiet = shop
    found = case_counts.survey_counts(
        session, organisation.id, [nps.id, quiet.id], START, END, now=NOW
    )
    counts = found[nps.id]
    # Cases 1-6, 8 and 9.
    assert counts.cases == 8
    assert counts.open == 4  # cases 2, 3, 5 and 9
    assert counts.with_due == 5  # cases 1, 2, 3, 4 and 6
    assert counts.breached == 2  # case 2 contacted late, case 3 never contacted
    assert dict(counts.to_first_contact) == {30: 1, 360: 1, 90: 1, 10: 1}
    assert dict(counts.to_close) == {300: 1, 120: 1, 1440: 1, 60: 1}
    assert counts.recovery == Histogram({9: 1, 6: 1})
    # Closed cases whose answer is of September: 1, 4, 6 and 10.
    assert counts.closed_answers == Histogram({2: 1, 6: 1, 1: 1, 0: 1})
    assert counts.ever
    assert found[quiet.id] == case_counts.CaseCounts()


def test_an_open_case_is_late_only_once_its_due_time_has_passed(
    session: Session, shop: tuple[Organisation, Survey, Survey]
) -> None:
    organisation, nps, _ = shop
    # Case 3 is due at 4 Sep 14:01; an hour before, only case 2 is late.
    before = datetime(2025, 9, 4, 13, 1, tzinfo=UTC)
    counts = case_counts.survey_counts(session, organisation.id, [nps.id], START, END, now=before)
    assert counts[nps.id].breached == 1


def test_other_periods_and_organisations_are_apart(
    session: Session, shop: tuple[Organisation, Survey, Survey]
) -> None:
    organisation, nps, _ = shop
    august = case_counts.survey_counts(
        session, organisation.id, [nps.id], date(2025, 8, 1), START, now=NOW
    )[nps.id]
    assert august.cases == 1
    # Case 7's answer; case 8's answer is of August too, and its case is closed.
    assert august.closed_answers == Histogram({3: 1, 4: 1})
    other = accounts.get_organisation_by_slug(session, "other")
    # The other organisation does not see this survey's cases, even by its id.
    theirs = case_counts.survey_counts(session, other.id, [nps.id], START, END, now=NOW)
    assert theirs[nps.id] == case_counts.CaseCounts()


def test_no_surveys_no_statements(session: Session) -> None:
    assert case_counts.survey_counts(session, 1, [], START, END) == {}


def test_a_first_contact_stamped_before_the_opening_counts_as_immediate(
    session: Session, shop: tuple[Organisation, Survey, Survey]
) -> None:
    organisation, _, quiet = shop
    add_case(session, organisation.id, quiet.id, _at(12), state="contacted", contact_after=-5 * M)
    counts = case_counts.survey_counts(session, organisation.id, [quiet.id], START, END, now=NOW)
    assert dict(counts[quiet.id].to_first_contact) == {0: 1}
