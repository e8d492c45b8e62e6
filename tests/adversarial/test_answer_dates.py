"""Dates at the edges, at every door that takes an answer's date, then every page.

Answers may be dated from 1970-01-01 to one day past now (``store._values``:
``answer_time_problem``); every door must apply that rule, refuse anything else naming the
field (the API) or the line and column (an import), and whatever is stored must leave the
dashboards of the organisation working: issue 10 saw one answer dated 9999-12-31 turn every
dashboard into a 500, and one dated 2999 move the default view to an empty future year.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from cxpulse.store._values import answer_time_problem

from .doors import ANSWER_DOORS, benign
from .hostile import EDGE_CASES, DateCase, dates, expected_instant
from .site import BASELINE_COMMENT, Site, Target


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def check_pages(site: Site, target: Target, accepted: datetime | None, stored: int) -> None:
    """``stored`` answers dated ``accepted`` (when known) are intact in the API and the
    export, and every page of the organisation still works, its default view included."""
    items = site.stored(target)
    assert len(items) == stored, f"{stored} answers stored, {len(items)} found"
    if not stored:
        return  # nothing changed: the pages are those of the baseline answer
    for item in items:
        assert accepted is None or _instant(item["submitted_at"]) == accepted, item
    exported = site.get(f"/api/v1/surveys/{target.id}/responses/export.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text, newline="")))
    moments = {_instant(r["submitted_at"]) for r in rows if r["id"] != str(target.baseline_id)}
    assert len(moments) <= 1, moments
    assert accepted is None or moments <= {accepted}, moments

    assert site.get("/app").status_code == 200
    assert site.get(f"/app/surveys/{target.id}").status_code == 200
    # The default view still shows the answer of an hour ago.
    drill = site.get(f"/app/surveys/{target.id}/responses")
    assert drill.status_code == 200
    assert BASELINE_COMMENT in drill.text, "the default view lost the answers of today"
    month = datetime.now(UTC).strftime("%Y-%m")
    assert site.get(f"/app/surveys/{target.id}/report", {"month": month}).status_code == 200


def test_edge_dates(site: Site) -> None:
    """Every edge date, each reported when it goes wrong (one app for all: starting one
    costs more than a date)."""
    failures: list[str] = []
    for case in EDGE_CASES:
        try:
            check_date(site, case)
        except Exception as error:
            failures.append(f"{case.text!r}: {type(error).__name__}: {str(error)[:300]}")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=dates)
def test_generated_dates(site: Site, case: DateCase) -> None:
    check_date(site, case)


def check_date(site: Site, case: DateCase) -> None:
    """The same date at every door: the same decision, by the rule, and working pages."""
    instant = expected_instant(case.text)
    allowed = instant is not None and answer_time_problem(instant) is None
    answer = benign(submitted_at=case.text)
    # Import files read a date without an offset as UTC (documented), the API refuses it.
    doors = ["api", "batch", "import"] if case.zoned else ["api", "batch"]
    with site.survey() as target:
        decisions = {
            door: ANSWER_DOORS[door](site, target, answer, "submitted_at").stored for door in doors
        }
        # Pages first: a date wrongly accepted must still not break them (issue 10, defect 1).
        check_pages(site, target, instant, sum(decisions.values()))
    assert all(stored == allowed for stored in decisions.values()), (
        f"{case.text!r} should be {'accepted' if allowed else 'refused'}: {decisions}"
    )
