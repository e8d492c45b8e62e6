"""The unsigned door of helpdesk emails (``/t/{organisation}/{survey}``), on the real app and
database (SQLite and PostgreSQL): GET stores nothing, POST stores an unverified answer with
the placeholders as properties, a bad score or placeholder is refused with a message, and
each address is rate limited."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import AuditLog, Response
from cxpulse.web.routes.unsigned_answers import UNSIGNED_BURST

from ..helpers import World

QUERY = {"ticket": "4711", "agent": "Maria Lind", "customer": "ann@example.com"}


def _path(world: World) -> str:
    return f"/t/{world.a.slug}/support-csat"


def _page(client: TestClient, world: World, **params: Any) -> tuple[str, str]:
    """The form token and action of the page a link opens."""
    page = client.get(_path(world), params=params)
    assert page.status_code == 200, page.text
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert token
    assert action
    return token.group(1), action.group(1).replace("&amp;", "&")


def _unverified(db: sessionmaker[Session], world: World) -> list[Response]:
    with db() as session:
        return list(
            session.scalars(
                select(Response).where(
                    Response.survey_id == world.a.survey_id, Response.unverified.is_(True)
                )
            )
        )


def test_the_link_shows_the_survey_page_with_the_score_chosen_and_stores_nothing(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    page = client.get(_path(world), params={"score": "4", **QUERY})
    assert page.status_code == 200
    html = page.text
    assert html.count('type="radio"') == 5
    assert re.search(r'id="score-4" value="4"[^>]*checked', html)
    assert 'data-one-click="no"' in html  # never posted by a script on its own
    assert "ticket=4711" in html
    assert "agent=Maria+Lind" in html
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    # Mail scanners follow links: a GET, even repeated, stores no answer.
    for _ in range(3):
        client.get(_path(world), params={"score": "1", **QUERY})
    assert _unverified(db, world) == []


def test_the_post_stores_an_unverified_answer_with_the_placeholders(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    token, action = _page(client, world, score="2", **QUERY)
    sent = client.post(action, data={"form_token": token, "score": "2", "comment": "Slow"})
    assert sent.status_code == 200, sent.text
    (stored,) = _unverified(db, world)
    assert stored.score == 2.0
    assert stored.comment == "Slow"
    assert stored.source == "email"
    assert stored.channel == "email"
    assert stored.properties == QUERY
    # The same form sent again changes that answer; its placeholders stay.
    again = client.post(action, data={"form_token": token, "score": "5"})
    assert again.status_code == 200
    (changed,) = _unverified(db, world)
    assert (changed.id, changed.score, changed.comment) == (stored.id, 5.0, "Slow")
    assert changed.properties == QUERY
    with db() as session:
        logged = session.scalars(select(AuditLog).where(AuditLog.entity_id == str(stored.id))).all()
    assert [entry.actor for entry in logged] == ["respondent:unsigned"]


def test_unfilled_placeholders_are_left_out(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    token, action = _page(
        client,
        world,
        score="5",
        ticket="{{ticket.id}}",
        agent="{agent}",
        customer="  ",
    )
    assert "ticket" not in action
    assert client.post(action, data={"form_token": token, "score": "5"}).status_code == 200
    (stored,) = _unverified(db, world)
    assert stored.properties == {}


def test_a_score_off_the_scale_is_refused_with_a_message(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    page = client.get(_path(world), params={"score": "9", **QUERY})
    assert page.status_code == 400
    assert "Please choose an answer from 1 to 5." in page.text
    assert "checked" not in page.text
    token, action = _page(client, world, **QUERY)
    refused = client.post(action, data={"form_token": token, "score": "9"})
    assert refused.status_code == 400
    assert "Please choose an answer from 1 to 5." in refused.text
    assert _unverified(db, world) == []


def test_a_placeholder_that_cannot_be_stored_is_refused(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    page = client.get(_path(world), params={"score": "3", "ticket": "x" * 1001})
    assert page.status_code == 400
    assert "properties.ticket" in page.text
    assert "at most 1000" in page.text


def test_unknown_and_draft_surveys_are_not_found(client: TestClient, world: World) -> None:
    assert client.get("/t/org-a/nothing?score=3").status_code == 404
    assert client.get("/t/no-such-org/support-csat?score=3").status_code == 404


def test_posts_are_rate_limited_per_address(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    token, action = _page(client, world, score="4", **QUERY)
    for _ in range(UNSIGNED_BURST):
        assert client.post(action, data={"form_token": token, "score": "4"}).status_code == 200
    limited = client.post(action, data={"form_token": token, "score": "4"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Too many answers" in limited.text
    assert len(_unverified(db, world)) == 1  # one form: one answer, changed each time
    # Pages are still shown: only answers are limited.
    assert client.get(_path(world), params={"score": "4"}).status_code == 200


def test_a_post_from_another_site_is_refused(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    token, action = _page(client, world, score="4")
    cross = client.post(
        action,
        data={"form_token": token, "score": "4"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    forged = client.post(action, data={"form_token": "forged", "score": "4"})
    assert forged.status_code == 403
    assert _unverified(db, world) == []
