"""A survey whose comments are analysed, for the tests of the themes and comments panels, with
numbers worked by hand (CSAT 1-5, organisation "shop", on SQLite and PostgreSQL).

June 2025 (the window ``JUNE``), 105 answers:

- 50 answers of 5 without a comment (email);
- 20 answers of 5 saying "Friendly staff n" in Swedish per the analysis, theme ``staff``
  (email), positive;
- 30 answers of 1 saying "Late delivery n, write to ann@example.com", theme ``delivery``
  (chat), negative; the analysis stores them as "... write to [email]";
- 5 answers of 3 with a comment the worker has not analysed yet (chat).

So CSAT = 70 / 105 = 66.67%. Without the delivery answers: 70 / 75 = 93.33%, an impact of
-26.67 points; without the staff answers: 50 / 85 = 58.82%, an impact of +7.84 points. 50
comments are analysed and 5 wait: delivery is 30 / 50 = 60% of them, staff 20 / 50 = 40%.

May 2025, 40 answers: 20 of 1 mentioning delivery, 20 of 5 with a comment and no theme (all
English, chat), so delivery is 50% of May's comments.

Another organisation has a ``delivery`` theme with 10 mentions of its own: never counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session
from tests.store.analysis_support import analysed, answer, theme, write

from cxpulse.report.filters_url import ViewFilters, Window
from cxpulse.store import accounts, surveys
from cxpulse.store.models import Organisation, Survey

TODAY = date(2025, 9, 1)
JUNE = Window(date(2025, 6, 1), date(2025, 7, 1))
MAY_TO_JUNE = Window(date(2025, 5, 1), date(2025, 7, 1))
JUNE_VIEW = ViewFilters(start=JUNE.start, to=JUNE.last_day)


@dataclass(frozen=True)
class Themed:
    organisation: Organisation
    survey: Survey
    delivery_id: int
    staff_id: int


def _at(day: date, n: int) -> datetime:
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC) + timedelta(hours=n * 5)


def build(session: Session) -> Themed:
    organisation = accounts.create_organisation(session, slug="shop", name="Shop")
    survey = surveys.create_survey(
        session, organisation.id, slug="csat", name="Support CSAT", metric="csat"
    )
    org, sid = organisation.id, survey.id
    delivery = theme(session, org, "delivery", "late delivery")
    staff = theme(session, org, "staff", "friendly staff")
    june, may = date(2025, 6, 1), date(2025, 5, 1)
    for n in range(50):
        answer(session, org, sid, 5, None, at=_at(june, n), channel="email")
    results = []
    for n in range(20):
        found = answer(
            session, org, sid, 5, f"Friendly staff {n}", at=_at(june, n), channel="email"
        )
        results.append(analysed(found, [(staff.id, "positive")], language="sv"))
    for n in range(30):
        found = answer(
            session,
            org,
            sid,
            1,
            f"Late delivery {n}, write to ann@example.com",
            at=_at(june, n) + timedelta(minutes=1),
            channel="chat",
        )
        results.append(
            analysed(found, [(delivery.id, "negative")], sentiment="negative", language="en")
        )
    for n in range(5):
        answer(session, org, sid, 3, f"Not read yet {n}", at=_at(june, 40 + n), channel="chat")
    for n in range(20):
        found = answer(session, org, sid, 1, f"Late delivery in May {n}", at=_at(may, n))
        results.append(analysed(found, [(delivery.id, "negative")], sentiment="negative"))
        found = answer(session, org, sid, 5, f"All good {n}", at=_at(may, n), channel="chat")
        results.append(analysed(found))
    write(session, org, *results)

    other = accounts.create_organisation(session, slug="other", name="Other")
    other_survey = surveys.create_survey(session, other.id, slug="csat", name="X", metric="csat")
    other_delivery = theme(session, other.id, "delivery", "late delivery")
    write(
        session,
        other.id,
        *(
            analysed(
                answer(session, other.id, other_survey.id, 1, f"Late {n}", at=_at(june, n)),
                [(other_delivery.id, "negative")],
            )
            for n in range(10)
        ),
    )
    session.flush()
    return Themed(organisation, survey, delivery.id, staff.id)
