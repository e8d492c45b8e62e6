"""The sharing page of a survey (``/app/surveys/{id}/share``) and its QR code, on SQLite and
PostgreSQL: the link, the widget tag with its sites, the email snippet and the helpdesk
templates, each in a read-only box; the helpdesk links lead to a page that opens."""

from __future__ import annotations

import html
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import Survey

from ..helpers import World, session_headers

PUBLIC = "http://127.0.0.1:8000"
"""``CXPULSE_PUBLIC_URL`` of the test app (the default)."""


def _textarea(page: str, box_id: str) -> str:
    found = re.search(rf'<textarea id="{box_id}"[^>]*readonly[^>]*>(.*?)</textarea>', page, re.S)
    assert found, box_id
    return html.unescape(found.group(1))


def test_the_page_shows_every_way_to_share(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    with db() as session:
        survey = session.get(Survey, a.survey_id)
        assert survey is not None
        survey.name = "Support <CSAT>"
        survey.collect_options = {"allowed_origins": ["https://shop.example"]}
        session.commit()
    viewer = session_headers(app, a.users["viewer"], csrf=False)
    page = client.get(f"/app/surveys/{a.survey_id}/share", headers=viewer)
    assert page.status_code == 200, page.text
    text = page.text
    assert "Support &lt;CSAT&gt;" in text
    assert "<CSAT>" not in text
    link = f"{PUBLIC}/s/{a.slug}/support-csat"
    assert _textarea(text, "public-link") == link
    assert f'src="/app/surveys/{a.survey_id}/qr.svg"' in text
    widget = _textarea(text, "widget-snippet")
    assert f'src="{PUBLIC}/widget.js"' in widget
    assert f'data-survey="{a.slug}/support-csat"' in widget
    assert "<code>https://shop.example</code>" in text
    assert f"/app/surveys/{a.survey_id}/edit" not in text  # a viewer cannot change the sites
    email = _textarea(text, "email-snippet")
    for score in range(1, 6):
        assert f'href="{link}?score={score}"' in email
    assert 'style="display:inline-block' in email  # what mail programs need
    # The preview: the same links, styled by classes (the page allows no style attribute).
    preview = text.split('class="email-preview"', 1)[1]
    assert f'href="{link}?score=3" title="3" class="mail-button"' in preview
    assert 'style="' not in text.replace(email, "").split("<textarea", 1)[0]
    zendesk = _textarea(text, "helpdesk-zendesk-snippet")
    door = f"{PUBLIC}/t/{a.slug}/support-csat"
    assert (
        f'href="{door}?score=5&amp;ticket={{{{ticket.id}}}}&amp;agent={{{{ticket.assignee.name}}}}'
        f'&amp;customer={{{{ticket.requester.email}}}}"'
    ) in zendesk
    generic = _textarea(text, "helpdesk-generic-snippet")
    assert f'href="{door}?score=1&amp;ticket={{ticket}}&amp;agent={{agent}}' in generic
    assert 'data-copy="email-snippet"' in text
    assert "/static/copy.js" in text
    analyst = session_headers(app, a.users["analyst"], csrf=False)
    assert (
        f"/app/surveys/{a.survey_id}/edit"
        in client.get(f"/app/surveys/{a.survey_id}/share", headers=analyst).text
    )


def test_a_helpdesk_link_as_filled_in_opens_the_survey_page(
    app: FastAPI, client: TestClient, world: World
) -> None:
    a = world.a
    viewer = session_headers(app, a.users["viewer"], csrf=False)
    text = client.get(f"/app/surveys/{a.survey_id}/share", headers=viewer).text
    generic = _textarea(text, "helpdesk-generic-snippet")
    first = re.search(r'href="([^"]+)"', generic)
    assert first
    filled = (
        html.unescape(first.group(1))
        .replace(PUBLIC, "")
        .replace("{ticket}", "T-9")
        .replace("{agent}", "Maria")
        .replace("{customer}", "ann@example.com")
    )
    page = client.get(filled)
    assert page.status_code == 200
    assert "ticket=T-9" in page.text


def test_the_qr_code_is_an_svg_of_the_public_link(
    app: FastAPI, client: TestClient, world: World
) -> None:
    a = world.a
    viewer = session_headers(app, a.users["viewer"], csrf=False)
    image = client.get(f"/app/surveys/{a.survey_id}/qr.svg", headers=viewer)
    assert image.status_code == 200
    assert image.headers["content-type"].startswith("image/svg+xml")
    assert image.text.startswith("<svg")
    assert "<path" in image.text
    assert 'fill="white"' in image.text  # a background, for print


def test_other_organisations_and_signed_out_visitors_see_nothing(
    app: FastAPI, client: TestClient, world: World
) -> None:
    viewer = session_headers(app, world.a.users["viewer"], csrf=False)
    theirs = world.b.survey_id
    assert client.get(f"/app/surveys/{theirs}/share", headers=viewer).status_code == 404
    assert client.get(f"/app/surveys/{theirs}/qr.svg", headers=viewer).status_code == 404
    away = client.get(f"/app/surveys/{world.a.survey_id}/share", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"].startswith("/login?next=")


def test_a_draft_survey_says_its_links_are_not_open(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    with db() as session:
        survey = session.get(Survey, world.a.survey_id)
        assert survey is not None
        survey.status = "draft"
        session.commit()
    viewer = session_headers(app, world.a.users["viewer"], csrf=False)
    text = client.get(f"/app/surveys/{world.a.survey_id}/share", headers=viewer).text
    assert "This survey is a draft" in text
