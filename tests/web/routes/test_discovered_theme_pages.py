"""The discovered-themes page of a survey and its one-click "Add to themes", on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import TextTheme

from ..helpers import World, session_headers
from .test_theme_pages import _browser
from .theme_support import GIFT_COMMENTS, OTHER_COMMENTS, PARKING_COMMENTS, analysed_comments

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def _url(survey_id: int) -> str:
    return f"/app/surveys/{survey_id}/themes/discovered"


def test_discovered_themes_are_shown_and_one_is_added_in_one_click(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    texts = [*GIFT_COMMENTS, *PARKING_COMMENTS, *OTHER_COMMENTS]
    texts[0] += " (mail me: anna@example.com)"
    analysed_comments(db, org.id, org.survey_id, texts)
    headers, token = _browser(app, org.users["analyst"])
    page = client.get(_url(org.survey_id), headers=headers)
    assert page.status_code == 200, page.text
    text = page.text
    assert "Read all <strong>50</strong> analysed comments" in text
    assert "gift" in text
    assert "car" in text
    assert text.count(">Add to themes</button>") == 2
    assert "[email]" in text
    assert "anna@example.com" not in text
    # The form names the theme, its language and its phrases, each ticked.
    form = text.split(f'action="/app/surveys/{org.survey_id}/themes/discovered/promote?', 1)[1]
    form = form.split("</form>", 1)[0]
    assert 'name="language" value="en"' in form
    phrases = [part.split('"', 1)[0] for part in form.split('name="phrases" value="')[1:]]
    assert phrases
    assert form.count(" checked>") == len(phrases)
    label = form.split('name="label" value="', 1)[1].split('"', 1)[0]
    key = form.split('name="key" value="', 1)[1].split('"', 1)[0]

    sent = {"csrf_token": token, "language": "en", "label": label, "key": key}
    nothing = client.post(
        _url(org.survey_id) + "/promote", headers=headers, data=sent, follow_redirects=False
    )
    assert nothing.status_code == 422
    assert f"“{label}” was not added: choose at least one phrase." in nothing.text
    # The message is on the theme's card too, which the page links to.
    card = f"theme-en-{key}"
    assert f'href="#{card}"' in nothing.text
    card_html = nothing.text.split(f'id="{card}"', 1)[1].split("</article>", 1)[0]
    assert 'class="field-error">choose at least one phrase' in card_html
    added = client.post(
        _url(org.survey_id) + "/promote",
        headers=headers,
        data={**sent, "phrases": phrases[:2]},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    with db() as session:
        theme = session.scalars(
            select(TextTheme).where(
                TextTheme.organisation_id == org.id, TextTheme.origin == "discovered"
            )
        ).one()
    assert theme.phrases == {"en": phrases[:2]}
    assert added.headers["location"] == f"/app/themes/{theme.id}?added=1"
    twice = client.post(
        _url(org.survey_id) + "/promote",
        headers=headers,
        data={**sent, "phrases": phrases[:2]},
        follow_redirects=False,
    )
    assert twice.status_code == 422
    assert "was not added: it is in your themes already" in twice.text


def test_the_period_cap_and_refusals(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["agent"])
    early = client.get(_url(org.survey_id) + "?from=2025-01-01&to=2025-01-31", headers=headers)
    assert early.status_code == 200
    assert "10 comments of the period are still waiting for analysis" in early.text
    assert "No theme found" in early.text
    # An agent reads comments but may not change the taxonomy: no button, and a 403.
    assert "Add to themes" not in early.text
    refused = client.post(
        _url(org.survey_id) + "/promote",
        headers=headers,
        data={"csrf_token": token, "language": "en", "label": "x", "key": "x", "phrases": "x"},
    )
    assert refused.status_code == 403
    wrong = client.get(_url(org.survey_id) + "?from=2025-02-01&to=2025-01-01", headers=headers)
    assert wrong.status_code == 422
    assert 'id="period-to-error"' in wrong.text
    viewer = session_headers(app, org.users["viewer"], csrf=False)
    assert client.get(_url(org.survey_id), headers=viewer).status_code == 403
    assert client.get(_url(world.b.survey_id), headers=headers).status_code == 404
