"""The signed-in dashboard pages on SQLite and PostgreSQL: survey pages, filters in the URL,
drill-down, permissions and organisation isolation.

The ``world`` survey of each organisation holds 10 CSAT answers, one a day from
2025-01-01: scores 1, 2, 3, 4, 5, 1, 2, 3, 4, 5; odd days (n = 1, 3, ...) by email, even by
chat; comments "comment <n>".
"""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import goals as goal_store
from cxpulse.report import comment_rate
from cxpulse.store import responses, surveys

from ..helpers import World, session_headers

LINK = re.compile(r'href="(/app/surveys/\d+/responses\?[^"]*)"[^>]*>([^<]*)<')


def _page(client: TestClient, app: FastAPI, user: int, url: str) -> str:
    answer = client.get(url, headers=session_headers(app, user))
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def _view_n(page: str) -> int:
    """Answers of the view's period: the sum of the trend table's n (the headline covers
    the last 30 days up to today, which the fixed test data precede)."""
    table = page.split('id="trend-table"', 1)[1].split("</table>", 1)[0]
    return sum(int(n) for n in re.findall(r">(\d+)</a></td>", table))


def _rows(page: str) -> int:
    body = page.split('id="responses-table"', 1)[1].split("</table>", 1)[0]
    return body.count('<th scope="row">')


def test_survey_page_shows_every_section(client: TestClient, app: FastAPI, world: World) -> None:
    page = _page(client, app, world.a.users["analyst"], f"/app/surveys/{world.a.survey_id}")
    for heading in (
        "Headline",
        "Trend by month",
        "Distribution of answers",
        "Response and comment rates",
        "Breakdown by channel",
        "Industry reference (ACSI)",
        "Export this view",
    ):
        assert f">{heading}</h2>" in page, heading
    assert "2024-01-11 to 2025-01-10" in page
    assert page.count("<svg") >= 2  # trend and distribution charts, drawn on the server
    assert "<caption>" in page
    assert 'scope="col"' in page
    # The headline's 30 days end today, long after the answers of January 2025.
    headline = page.split('id="headline-heading"', 1)[1].split("</section>", 1)[0]
    assert "no answers in either period" in headline
    assert "Comment rate: <strong>100.0%</strong>" in page


def test_the_headline_of_a_past_view_flags_too_few_answers(
    client: TestClient, app: FastAPI, world: World
) -> None:
    """Over the year to 2025-01-10: 4 of 10 answers are 4 or 5, CSAT 40.0%, n = 10, too few
    to read, and nothing before to compare with."""
    page = _page(
        client,
        app,
        world.a.users["analyst"],
        f"/app/surveys/{world.a.survey_id}?to=2025-01-10&compare=year",
    )
    headline = page.split('id="headline-heading"', 1)[1].split("</section>", 1)[0]
    assert "(2024-01-12 to 2025-01-10) against the 365 days before" in headline
    csat = headline.split(">CSAT</h3>", 1)[1].split("</article>", 1)[0]
    assert ">40.0%</a>" in csat
    assert ">10</a>" in csat
    assert '<span class="flag">too few answers to read</span>' in csat
    assert "too few answers to compare (0 before, 10 now)" in csat
    assert "tone-too-few" in csat
    assert "change " not in csat  # no change offered on too few answers


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
    assert (_view_n(everything), _view_n(email)) == (10, 5)
    # Segment values match in any case: "EMAIL" finds the stored "email".
    shouted = _page(client, app, user, base + "?channel=EMAIL")
    assert _view_n(shouted) == 5
    assert "channel = email" in shouted
    period = _page(client, app, user, base + "?from=2025-01-03&to=2025-01-04")
    assert _view_n(period) == 2


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
    narrowed = _page(client, app, user, base + "?contact.plan=PRO&property.team=Tech")
    # Of responses 0, 4, 8 only 0 has team "tech" (n % 3 == 0); the case is not compared.
    assert _view_n(narrowed) == 1


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


def _distribution(page: str) -> list[tuple[str, str, str]]:
    """The distribution table's rows as (name, count, share), top to bottom; band totals
    (headed ``scope="rowgroup"``) are prefixed with "=", and a band of one answer reads
    "=band / answer"."""
    table = page.split('id="distribution-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<th scope="(row|rowgroup)">([^<]*)(?:<span class="sub">([^<]*)</span>)?</th>\s*'
        r'<td class="num">(?:<strong>)?(?:<a [^>]*>)?(\d+)(?:</a>)?(?:</strong>)?</td>\s*'
        r'<td class="num">(?:<strong>)?([^<]*)<',
        table,
    )
    assert len(rows) == table.count("<tr>") + table.count('<tr class="band-total">') - 1
    return [
        (("=" if scope == "rowgroup" else "") + name + (f" / {sub}" if sub else ""), n, share)
        for scope, name, sub, n, share in rows
    ]


