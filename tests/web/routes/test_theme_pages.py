"""The taxonomy pages (/app/themes and one theme's page) with plain forms, on SQLite and
PostgreSQL: what each role sees, adding, changing, merging and deleting themes, and refused
forms coming back with each message by its field."""

from __future__ import annotations

import html

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import comment_analysis
from cxpulse.store.models import ResponseTheme, TextTheme
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers
from .theme_support import GIFT_COMMENTS, analysed_comments

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    """A browser's cookies (no CSRF header: forms carry the token as a field) and the token."""
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _themes(db: sessionmaker[Session], organisation_id: int) -> dict[str, TextTheme]:
    with db() as session:
        found = session.scalars(
            select(TextTheme).where(TextTheme.organisation_id == organisation_id)
        )
        return {theme.key: theme for theme in found}


def _seeded(db: sessionmaker[Session], organisation_id: int) -> None:
    with db() as session:
        comment_analysis.ensure_starter_taxonomy(session, organisation_id)
        session.commit()


def _form(token: str, name: str, **phrases: str) -> dict[str, str]:
    return {"csrf_token": token, "name": name, **{f"phrases_{k}": v for k, v in phrases.items()}}


def test_a_viewer_reads_the_taxonomy_without_forms(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    _seeded(db, world.a.id)
    headers, _ = _browser(app, world.a.users["viewer"])
    page = client.get("/app/themes", headers=headers)
    assert page.status_code == 200
    assert '<table id="themes-table"' in page.text
    assert "Delivery" in page.text
    assert "Waiting time" in page.text
    assert 'action="/app/themes"' not in page.text
    # Discovery shows comments: not offered to a viewer.
    assert "/themes/discovered" not in page.text
    delivery = _themes(db, world.a.id)["delivery"]
    one = client.get(f"/app/themes/{delivery.id}", headers=headers)
    assert one.status_code == 200
    assert "<form" not in one.text.split("<main", 1)[1]
    assert "Svenska" in one.text
    # Another organisation's theme is not found.
    headers_b, _ = _browser(app, world.b.users["owner"])
    assert client.get(f"/app/themes/{delivery.id}", headers=headers_b).status_code == 404


def test_an_analyst_adds_a_theme_and_a_refused_form_keeps_what_was_typed(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["analyst"])
    page = client.get("/app/themes", headers=headers).text
    assert 'action="/app/themes"' in page
    assert page.count("<textarea") == 8
    refused = client.post(
        "/app/themes",
        headers=headers,
        data=_form(token, "<b>Gift</b> wrapping", en="   "),
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert 'class="field-error">give at least one phrase' in refused.text
    assert html.escape("<b>Gift</b> wrapping") in refused.text
    assert "<b>Gift" not in refused.text
    assert _themes(db, world.a.id) == {}
    added = client.post(
        "/app/themes",
        headers=headers,
        data=_form(token, "Gift wrapping", en="gift wrap\nwrapping paper\n\n", sv="presentpapper"),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    themes = _themes(db, world.a.id)
    gift = themes["gift-wrapping"]
    assert gift.phrases == {"en": ["gift wrap", "wrapping paper"], "sv": ["presentpapper"]}
    assert added.headers["location"] == f"/app/themes/{gift.id}?added=1"
    assert "delivery" in themes  # the starter taxonomy was seeded first
    again = client.post(
        "/app/themes", headers=headers, data=_form(token, "Gift wrapping", en="x"),
        follow_redirects=False,
    )  # fmt: skip
    assert again.status_code == 422
    assert "exists already" in again.text
    long = client.post(
        "/app/themes", headers=headers, data=_form(token, "Long", de="x" * 201),
        follow_redirects=False,
    )  # fmt: skip
    assert long.status_code == 422
    assert 'id="new-phrases-de-error"' in long.text
    assert 'aria-invalid="true" aria-describedby="new-phrases-de-error"' in long.text


def test_editing_renames_and_replaces_phrases_language_by_language(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    _seeded(db, world.a.id)
    headers, token = _browser(app, world.a.users["analyst"])
    price = _themes(db, world.a.id)["price"]
    page = client.get(f"/app/themes/{price.id}", headers=headers).text
    assert f'action="/app/themes/{price.id}"' in page
    assert "expensive" in page  # the English phrases fill their box
    changed = client.post(
        f"/app/themes/{price.id}",
        headers=headers,
        data=_form(token, "Prices", en="too expensive\noverpriced"),
        follow_redirects=False,
    )
    assert changed.status_code == 303
    stored = _themes(db, world.a.id)["price"]
    assert stored.name == "Prices"
    # Every language is a box of the form: the ones sent empty are emptied.
    assert stored.phrases == {"en": ["too expensive", "overpriced"]}
    refused = client.post(
        f"/app/themes/{price.id}", headers=headers, data=_form(token, "Prices"),
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 422
    assert "give at least one phrase" in refused.text
    assert _themes(db, world.a.id)["price"].phrases == {"en": ["too expensive", "overpriced"]}
    nameless = client.post(
        f"/app/themes/{price.id}", headers=headers, data=_form(token, "", en="x"),
        follow_redirects=False,
    )  # fmt: skip
    assert nameless.status_code == 422
    assert 'id="theme-name-error"' in nameless.text


def test_merging_moves_mentions_and_deleting_needs_the_box_ticked(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    _seeded(db, org.id)
    headers, token = _browser(app, org.users["admin"])
    themes = _themes(db, org.id)
    source, target = themes["delivery-delay"], themes["delivery"]
    ids = analysed_comments(
        db, org.id, org.survey_id, GIFT_COMMENTS[:3], mentions=[(source.id, "negative")]
    )
    page = client.get(f"/app/themes/{source.id}", headers=headers).text
    assert "3 mentions in the last 30 days" in page
    no_choice = client.post(
        f"/app/themes/{source.id}/merge", headers=headers, data={"csrf_token": token, "into": ""},
        follow_redirects=False,
    )  # fmt: skip
    assert no_choice.status_code == 422
    assert 'id="merge-into-error"' in no_choice.text
    merged = client.post(
        f"/app/themes/{source.id}/merge",
        headers=headers,
        data={"csrf_token": token, "into": str(target.id)},
        follow_redirects=False,
    )
    assert merged.status_code == 303
    assert merged.headers["location"] == f"/app/themes/{target.id}?merged=1"
    with db() as session:
        moved = session.execute(select(ResponseTheme.response_id, ResponseTheme.theme_id)).all()
    assert sorted(moved) == sorted((r, target.id) for r in ids)
    listing = client.get("/app/themes", headers=headers).text
    assert "merged into Delivery" in listing

    unticked = client.post(
        f"/app/themes/{target.id}/delete", headers=headers, data={"csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert unticked.status_code == 422
    assert "tick the box to confirm the deletion" in unticked.text
    assert target.key in _themes(db, org.id)
    deleted = client.post(
        f"/app/themes/{target.id}/delete",
        headers=headers,
        data={"csrf_token": token, "confirm": "yes"},
        follow_redirects=False,
    )
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/app/themes?deleted=1")
    assert target.key not in _themes(db, org.id)
    assert "The theme was deleted." in client.get("/app/themes?deleted=1", headers=headers).text


def test_forms_refuse_viewers_strangers_and_missing_tokens(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    _seeded(db, world.a.id)
    price = _themes(db, world.a.id)["price"]
    viewer, viewer_token = _browser(app, world.a.users["viewer"])
    refused = client.post(
        f"/app/themes/{price.id}/delete",
        headers=viewer,
        data={"csrf_token": viewer_token, "confirm": "yes"},
    )
    assert refused.status_code == 403
    analyst, _ = _browser(app, world.a.users["analyst"])
    no_token = client.post(
        f"/app/themes/{price.id}/delete", headers=analyst, data={"confirm": "yes"}
    )
    assert no_token.status_code == 403
    stranger, stranger_token = _browser(app, world.b.users["owner"])
    foreign = client.post(
        f"/app/themes/{price.id}",
        headers=stranger,
        data=_form(stranger_token, "Taken over", en="x"),
    )
    assert foreign.status_code == 404
    assert _themes(db, world.a.id)["price"].name == "Price"
    anonymous = client.get("/app/themes", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (
        303,
        "/login?next=/app/themes",
    )
