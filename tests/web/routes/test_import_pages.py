"""The import pages (``/app/imports``): upload, map, preview, import with its report, undo;
on SQLite and PostgreSQL, with the dashboard's numbers the same before an import and after
it is undone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import comment_analysis
from cxpulse.store.models import (
    AuditLog,
    CommentRollup,
    DailyRollup,
    ImportRun,
    Response,
    ThemeRollup,
)
from cxpulse.web.routes import import_pages
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import BASE_URL, World, make_app, session_headers

CSV = (
    "id,Rating,Comment,Date,Channel,Agent\n"
    "r1,5,Great and quick delivery,2025-03-01 10:00,email,Ann\n"
    "r2,4,Friendly support,2025-03-02 11:00,chat,Bob\n"
    "r3,9,Too high,2025-03-03 12:00,email,Ann\n"
    "r4,1,The delivery was late,2025-03-04 09:30,web,Cy\n"
    "r5,,not rated,2025-03-05 09:30,web,Cy\n"
)
MAPPING = {
    "preset": "",
    "map_score": "Rating",
    "map_comment": "Comment",
    "map_submitted_at": "Date",
    "map_channel": "Channel",
    "map_id": "id",
    "property": "Agent",
}


@pytest.fixture(autouse=True)
def uploads(tmp_path: Path) -> Iterator[Path]:
    """Uploads wait in this test's own folder."""
    root = import_pages.UPLOADS.root
    import_pages.UPLOADS.root = tmp_path / "uploads"
    yield import_pages.UPLOADS.root
    import_pages.UPLOADS.root = root


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _upload(
    client: TestClient,
    headers: dict[str, str],
    token: str,
    survey_id: int,
    text: str = CSV,
    name: str = "answers.csv",
) -> Any:
    return client.post(
        "/app/imports/new",
        headers=headers,
        data={"csrf_token": token, "survey_id": str(survey_id)},
        files={"file": (name, text.encode(), "text/csv")},
        follow_redirects=False,
    )


def _uploaded(client: TestClient, headers: dict[str, str], token: str, survey_id: int) -> str:
    sent = _upload(client, headers, token, survey_id)
    assert sent.status_code == 303, sent.text
    location = str(sent.headers["location"])
    assert re.fullmatch(r"/app/imports/new/[A-Za-z0-9_-]{32}", location)
    return location


def _counts(db: sessionmaker[Session], org_id: int) -> dict[str, Any]:
    """Every count the dashboard and the theme pages are drawn from."""
    with db() as session:
        return {
            "responses": session.scalar(
                select(func.count()).select_from(Response).where(Response.organisation_id == org_id)
            ),
            "daily": sorted(
                (r.survey_id, r.day, r.channel, r.touchpoint, r.score, r.count)
                for r in session.scalars(
                    select(DailyRollup).where(DailyRollup.organisation_id == org_id)
                )
            ),
            "comments": sorted(
                (r.survey_id, r.day, r.score, r.count)
                for r in session.scalars(
                    select(CommentRollup).where(CommentRollup.organisation_id == org_id)
                )
            ),
            "themes": sorted(
                (r.survey_id, r.theme_id, r.day, r.score, r.sentiment, r.count)
                for r in session.scalars(
                    select(ThemeRollup).where(ThemeRollup.organisation_id == org_id)
                )
            ),
        }


def _dashboard(client: TestClient, world: World) -> Any:
    metrics = client.get(
        f"/api/v1/surveys/{world.a.survey_id}/metrics",
        params={"period": "month", "group_by": "channel"},
        headers={"Authorization": f"Bearer {world.a.read_key}"},
    )
    assert metrics.status_code == 200, metrics.text
    return metrics.json()


