"""The signed-in dashboard pages on SQLite and PostgreSQL: login, survey pages, filters in
the URL, drill-down, exports, permissions and organisation isolation.

The ``world`` survey of each organisation holds 10 CSAT answers, one a day from
2025-01-01: scores 1, 2, 3, 4, 5, 1, 2, 3, 4, 5; odd days (n = 1, 3, ...) by email, even by
chat; comments "comment <n>".
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import goals as goal_store
from cxpulse.report import monthly, pdf, views
from cxpulse.store import responses, surveys
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

from .helpers import BASE_URL, PASSWORD, World, make_app, session_headers

LINK = re.compile(r'href="(/app/surveys/\d+/responses\?[^"]*)"[^>]*>([^<]*)<')


def _page(client: TestClient, app: FastAPI, user: int, url: str) -> str:
    answer = client.get(url, headers=session_headers(app, user))
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def _rows(page: str) -> int:
    body = page.split('id="responses-table"', 1)[1].split("</table>", 1)[0]
    return body.count('<th scope="row">')


# --------------------------------------------------------------------------- login


def test_pages_redirect_to_login_when_signed_out(client: TestClient, world: World) -> None:
    for url in (
        "/app",
        f"/app/surveys/{world.a.survey_id}?channel=email",
        f"/app/surveys/{world.a.survey_id}/report?month=2025-01",
    ):
        answer = client.get(url, follow_redirects=False)
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert location.startswith("/login?next=")
        assert parse_qs(urlsplit(location).query)["next"] == [url]
    front = client.get("/", follow_redirects=False)
    assert front.status_code == 303
    assert front.headers["location"] == "/app"


def test_login_form_sets_the_session_and_logout_ends_it(client: TestClient, world: World) -> None:
    form = client.get("/login?next=/app/surveys/1")
    assert form.status_code == 200
    assert 'name="password"' in form.text
    assert 'for="email"' in form.text
    wrong = client.post("/login", data={"email": world.a.emails["viewer"], "password": "nope"})
    assert wrong.status_code == 401
    assert "Wrong email or password" in wrong.text
    assert SESSION_COOKIE not in client.cookies
    answer = client.post(
        "/login",
        data={"email": world.a.emails["viewer"], "password": PASSWORD, "next": "/app"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app"
    assert SESSION_COOKIE in client.cookies
    assert CSRF_COOKIE in client.cookies
    surveys = client.get("/app")
    assert surveys.status_code == 200
    assert "Support CSAT" in surveys.text
    # The same session works for the JSON API.
    assert client.get("/api/v1/auth/me").status_code == 200
    refused = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    out = client.post(
        "/logout", data={"csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False
    )
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert client.get("/app", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(client: TestClient, world: World) -> None:
    for target in ("//evil.example/app", "https://evil.example", "/api/v1/auth/me"):
        answer = client.post(
            "/login",
            data={"email": world.a.emails["owner"], "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/app"


def test_login_form_is_rate_limited(engine: Engine, world: World) -> None:
    app = make_app(engine, login_burst=2, login_per_minute=1.0)
    with TestClient(app, base_url=BASE_URL) as client:
        for _ in range(2):
            data = {"email": world.a.emails["owner"], "password": "wrong"}
            assert client.post("/login", data=data).status_code == 401
        limited = client.post(
            "/login", data={"email": world.a.emails["owner"], "password": PASSWORD}
        )
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        again = client.post("/login", data={"email": world.a.emails["owner"], "password": PASSWORD})
        assert again.status_code == 429


def test_login_form_needs_both_fields(client: TestClient) -> None:
    answer = client.post("/login", data={"email": "", "password": ""})
    assert answer.status_code == 422
    assert "Enter your email" in answer.text


# --------------------------------------------------------------------------- pages


def test_survey_list_shows_the_headline(client: TestClient, app: FastAPI, world: World) -> None:
    page = _page(client, app, world.a.users["viewer"], "/app")
    assert f'href="/app/surveys/{world.a.survey_id}"' in page
    # 4 of 10 answers are 4 or 5: CSAT 40.0, n = 10, too few to read.
    assert ">40.0<" in page
    assert '>10 <span class="flag">too few' in page


def test_survey_page_shows_every_section(client: TestClient, app: FastAPI, world: World) -> None:
    page = _page(client, app, world.a.users["analyst"], f"/app/surveys/{world.a.survey_id}")
    for heading in (
        "Headline",
        "Trend by month",
        "Distribution of answers",
        "Response and comment rates",
        "Breakdown by channel",
        "Benchmark",
        "Export this view",
    ):
        assert f">{heading}</h2>" in page, heading
    assert "2024-01-11 to 2025-01-10" in page
    assert page.count("<svg") >= 2  # trend and distribution charts, drawn on the server
    assert "<caption>" in page
    assert 'scope="col"' in page
    assert "no comparison: a period has no answers" in page
    assert "Comment rate: <strong>100.0%</strong>" in page


def test_filters_in_the_url_change_the_numbers(
    client: TestClient, app: FastAPI, world: World
) -> None:
    user = world.a.users["analyst"]
    base = f"/app/surveys/{world.a.survey_id}"
    everything = _page(client, app, user, base)
    email = _page(client, app, user, base + "?channel=email&by=property:team&grain=week")
    # Email answers: n = 1, 3, 5, 7, 9 -> scores 2, 4, 1, 3, 5: CSAT 40.0 of 5.
    assert 'value="email"' in email  # the form shows the filter
    assert "Breakdown by property:team" in email
    assert "2025-W01" in email
    assert "2025-W01" not in everything
    links = LINK.findall(email)
    assert links
    assert all("channel=email" in href for href, _ in links)
    n_everything = re.search(r"n = <a [^>]*>(\d+)</a>", everything)
    n_email = re.search(r"n = <a [^>]*>(\d+)</a>", email)
    assert n_everything
    assert n_email
    assert (n_everything.group(1), n_email.group(1)) == ("10", "5")
    period = _page(client, app, user, base + "?from=2025-01-03&to=2025-01-04")
    found = re.search(r"n = <a [^>]*>(\d+)</a>", period)
    assert found
    assert found.group(1) == "2"


@pytest.mark.parametrize(
    "query", ["channel=chat", "by=language&source=api", "by=source&language=", "by=property:team"]
)
def test_every_number_links_to_exactly_its_responses(
    client: TestClient, app: FastAPI, world: World, query: str
) -> None:
    user = world.a.users["analyst"]
    page = _page(client, app, user, f"/app/surveys/{world.a.survey_id}?{query}")
    links = LINK.findall(page)
    assert len(links) >= 8
    checked = 0
    for href, text in links:
        if not text.strip().isdigit():
            continue  # a score such as "40.0%": the satisfied answers behind it
        listing = _page(client, app, user, html.unescape(href))
        assert _rows(listing) == int(text), (href, text)
        checked += 1
    assert checked >= 5


def test_bad_filters_are_explained_not_crashed(
    client: TestClient, app: FastAPI, world: World
) -> None:
    answer = client.get(
        f"/app/surveys/{world.a.survey_id}?from=someday&grain=hour&by=colour&months=999&source=x",
        headers=session_headers(app, world.a.users["viewer"]),
    )
    assert answer.status_code == 422
    for name in ("from", "grain", "by", "months", "source"):
        assert f"<strong>{name}</strong>" in answer.text
    for query in ("from=1901-01-01", "to=9999-12-31", "from=0001-01-01&grain=day"):
        long = client.get(
            f"/app/surveys/{world.a.survey_id}?{query}",
            headers=session_headers(app, world.a.users["viewer"]),
        )
        assert long.status_code == 422, query
        assert "<strong>" in long.text
    drill = client.get(
        f"/app/surveys/{world.a.survey_id}/responses?after=garbage&min_score=x",
        headers=session_headers(app, world.a.users["analyst"]),
    )
    assert drill.status_code == 422
    assert "<strong>min_score</strong>" in drill.text


# --------------------------------------------------------------------------- drill-down


def test_drill_down_search_pagination_and_escaping(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    with db() as session:
        responses.add_responses(
            session,
            org.id,
            [
                responses.NewResponse(
                    survey_id=org.survey_id,
                    score=1.0,
                    comment=f"<script>alert({n})</script> slow & late",
                    properties={"agent": "<b>Ann</b>"},
                )
                for n in range(60)
            ],
        )
        session.commit()
    user = org.users["analyst"]
    base = f"/app/surveys/{org.survey_id}/responses"
    first = _page(client, app, user, base + "?q=SLOW")
    assert "<script>alert" not in first
    assert "&lt;script&gt;alert(" in first
    assert "&lt;b&gt;Ann&lt;/b&gt;" in first
    assert _rows(first) == 50
    following = re.search(r'href="([^"]+)" rel="next"', first)
    assert following
    second = _page(client, app, user, html.unescape(following.group(1)))
    assert _rows(second) == 10
    assert 'rel="next"' not in second
    assert _rows(_page(client, app, user, base + "?q=comment%203&months=36")) == 1


# --------------------------------------------------------------------------- exports


def test_exports_of_the_view(client: TestClient, app: FastAPI, world: World) -> None:
    org = world.a
    headers = session_headers(app, org.users["analyst"])
    base = f"/app/surveys/{org.survey_id}/export"
    answer = client.get(f"{base}/responses.csv?channel=email&min_score=4", headers=headers)
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert sorted(int(float(r["score"])) for r in rows) == [4, 5]
    assert {r["channel"] for r in rows} == {"email"}
    xlsx = client.get(f"{base}/responses.xlsx?channel=chat", headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert sheet.max_row == 1 + 5
    parquet = client.get(f"{base}/responses.parquet", headers=headers)
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 10

    tables = client.get(f"{base}/tables.csv?channel=email", headers=headers)
    assert tables.status_code == 200
    table = list(csv.DictReader(io.StringIO(tables.text)))
    headline = table[0]
    assert (headline["table"], headline["metric"], headline["n"]) == ("headline", "CSAT", "5")
    assert float(headline["value"]) == pytest.approx(40.0)
    assert any(r["table"] == "breakdown by channel" and r["group"] == "email" for r in table)
    wb = client.get(f"{base}/tables.xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(wb.content)).active
    assert sheet is not None
    assert sheet.cell(1, 1).value == "table"
    pt = pq.read_table(io.BytesIO(client.get(f"{base}/tables.parquet", headers=headers).content))
    assert pt.column("n").to_pylist()[0] == 10


def test_table_exports_neutralise_formulas(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    with db() as session:
        responses.add_responses(
            session,
            org.id,
            [responses.NewResponse(survey_id=org.survey_id, score=5.0, channel="=cmd()")],
        )
        session.commit()
    headers = session_headers(app, org.users["analyst"])
    text = client.get(f"/app/surveys/{org.survey_id}/export/tables.csv", headers=headers).text
    assert "'=cmd()" in text
    assert ",=cmd()" not in text


# --------------------------------------------------------------------------- access


def test_roles(client: TestClient, app: FastAPI, world: World) -> None:
    org = world.a
    viewer = session_headers(app, org.users["viewer"])
    page = client.get(f"/app/surveys/{org.survey_id}", headers=viewer)
    assert page.status_code == 200
    assert "/responses?" not in page.text
    assert "Export this view" not in page.text
    for url in (
        f"/app/surveys/{org.survey_id}/responses",
        f"/app/surveys/{org.survey_id}/export/responses.csv",
        f"/app/surveys/{org.survey_id}/export/tables.csv",
    ):
        assert client.get(url, headers=viewer).status_code == 403, url
    agent = session_headers(app, org.users["agent"])
    assert client.get(f"/app/surveys/{org.survey_id}/responses", headers=agent).status_code == 200
    assert (
        client.get(f"/app/surveys/{org.survey_id}/export/tables.csv", headers=agent).status_code
        == 403
    )


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/responses",
        "/export/responses.csv",
        "/export/tables.xlsx",
        "/responses?q=comment",
        "/report",
        "/report?month=2025-01&format=pdf",
    ],
)
def test_other_organisations_surveys_are_not_found(
    client: TestClient, app: FastAPI, world: World, path: str
) -> None:
    headers = session_headers(app, world.a.users["owner"])
    answer = client.get(f"/app/surveys/{world.b.survey_id}{path}", headers=headers)
    assert answer.status_code == 404
    assert "comment" not in answer.text.split("<main", 1)[1]


def test_survey_list_shows_only_the_callers_organisation(
    client: TestClient, app: FastAPI, world: World
) -> None:
    page = _page(client, app, world.b.users["viewer"], "/app")
    assert f"/app/surveys/{world.b.survey_id}" in page
    assert f'/app/surveys/{world.a.survey_id}"' not in page


def test_breakdown_by_contact_attribute_and_property_filter(
    client: TestClient, app: FastAPI, world: World
) -> None:
    # Responses 0, 4 and 8 belong to the contact with plan "pro"; the rest have no contact.
    user = world.a.users["analyst"]
    base = f"/app/surveys/{world.a.survey_id}"
    page = _page(client, app, user, base + "?by=contact:plan")
    table = page.split('id="breakdown-table"', 1)[1].split("</table>", 1)[0]
    assert ">pro" in table
    assert "(none)" in table
    narrowed = _page(client, app, user, base + "?contact.plan=pro&property.team=tech")
    # Of responses 0, 4, 8 only 0 has team "tech" (n % 3 == 0).
    found = re.search(r"n = <a [^>]*>(\d+)</a>", narrowed)
    assert found
    assert found.group(1) == "1"


@pytest.mark.parametrize(
    ("metric", "scores", "marker"),
    [
        ("nps", [10.0, 9.0, 7.0, 3.0], "Promoters"),
        ("ces", [7.0, 6.0, 2.0, 5.0], ">CES</h3>"),
    ],
)
def test_other_metrics_render(
    client: TestClient,
    app: FastAPI,
    world: World,
    db: sessionmaker[Session],
    metric: str,
    scores: list[float],
    marker: str,
) -> None:
    with db() as session:
        survey = surveys.create_survey(
            session, world.a.id, slug=f"s-{metric}", name=f"Survey {metric}", metric=metric
        )
        responses.add_responses(
            session,
            world.a.id,
            [responses.NewResponse(survey_id=survey.id, score=s, channel="web") for s in scores],
        )
        session.commit()
        survey_id = survey.id
    page = _page(
        client, app, world.a.users["analyst"], f"/app/surveys/{survey_id}?grain=day&months=1"
    )
    assert marker in page
    assert page.count("<svg") >= 2
    assert ">4</a>" in page


def test_goals_show_and_their_names_stay_text(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    hostile = "</script><script>alert(1)</script><!--"
    with db() as session:
        goal_store.create_goal(
            session,
            world.a.id,
            world.a.survey_id,
            name=hostile,
            target=60.0,
            baseline=40.0,
            months=6,
        )
        session.commit()
    page = _page(client, app, world.a.users["viewer"], f"/app/surveys/{world.a.survey_id}")
    assert ">Goals</h2>" in page
    assert "<script>alert(1)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page  # the goals table, escaped
    # The chart specs carry the name as JSON with every "<" escaped.
    specs = re.findall(r'<script type="application/json" id="[a-z-]+">(.*?)</script>', page)
    assert len(specs) == 2
    assert any("\\u003c" in spec for spec in specs)
    assert all("<" not in spec for spec in specs)
    assert all(json.loads(spec)["$schema"].startswith("https://vega") for spec in specs)


def test_login_from_another_site_is_refused(client: TestClient, world: World) -> None:
    """Login CSRF: a page elsewhere must not sign a visitor in to an account it chose."""
    credentials = {"email": world.a.emails["viewer"], "password": PASSWORD}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    ):
        answer = client.post("/login", data=credentials, headers=headers, follow_redirects=False)
        assert answer.status_code == 403, headers
        assert SESSION_COOKIE not in client.cookies
    same = client.post(
        "/login",
        data=credentials,
        headers={"Origin": "https://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert same.status_code == 303


# --------------------------------------------------------------------------- monthly report


def test_comment_rate_is_estimated_for_large_views(
    client: TestClient, app: FastAPI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "COMMENT_RATE_MAX_SCAN", 5)
    page = _page(client, app, world.a.users["analyst"], f"/app/surveys/{world.a.survey_id}")
    rate = page.split('id="comment-rate">', 1)[1].split("</p>", 1)[0]
    assert "Comment rate: <strong>about 100.0%</strong>" in rate
    assert "estimated" in rate
    assert "10 of 10 answers" in rate
    assert "has_comment=true" in rate  # the commented answers are a click away


def test_survey_page_links_to_the_monthly_report(
    client: TestClient, app: FastAPI, world: World
) -> None:
    page = _page(client, app, world.a.users["viewer"], f"/app/surveys/{world.a.survey_id}")
    form = page.split('id="report-form"', 1)[1].split("</form>", 1)[0]
    assert 'method="get"' in page.split('id="report-form"', 1)[0].rsplit("<form", 1)[1]
    assert f'action="/app/surveys/{world.a.survey_id}/report"' in page
    # The view ends in January 2025 (the latest answer), a month long past: offered first.
    assert 'name="month" type="month" value="2025-01"' in form
    assert 'name="format" value="pdf"' in form


def test_monthly_report_page(client: TestClient, app: FastAPI, world: World) -> None:
    url = f"/app/surveys/{world.a.survey_id}/report?month=2025-01"
    answer = client.get(url, headers=session_headers(app, world.a.users["viewer"]))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "script-src" not in answer.headers["content-security-policy"]
    document = answer.text
    assert document.startswith("<!doctype html>")
    assert "<h1>Support CSAT — January 2025</h1>" in document
    # January: scores 1, 2, 3, 4, 5, 1, 2, 3, 4, 5: CSAT 4 of 10 = 40.0, DSAT 4 of 10 = 40.0.
    kpis = re.findall(r'<h3>([^<]+)</h3>\s*<p class="value">([^<]+)</p>', document)
    assert kpis == [("CSAT (%)", "40.0"), ("DSAT (%)", "40.0")]
    assert "n=10" in document
    assert "<script" not in document
    # The very document of `cxpulse report`, except the moment it was made.
    with_session = app.state.cxpulse.read_sessions
    with with_session() as session:
        expected = monthly.render_html(session, world.a.id, world.a.survey_id, "2025-01")
    stamp = re.compile(r"Generated by cxpulse on [0-9-]+ [0-9:]+ UTC")
    assert stamp.sub("", document) == stamp.sub("", expected)


def test_monthly_report_defaults_to_the_last_full_month(
    client: TestClient, app: FastAPI, world: World
) -> None:
    answer = client.get(
        f"/app/surveys/{world.a.survey_id}/report",
        headers=session_headers(app, world.a.users["viewer"]),
    )
    assert answer.status_code == 200
    last = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    assert f"<h1>Support CSAT — {last.strftime('%B %Y')}</h1>" in answer.text


@pytest.mark.parametrize(
    "query",
    [
        "month=2025-13",
        "month=2025-1",
        "month=January",
        "month=0000-01",
        "month=9999-12",
        "month=2999-12",  # not begun yet
        "month=%00",
        "month=2025-01&format=docx",
    ],
)
def test_monthly_report_bad_requests_are_pages_not_errors(
    client: TestClient, app: FastAPI, world: World, query: str
) -> None:
    answer = client.get(
        f"/app/surveys/{world.a.survey_id}/report?{query}",
        headers=session_headers(app, world.a.users["viewer"]),
    )
    assert answer.status_code == 422, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    assert "<h1>Invalid report</h1>" in answer.text
    assert "<script>" not in answer.text.split("<main", 1)[1]


def test_monthly_report_as_pdf(
    client: TestClient, app: FastAPI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF is the HTML report printed by Chromium (tests/report/test_monthly.py and the
    browser test print for real; here the printer is a stand-in)."""
    printed: list[str] = []

    def fake_print(html: str, target: Path, **_: object) -> Path:
        printed.append(html)
        target.write_bytes(b"%PDF-1.7 stand-in")
        return target

    monkeypatch.setattr(pdf, "html_to_pdf", fake_print)
    url = f"/app/surveys/{world.a.survey_id}/report?month=2025-01&format=pdf"
    answer = client.get(url, headers=session_headers(app, world.a.users["viewer"]))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="support-csat-2025-01-report.pdf"'
    )
    assert answer.content == b"%PDF-1.7 stand-in"
    assert "<h1>Support CSAT — January 2025</h1>" in printed[0]

    def broken_print(html: str, target: Path, **_: object) -> Path:
        raise pdf.PdfError("Chromium not found at '/nowhere'")

    monkeypatch.setattr(pdf, "html_to_pdf", broken_print)
    failed = client.get(url, headers=session_headers(app, world.a.users["viewer"]))
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "60"
    assert "the HTML version works" in failed.text
    assert "/nowhere" not in failed.text