def test_distribution_of_nps_names_every_answer_under_its_band(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    scores = [10.0, 10.0, 9.0, 8.0, 7.0, 7.0, 3.0, 0.0]
    with db() as session:
        survey = surveys.create_survey(session, world.a.id, slug="nps", name="NPS", metric="nps")
        responses.add_responses(
            session,
            world.a.id,
            [responses.NewResponse(survey_id=survey.id, score=s, channel="web") for s in scores],
        )
        session.commit()
        survey_id = survey.id
    user = world.a.users["analyst"]
    page = _page(client, app, user, f"/app/surveys/{survey_id}")
    rows = _distribution(page)
    assert rows[:4] == [
        ("=Promoters 9–10", "3", "37.5%"),
        ("10 Extremely likely", "2", "25.0%"),
        ("9", "1", "12.5%"),
        ("=Passives 7–8", "3", "37.5%"),
    ]
    assert rows[6:] == [
        ("=Detractors 0–6", "2", "25.0%"),
        *((str(v), "1" if v == 3 else "0", "12.5%" if v == 3 else "0.0%") for v in (6, 5, 4, 3)),
        ("2", "0", "0.0%"),
        ("1", "0", "0.0%"),
        ("0 Not at all likely", "1", "12.5%"),
    ]
    # The chart draws the eleven answers, named and coloured by band, not three groups.
    spec = json.loads(page.split('id="distribution-spec">', 1)[1].split("</script>", 1)[0])
    drawn = spec["datasets"][spec["data"]["name"]]
    assert [row["value"] for row in drawn] == [float(v) for v in range(11)]
    assert {row["band"] for row in drawn} == {"Detractors 0–6", "Passives 7–8", "Promoters 9–10"}
    assert drawn[10]["label"] == "10 Extremely likely"
    # Every count links to exactly its answers: a band's total and each answer's.
    links = LINK.findall(page.split('id="distribution-table"', 1)[1].split("</table>", 1)[0])
    assert len(links) == 3 + 11
    for href, text in links:
        if int(text):
            assert _rows(_page(client, app, user, html.unescape(href))) == int(text), href


def test_distribution_of_csat_names_every_answer(
    client: TestClient, app: FastAPI, world: World
) -> None:
    page = _page(client, app, world.a.users["analyst"], f"/app/surveys/{world.a.survey_id}")
    assert _distribution(page) == [
        ("=Satisfied 4–5", "4", "40.0%"),
        ("5 Very satisfied", "2", "20.0%"),
        ("4 Satisfied", "2", "20.0%"),
        ("=Neutral 3 / 3 Neither satisfied nor dissatisfied", "2", "20.0%"),
        ("=Dissatisfied 1–2", "4", "40.0%"),
        ("2 Dissatisfied", "2", "20.0%"),
        ("1 Very dissatisfied", "2", "20.0%"),
    ]


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


def test_comment_rate_is_estimated_for_large_views(
    client: TestClient, app: FastAPI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(comment_rate, "COMMENT_RATE_MAX_SCAN", 5)
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


def test_filter_pickers_summary_and_values_that_match_nothing(
    client: TestClient, app: FastAPI, world: World
) -> None:
    user = world.a.users["analyst"]
    base = f"/app/surveys/{world.a.survey_id}"
    page = _page(client, app, user, base + "?channel=chat")
    # Folded to one line that names every active filter; choices with their counts.
    summary = page.split("<summary>", 1)[1].split("</summary>", 1)[0]
    assert "last 12 months" in summary
    assert "channel = chat" in summary
    assert "<details" in page.split("<summary>", 1)[0]
    channel = page.split('id="f-channel"', 1)[1].split("</select>", 1)[0]
    assert '<option value="email" >email (5)</option>' in channel
    assert 'value="chat" selected>chat (5)' in channel
    assert "property:" not in page.split('id="view-filters"', 1)[1].split('id="f-by"', 1)[0]
    # "Add a filter" lists each value of each property as the URL pair it adds.
    assert 'value="property.team=tech"' in page
    added = client.get(
        base + "?channel=chat&pick=property.team%3Dtech",
        headers=session_headers(app, user),
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert added.headers["location"] == base + "?channel=chat&property.team=tech"
    # A value that matches nothing says so with the values present, not empty tables.
    nothing = _page(client, app, user, base + "?property.team=nobody")
    assert 'id="no-match"' in nothing
    assert "team = “nobody”" in html.unescape(nothing)
    assert "trend-table" not in nothing
    assert "breakdown-table" not in nothing
    assert "“tech” (" in html.unescape(nothing)