def test_upload_map_preview_import_report_and_undo(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    with db.begin() as session:
        comment_analysis.ensure_starter_taxonomy(session, a.id)
    comment_analysis.analyse_pending(db, batch=1000)
    before_counts = _counts(db, a.id)
    before_metrics = _dashboard(client, world)
    analyst, token = _browser(app, a.users["analyst"])

    listing = client.get("/app/imports", headers=analyst)
    assert listing.status_code == 200
    assert 'href="/app/imports/new"' in listing.text
    form = client.get(f"/app/imports/new?survey={a.survey_id}", headers=analyst)
    assert form.status_code == 200
    assert f'<option value="{a.survey_id}" selected>' in form.text

    mapping_url = _uploaded(client, analyst, token, a.survey_id)
    mapping = client.get(mapping_url, headers=analyst)
    assert mapping.status_code == 200
    for column in ("Rating", "Comment", "Agent"):
        assert f'<option value="{column}"' in mapping.text
    # Columns named like a field are chosen first.
    assert '<option value="id" selected>' in mapping.text

    preview = client.get(mapping_url, headers=analyst, params={**MAPPING, "preview": "1"})
    assert preview.status_code == 200, preview.text
    page = preview.text
    assert "Line 4" in page  # r3, with its score of 9
    assert "is not on the" in page
    assert "2025-03-01 10:00" in page
    assert "Import 3 answers" in page
    with db() as session:  # a preview stores nothing
        assert session.scalar(select(func.count()).select_from(ImportRun)) == 0

    done = client.post(
        mapping_url,
        headers=analyst,
        data={"csrf_token": token, **MAPPING, "skip_invalid": "on"},
    )
    assert done.status_code == 200, done.text
    report = done.text
    assert "3 answers stored" in report
    assert "Line 4" in report
    assert "Rating" in report
    found = re.search(r'href="/app/imports/(\d+)"', report)
    assert found is not None
    run_id = int(found.group(1))
    with db() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        assert (run.rows_total, run.rows_stored, run.rows_rejected) == (5, 3, 1)
        assert run.created_by == a.users["analyst"]
        tagged = session.scalars(select(Response).where(Response.import_run_id == run_id)).all()
        assert sorted(r.score for r in tagged) == [1.0, 4.0, 5.0]
        assert {r.properties.get("agent") for r in tagged} == {"Ann", "Bob", "Cy"}
    # The upload is gone once imported.
    assert client.get(mapping_url, headers=analyst).status_code == 404
    comment_analysis.analyse_pending(db, batch=1000)
    assert _counts(db, a.id) != before_counts
    assert _dashboard(client, world) != before_metrics

    listed = client.get("/app/imports", headers=analyst).text
    assert "answers.csv" in listed
    assert "Analyst of org-a" in listed
    # Another organisation sees neither the run nor its page.
    other, _ = _browser(app, world.b.users["analyst"])
    assert "answers.csv" not in client.get("/app/imports", headers=other).text
    assert client.get(f"/app/imports/{run_id}", headers=other).status_code == 404

    confirm = client.get(f"/app/imports/{run_id}/undo", headers=analyst)
    assert confirm.status_code == 200
    assert "Delete 3 answers" in confirm.text
    undo = client.post(
        f"/app/imports/{run_id}/undo",
        headers=analyst,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert undo.status_code == 303
    assert undo.headers["location"] == f"/app/imports/{run_id}?undone=1"
    assert _counts(db, a.id) == before_counts
    assert _dashboard(client, world) == before_metrics
    with db() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        assert run.undone_at is not None
        audits = session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "undo")
        )
    assert audits == 1
    assert "Undone" in client.get(f"/app/imports/{run_id}?undone=1", headers=analyst).text

    # Undoing twice does nothing the second time.
    again = client.post(
        f"/app/imports/{run_id}/undo",
        headers=analyst,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert _counts(db, a.id) == before_counts
    with db() as session:
        audits = session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "undo")
        )
    assert audits == 1
    # The confirmation of an undone import leads back to it.
    shown = client.get(f"/app/imports/{run_id}/undo", headers=analyst, follow_redirects=False)
    assert shown.status_code == 303


def test_invalid_rows_not_skipped_store_nothing(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    before = _counts(db, a.id)
    analyst, token = _browser(app, a.users["analyst"])
    mapping_url = _uploaded(client, analyst, token, a.survey_id)
    refused = client.post(mapping_url, headers=analyst, data={"csrf_token": token, **MAPPING})
    assert refused.status_code == 422
    assert "nothing was stored" in refused.text
    assert "Line 4" in refused.text
    assert _counts(db, a.id) == before
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ImportRun)) == 0
    # The upload waits for another try.
    assert client.get(mapping_url, headers=analyst).status_code == 200


def test_mapping_problems_are_shown_by_their_fields(
    app: FastAPI, client: TestClient, world: World
) -> None:
    a = world.a
    analyst, token = _browser(app, a.users["analyst"])
    mapping_url = _uploaded(client, analyst, token, a.survey_id)
    params = {**MAPPING, "map_score": "-", "preview": "1"}
    page = client.get(mapping_url, headers=analyst, params=params)
    assert page.status_code == 422
    assert 'id="score-error"' in page.text
    assert '<option value="Comment" selected>' in page.text  # the values are kept
    params = {**MAPPING, "map_comment": "Nope", "preview": "1"}
    page = client.get(mapping_url, headers=analyst, params=params)
    assert page.status_code == 422
    assert 'id="comment-error"' in page.text
    params = {**MAPPING, "date_format": "%d.%m.%Y", "preview": "1"}
    page = client.get(mapping_url, headers=analyst, params=params)
    assert page.status_code == 200  # a date that does not parse is a row's problem
    assert "Invalid" in page.text
    posted = client.post(
        mapping_url, headers=analyst, data={"csrf_token": token, **MAPPING, "map_score": "-"}
    )
    assert posted.status_code == 422
    assert 'id="score-error"' in posted.text


