"""The questions page (/app/surveys/{id}/questions) with plain forms, on both databases: an
analyst adds, changes, moves and deletes questions; a refused form comes back 422 with each
message by its field and the values kept; results show with interval and n; viewers read
but cannot change; another organisation's survey is not found; user text is escaped; what
drives the score in a sentence and a table (key_drivers' figures), or why there is none."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import follow_up_changes
from cxpulse.report import follow_up_drivers
from cxpulse.store import responses, survey_questions
from cxpulse.store.models import AuditLog, SurveyQuestion
from cxpulse.text.key_drivers import key_drivers
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    return headers, headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]


def _questions(db: sessionmaker[Session], org_id: int, survey_id: int) -> list[SurveyQuestion]:
    with db() as session:
        return survey_questions.list_questions(session, org_id, survey_id)


def test_an_analyst_adds_changes_moves_and_deletes_questions(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    base = f"/app/surveys/{a.survey_id}/questions"
    empty = client.get(base, headers=headers)
    assert empty.status_code == 200, empty.text
    assert "No follow-up questions yet" in empty.text

    refused = client.post(
        base,
        headers=headers,
        data={
            "csrf_token": token,
            "kind": "rating",
            "key": "Bad Key",
            "label_en": "<b>Delivery</b>",
            "scale_low": "1",
            "scale_high": "50",
        },
    )
    assert refused.status_code == 422
    assert 'id="key-error"' in refused.text
    assert 'id="scale_high-error"' in refused.text
    assert 'value="&lt;b&gt;Delivery&lt;/b&gt;"' in refused.text
    assert _questions(db, a.id, a.survey_id) == []

    for key, label in (("delivery", "<b>Delivery</b>?"), ("support", "Support?")):
        saved = client.post(
            base,
            headers=headers,
            data={
                "csrf_token": token,
                "kind": "rating",
                "key": key,
                "label_en": label,
                "scale_low": "1",
                "scale_high": "5",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
    choice = client.post(
        base,
        headers=headers,
        data={
            "csrf_token": token,
            "kind": "choice",
            "key": "found_us",
            "label_en": "How?",
            "choice_0_key": "friend",
            "choice_0_label_en": "A friend",
            "choice_2_key": "friend",
            "choice_2_label_en": "Twice",
        },
    )
    assert choice.status_code == 422
    assert 'id="choice_2_key-error"' in choice.text  # the row it was typed in, not the index
    delivery, support = _questions(db, a.id, a.survey_id)
    listed = client.get(base, headers=headers).text
    assert "&lt;b&gt;Delivery&lt;/b&gt;?" in listed
    assert "<b>Delivery</b>" not in listed

    edit = client.get(f"{base}/{support.id}", headers=headers)
    assert edit.status_code == 200
    assert 'value="support"' in edit.text
    changed = client.post(
        f"{base}/{support.id}",
        headers=headers,
        data={
            "csrf_token": token,
            "kind": "rating",
            "key": "support",
            "label_en": "Support?",
            "scale_low": "0",
            "scale_high": "10",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    moved = client.post(
        f"{base}/{support.id}/move",
        headers=headers,
        data={"csrf_token": token, "direction": "up"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert [(q.key, q.scale_high) for q in _questions(db, a.id, a.survey_id)] == [
        ("support", 10),
        ("delivery", 5),
    ]
    deleted = client.post(
        f"{base}/{delivery.id}/delete",
        headers=headers,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert [q.key for q in _questions(db, a.id, a.survey_id)] == ["support"]
    with db() as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "survey_question")
        ).all()
    assert sorted(actions) == ["create", "create", "delete", "move", "update"]


def test_results_of_the_last_90_days_with_interval_and_n(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    with db() as session:
        follow_up_changes.create_question(
            session,
            a.id,
            a.survey_id,
            {"kind": "rating", "key": "delivery", "labels": {"en": "D?"}},
        )
        follow_up_changes.create_question(
            session,
            a.id,
            a.survey_id,
            {
                "kind": "choice",
                "key": "found_us",
                "labels": {"en": "How?"},
                "choices": [
                    {"key": "friend", "labels": {"en": "A friend"}},
                    {"key": "ad", "labels": {"en": "An advert"}},
                ],
            },
        )
        now = datetime.now(UTC)
        stored = responses.add_responses(
            session,
            a.id,
            [
                responses.NewResponse(
                    survey_id=a.survey_id, score=5, submitted_at=now - timedelta(days=n)
                )
                for n in range(4)
            ],
        )
        for n, row in enumerate(stored):
            follow_up_changes.record_answers(
                session,
                a.id,
                row[0].id,
                {"delivery": "5" if n else "2", "found_us": "friend" if n else "ad"},
            )
        session.commit()
    headers, _ = _browser(app, a.users["viewer"])
    page = client.get(f"/app/surveys/{a.survey_id}/questions", headers=headers)
    assert page.status_code == 200
    assert "75.0 % in the top two" in page.text
    assert "n = 4" in page.text
    assert "A friend" in page.text
    assert "75.0 %" in page.text
    assert "Add a question" not in page.text  # viewers read only


def test_viewers_cannot_change_and_other_organisations_see_nothing(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a, b = world.a, world.b
    headers, token = _browser(app, a.users["viewer"])
    base = f"/app/surveys/{a.survey_id}/questions"
    refused = client.post(
        base,
        headers=headers,
        data={"csrf_token": token, "kind": "text", "key": "why", "label_en": "Why?"},
    )
    assert refused.status_code == 403
    no_csrf = client.post(
        base,
        headers=_browser(app, a.users["analyst"])[0],
        data={"kind": "text", "key": "why", "label_en": "Why?"},
    )
    assert no_csrf.status_code == 403
    assert _questions(db, a.id, a.survey_id) == []
    other, other_token = _browser(app, b.users["owner"])
    assert client.get(base, headers=other).status_code == 404
    foreign = client.post(
        base,
        headers=other,
        data={"csrf_token": other_token, "kind": "text", "key": "why", "label_en": "Why?"},
    )
    assert foreign.status_code == 404


def test_a_form_without_its_fields_is_refused_by_field_not_a_500(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    base = f"/app/surveys/{a.survey_id}/questions"
    for data in ({"csrf_token": token}, {"csrf_token": token, "kind": "rating"}):
        refused = client.post(base, headers=headers, data=data)
        assert refused.status_code == 422, refused.text
        assert 'id="key-error"' in refused.text
    assert _questions(db, a.id, a.survey_id) == []


def test_what_drives_the_score_in_a_sentence_and_a_table(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    labels = {"delivery": "<b>Delivery</b>?", "support": "Support?"}
    rng = random.Random(5)
    rows = []
    for _ in range(40):
        delivery, support = rng.randint(1, 5), rng.randint(1, 5)
        score = min(5, max(1, round(0.8 * delivery + 0.2 * support + rng.gauss(0, 0.6))))
        rows.append((float(score), delivery, support))
    with db() as session:
        for key, label in labels.items():
            follow_up_changes.create_question(
                session, a.id, a.survey_id, {"kind": "rating", "key": key, "labels": {"en": label}}
            )
        now = datetime.now(UTC)
        stored = responses.add_responses(
            session,
            a.id,
            [
                responses.NewResponse(
                    survey_id=a.survey_id, score=row[0], submitted_at=now - timedelta(hours=n + 1)
                )
                for n, row in enumerate(rows)
            ],
        )
        for n, (held, (_, delivery, support)) in enumerate(zip(stored, rows, strict=True)):
            answers = {"delivery": str(delivery), "support": str(support)}
            follow_up_changes.record_answers(session, a.id, held[0].id, answers)
            if n < 3:  # three more that rated only the delivery
                extra = responses.add_responses(
                    session,
                    a.id,
                    [responses.NewResponse(survey_id=a.survey_id, score=4, submitted_at=now)],
                )
                follow_up_changes.record_answers(session, a.id, extra[0][0].id, {"delivery": "4"})
        session.commit()
    data = np.array(rows)
    expected = key_drivers(
        data[:, 0],
        {"delivery": data[:, 1], "support": data[:, 2]},
        bootstrap=follow_up_drivers.BOOTSTRAP,
        seed=follow_up_drivers.SEED,
    )
    top = expected.rows[0]
    assert top.name == "delivery"

    headers, _ = _browser(app, a.users["viewer"])
    page = client.get(f"/app/surveys/{a.survey_id}/questions", headers=headers)
    assert page.status_code == 200, page.text
    text = page.text
    assert "What drives the score" in text
    sentence = (
        f"Of what the ratings explain (R²&nbsp;{expected.r_squared:.2f}, n&nbsp;40), "
        f"“&lt;b&gt;Delivery&lt;/b&gt;?” accounts for {top.share:.0f}&nbsp;%."
    )
    assert sentence in text
    assert "<b>Delivery</b>" not in text
    table = text[text.index('class="stack drivers-table"') :]
    assert table.index("&lt;b&gt;Delivery") < table.index("Support?")  # heaviest first
    weight = f"{top.weight * 100:.0f}&nbsp;% ({top.weight_ci_low * 100:.0f}–"
    assert weight in table
    assert "3 answered only some of them and are left out" in text
    # A question's own form leaves the analysis out (it is the list's, and costs a bootstrap).
    with db() as session:
        question = survey_questions.list_questions(session, a.id, a.survey_id)[0]
    editing = client.get(f"/app/surveys/{a.survey_id}/questions/{question.id}", headers=headers)
    assert editing.status_code == 200, editing.text
    assert "What drives the score" not in editing.text


def test_why_there_is_no_table(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    with db() as session:
        follow_up_changes.create_question(
            session,
            a.id,
            a.survey_id,
            {"kind": "rating", "key": "delivery", "labels": {"en": "D?"}},
        )
        session.commit()
    headers, _ = _browser(app, a.users["viewer"])
    base = f"/app/surveys/{a.survey_id}/questions"
    one = client.get(base, headers=headers).text
    assert "What drives the score" in one
    assert "needs at least two rating questions; this survey has 1" in one
    with db() as session:
        follow_up_changes.create_question(
            session, a.id, a.survey_id, {"kind": "rating", "key": "support", "labels": {"en": "S?"}}
        )
        session.commit()
    two = client.get(base, headers=headers).text
    assert "at least 30 responses that answered every rating question; this window has 0" in two
    assert "drivers-table" not in two
