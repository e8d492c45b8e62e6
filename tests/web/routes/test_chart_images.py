"""The phone drawings of a survey dashboard's charts (``web/routes/chart_images.py``), on
SQLite and PostgreSQL: the page inlines only the desktop drawing and links the phone one,
which answers the same view, under the same permission and organisation checks as the page.

The ``world`` survey of each organisation holds 10 CSAT answers, one a day from 2025-01-01:
scores 1, 2, 3, 4, 5, 1, 2, 3, 4, 5; odd days by email, even by chat.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxpulse.report import charts
from cxpulse.web.security_headers import NO_CONTENT_CSP

from ..helpers import World, session_headers

IMAGE = re.compile(
    r'<div class="chart-narrow"><picture><source media="\(max-width: 40rem\)" srcset="([^"]+)">'
    r'<img src="data:image/gif;base64,[^"]+" alt="([^"]*)" loading="lazy"'
)


def _page(client: TestClient, app: FastAPI, user: int, url: str) -> str:
    answer = client.get(url, headers=session_headers(app, user))
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


def _images(page: str) -> dict[str, tuple[str, str]]:
    """The page's phone images by chart name: (their URL, their alt text)."""
    found = {}
    for src, alt in IMAGE.findall(page):
        url, description = html.unescape(src), html.unescape(alt)
        name = url.split("/charts/", 1)[1].split(".svg", 1)[0]
        found[name] = (url, description)
    return found


def _svg_width(svg: str) -> float:
    return float(ET.fromstring(svg).get("width") or 0)


@pytest.mark.parametrize("query", ["", "?channel=email&grain=week&to=2025-01-10"])
def test_the_page_inlines_the_desktop_drawing_and_links_the_phone_one(
    client: TestClient, app: FastAPI, world: World, query: str
) -> None:
    user = world.a.users["viewer"]
    base = f"/app/surveys/{world.a.survey_id}"
    page = _page(client, app, user, base + query)
    # One inline drawing per chart, the desktop one, with its text alternative.
    wide = re.findall(r'<div class="chart-wide">(<svg.*?</svg>)</div>', page, re.S)
    assert len(wide) == 2
    assert [_svg_width(svg) for svg in wide] == [charts.WIDTH, charts.WIDTH]
    assert page.count("<svg") == 2
    images = _images(page)
    assert set(images) == {"trend", "distribution"}
    headers = session_headers(app, user)
    for name, (url, alt) in images.items():
        assert url.startswith(f"{base}/charts/{name}.svg?")
        assert "width=narrow" in url
        if query:
            for part in ("channel=email", "grain=week", "to=2025-01-10"):
                assert part in url
        # The image's alt is the chart's description, as the inline drawing's aria-label.
        assert alt.startswith(("CSAT per period.", "Answers per scale value (n="))
        assert f'aria-label="{html.escape(alt, quote=True)}"' in page
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/svg+xml"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-security-policy"] == NO_CONTENT_CSP
        svg = answer.text
        assert _svg_width(svg) == charts.NARROW_WIDTH
        assert f'aria-label="{html.escape(alt, quote=True)}"' in svg


def test_the_image_follows_the_view_and_the_width(
    client: TestClient, app: FastAPI, world: World
) -> None:
    headers = session_headers(app, world.a.users["viewer"])
    base = f"/app/surveys/{world.a.survey_id}/charts/distribution.svg?to=2025-01-10"
    everything = client.get(base, headers=headers).text
    email = client.get(base + "&channel=email", headers=headers).text
    # All answers: two of each score; by email: one each of 1 to 5.
    assert "Answers per scale value (n=10)" in everything
    assert "Answers per scale value (n=5)" in email
    wide = client.get(base + "&width=wide", headers=headers).text
    assert _svg_width(wide) == charts.WIDTH
    assert _svg_width(everything) == charts.NARROW_WIDTH
    trend = client.get(base.replace("distribution", "trend") + "&grain=week", headers=headers)
    assert "2025-W01" in trend.text


def test_the_image_needs_what_the_page_needs(
    client: TestClient, app: FastAPI, world: World
) -> None:
    url = f"/app/surveys/{world.a.survey_id}/charts/trend.svg?width=narrow"
    signed_out = client.get(url, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login?next=")
    other = session_headers(app, world.b.users["owner"])
    hidden = client.get(url, headers=other)
    assert hidden.status_code == 404
    assert "<svg" not in hidden.text
    owner = session_headers(app, world.a.users["owner"])
    for bad in ("/charts/breakdown.svg", "/charts/trend.svg?width=huge"):
        answer = client.get(f"/app/surveys/{world.a.survey_id}{bad}", headers=owner)
        assert answer.status_code in (404, 422), bad
        assert "<svg" not in answer.text