def test_uploads_are_checked_and_kept_for_their_user(
    app: FastAPI, client: TestClient, world: World
) -> None:
    a = world.a
    analyst, token = _browser(app, a.users["analyst"])
    wrong = _upload(client, analyst, token, a.survey_id, name="answers.exe")
    assert wrong.status_code == 422
    assert 'id="file-error"' in wrong.text
    empty = _upload(client, analyst, token, a.survey_id, text="")
    assert empty.status_code == 422
    assert 'id="file-error"' in empty.text
    foreign = _upload(client, analyst, token, world.b.survey_id)
    assert foreign.status_code == 422
    assert 'id="survey_id-error"' in foreign.text
    forged = client.post(
        "/app/imports/new",
        headers=analyst,
        data={"csrf_token": "forged", "survey_id": str(a.survey_id)},
        files={"file": ("a.csv", CSV.encode(), "text/csv")},
    )
    assert forged.status_code == 403
    mapping_url = _uploaded(client, analyst, token, a.survey_id)
    admin, _ = _browser(app, a.users["admin"])
    assert client.get(mapping_url, headers=admin).status_code == 404  # someone else's upload
    assert client.get("/app/imports/new/" + "x" * 32, headers=analyst).status_code == 404
    assert client.get("/app/imports/new/../../etc", headers=analyst).status_code == 404


def test_roles_without_import_rights_are_refused(
    app: FastAPI, client: TestClient, world: World
) -> None:
    a = world.a
    for role in ("viewer", "agent"):
        headers, token = _browser(app, a.users[role])
        assert client.get("/app/imports", headers=headers).status_code == 403
        assert client.get("/app/imports/new", headers=headers).status_code == 403
        assert _upload(client, headers, token, a.survey_id).status_code == 403
    assert client.get("/app/imports", follow_redirects=False).status_code in (303, 307)


def test_an_upload_over_the_limit_is_refused(engine: Engine, world: World, uploads: Path) -> None:
    app = make_app(engine, import_max_mb=0.001)
    with TestClient(app, base_url=BASE_URL) as client:
        analyst, token = _browser(app, world.a.users["analyst"])
        big = "id,Rating\n" + "".join(f"r{n},5\n" for n in range(500))
        refused = _upload(client, analyst, token, world.a.survey_id, text=big)
        assert refused.status_code == 413
        assert "import limit" in refused.text
        # Without a declared length, the limit holds while the body is read.
        huge = "id,Rating\n" + "".join(f"r{n},5\n" for n in range(200_000))
        body = (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            + huge.encode()
            + b"\r\n--b--\r\n"
        )

        def chunks() -> Iterator[bytes]:
            yield body

        streamed = client.post(
            "/app/imports/new",
            headers={**analyst, "Content-Type": "multipart/form-data; boundary=b"},
            content=chunks(),
        )
        assert streamed.status_code == 413
    assert not any(uploads.glob("*/*.csv"))


def _current_step(html: str) -> str:
    found = re.findall(r'<li aria-current="step"><strong>([^<]+)</strong></li>', html)
    assert len(found) == 1, found
    return str(found[0])


def test_each_step_marks_itself_current(app: FastAPI, client: TestClient, world: World) -> None:
    """Defect: the preview (still "Map the columns") marked step 3, "Import", as current."""
    a = world.a
    analyst, token = _browser(app, a.users["analyst"])
    assert _current_step(client.get("/app/imports/new", headers=analyst).text) == "1. Upload"
    mapping_url = _uploaded(client, analyst, token, a.survey_id)
    mapping = client.get(mapping_url, headers=analyst)
    assert _current_step(mapping.text) == "2. Map the columns"
    preview = client.get(mapping_url, headers=analyst, params={**MAPPING, "preview": "1"})
    assert preview.status_code == 200
    assert "<h1>Map the columns" in preview.text
    assert _current_step(preview.text) == "2. Map the columns"
    done = client.post(
        mapping_url, headers=analyst, data={"csrf_token": token, **MAPPING, "skip_invalid": "on"}
    )
    assert done.status_code == 200
    assert _current_step(done.text) == "3. Import"
