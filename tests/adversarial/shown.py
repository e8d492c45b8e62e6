"""Where a stored answer shows again, and how it must look there: intact in the API's JSON,
HTML-escaped in pages, neutralised in CSV exports (``cxpulse.csv_safety``), and never a
server error or a traceback on the way."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import escape

from cxpulse.csv_safety import neutralise_cell
from cxpulse.report import monthly

from .site import BASELINE_COMMENT, Site, Target, field_refusal

RAW_SIGNS = ("<", ">", '"', "'")
"""Characters that never survive HTML escaping: a value holding one of them, found as it is
in a page, was not escaped. (``&`` does survive, inside ``&amp;``.)"""
FILTER_MAX_TEXT = 200
"""Longest value a dashboard filter takes (``report.filters_url.MAX_TEXT``)."""


def variants(value: str) -> set[str]:
    """What ``value`` may be stored as: as sent, or without surrounding white space."""
    return {v for v in (value, value.strip()) if v}


def in_page(page: str, shown: str, what: str, *, times: int = 1) -> None:
    """``shown`` appears escaped in ``page`` (at least ``times`` times), never raw."""
    escaped = str(escape(shown))
    found = page.count(escaped)
    assert found >= times, f"{what}: {escaped[:200]!r} shown {found} times, not {times}"
    if any(sign in shown for sign in RAW_SIGNS):
        assert shown not in page, f"{what}: {shown[:200]!r} is in the page unescaped"


def compact(text: str) -> str:
    """``text`` without white space: mail bodies are re-wrapped and line breaks normalised."""
    return "".join(text.split())


@dataclass(frozen=True)
class Kind:
    """One kind of hostile value: which answer field it goes in, where it is read back
    from the API's JSON and CSV exports, and what the pages show of it."""

    name: str
    field: str
    stored: Callable[[Mapping[str, Any]], str | None]
    """The value as the API returns it in a response."""
    export: Callable[[str], tuple[str, str]]
    """The export column and cell of the value, given the stored value."""
    drill_text: Callable[[str], str]
    """What the drill-down shows, given the stored value."""
    breakdown: Callable[[str], tuple[str, str]] | None = None
    """The dashboard's ``by`` breaking down by the value, and what that page then shows."""
    filters: Callable[[str], dict[str, str]] | None = None
    """Dashboard filters selecting the answers that carry the value."""
    segment: Callable[[str], dict[str, str]] | None = None
    """A goal segment naming the value, where goals may."""


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def check_exports(site: Site, target: Target, kind: Kind, stored: list[str]) -> None:
    """Both CSV exports hold each stored value, neutralised and otherwise intact."""
    for path in (
        f"/api/v1/surveys/{target.id}/responses/export.csv",
        f"/app/surveys/{target.id}/export/responses.csv",
    ):
        answer = site.get(path)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
        rows = [r for r in _csv_rows(answer.text) if r["id"] != str(target.baseline_id)]
        assert len(rows) == len(stored), (path, len(rows), len(stored))
        for value in set(stored):
            column, cell = kind.export(value)
            found = sum(1 for r in rows if r.get(neutralise_cell(column)) == neutralise_cell(cell))
            assert found == stored.count(value), f"{path}: {column!r} = {cell[:100]!r} {found}x"


def check_views(site: Site, target: Target, kind: Kind, value: str, stored_count: int) -> None:
    """After ``stored_count`` answers carrying ``value`` were stored (0: all refused): what
    the API, the pages, the exports, the report and its email show."""
    items = site.stored(target)
    assert len(items) == stored_count, f"{stored_count} answers stored, {len(items)} found"
    stored = [kind.stored(item) for item in items]
    for got in stored:
        assert got in variants(value), f"stored {got!r} is not {value!r}"
    shown = [v for v in stored if v is not None]

    drill = site.get(f"/app/surveys/{target.id}/responses")
    assert drill.status_code == 200
    assert BASELINE_COMMENT in drill.text
    for v in set(shown):
        in_page(drill.text, kind.drill_text(v), "drill-down", times=shown.count(v))
    if shown:
        check_exports(site, target, kind, shown)

    assert site.get("/app").status_code == 200
    assert site.get(f"/app/surveys/{target.id}").status_code == 200
    for v in set(shown):
        check_dashboard(site, target, kind, v, shown.count(v))

    if kind.segment is None:
        return  # the report and its email show no value of this kind
    goal_key = _goal(site, target, kind, shown)
    month = datetime.now(UTC).strftime("%Y-%m")
    report = site.get(f"/app/surveys/{target.id}/report", {"month": month})
    assert report.status_code == 200, report.text[:300]
    with site.db() as session:
        email = monthly.report_email(session, site.world.a.id, target.id, month)
    for key, segment_value in goal_key.items():
        for shown_text in (key, segment_value):
            in_page(report.text, shown_text, "monthly report")
            assert compact(str(escape(shown_text))) in compact(email.html), "report email"


def check_dashboard(site: Site, target: Target, kind: Kind, value: str, times: int) -> None:
    """The dashboard broken down by the value, and filtered on it, with its drill-down."""
    base = f"/app/surveys/{target.id}"
    if kind.breakdown is not None:
        by, shows = kind.breakdown(value)
        page = site.get(base, {"by": by})
        assert page.status_code == 200, (by, page.status_code)
        in_page(page.text, shows, f"dashboard by {by!r}")
    if kind.filters is not None:
        params = kind.filters(value)
        page = site.get(base, params)
        drilled = site.get(f"{base}/responses", params)
        if page.status_code == 422:
            # The dashboard's own limit on filter values, said beside the field.
            assert len(value) > FILTER_MAX_TEXT, (params, page.text[:300])
            assert drilled.status_code == 422
            return
        assert page.status_code == 200, (params, page.status_code)
        assert drilled.status_code == 200, (params, drilled.status_code)
        in_page(drilled.text, kind.drill_text(value), "filtered drill-down", times=times)
        assert BASELINE_COMMENT not in drilled.text, "the filter let other answers through"


def _goal(site: Site, target: Target, kind: Kind, shown: list[str]) -> dict[str, str]:
    """A goal on the value's segment: its segment once created."""
    if kind.segment is None or not shown:
        return {}
    segment = kind.segment(shown[0])
    created = site.client.post(
        f"/api/v1/surveys/{target.id}/goals",
        json={
            "name": "Hostile goal",
            "target": 90,
            "baseline": 80,
            "months": 3,
            "segment": segment,
        },
        headers=site.owner,
    )
    if created.status_code != 201:
        field_refusal(created, "goal", ["body", "segment"])
        return {}
    assert created.json()["segment"] == segment
    goals = site.get(f"/api/v1/surveys/{target.id}/goals")
    assert goals.status_code == 200
    assert [g["segment"] for g in goals.json()["items"]] == [segment]
    return segment
