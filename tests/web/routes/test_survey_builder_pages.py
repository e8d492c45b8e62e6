"""The survey pages (/app/surveys, the builder, the preview) with plain forms, on SQLite and
PostgreSQL: an analyst makes, changes, previews, duplicates and archives a survey without
JavaScript; a refused form comes back 422 with each message by its field and the values
kept; a preview stores nothing; viewers read but cannot change; another organisation's
survey is not found; user text is escaped; every change is audited."""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import AuditLog, Survey, SurveyQuestion
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _surveys(db: sessionmaker[Session], org_id: int) -> dict[str, Survey]:
    with db() as session:
        found = session.scalars(select(Survey).where(Survey.organisation_id == org_id))
        return {survey.slug: survey for survey in found}


def _audit(db: sessionmaker[Session], org_id: int) -> list[tuple[str, str]]:
    with db() as session:
        rows = session.execute(
            select(AuditLog.action, AuditLog.entity)
            .where(AuditLog.organisation_id == org_id, AuditLog.entity == "survey")
            .order_by(AuditLog.id)
        )
        return [(action, entity) for action, entity in rows]


def _form(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "<b>After delivery</b>",
        "slug": "after-delivery",
        "touchpoint": "after delivery",
        "metric": "nps",
        "scale_low": "",
        "scale_high": "",
        "presentation": "numbers",
        "top_min": "",
        "bottom_max": "",
        "default_language": "en",
        "question_en": "Would you recommend our <i>delivery</i>?",
        "comment_prompt_en": "",
        "question_sv": "Skulle du rekommendera vår leverans?",
        "thanks_en_high": "Lovely, thank you!",
        "comment": "on",
        "contact_consent": "on",
        "reasons": "Late\nDamaged\n",
        "reasons_sv": "Sen\nSkadad",
        "review_url": "https://reviews.example/shop",
        "referral_url": "",
        "reminder_days": "3",
        "throttle_days": "",
        "link_days": "14",
        "allowed_origins": "https://Shop.Example:443/",
        "intent": "save",
        **fields,
    }


def test_an_analyst_creates_changes_and_lists_a_survey(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["analyst"])
    new = client.get("/app/surveys/new", headers=headers)
    assert new.status_code == 200
    assert 'action="/app/surveys/new"' in new.text
    # The default question of each language is offered as the empty field's placeholder.
    assert "How satisfied are you with Org-A?" in new.text
    assert "Hur nöjd är du med Org-A?" in new.text

    created = client.post(
        "/app/surveys/new", headers=headers, data=_form(token), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    survey = _surveys(db, org.id)["after-delivery"]
    assert created.headers["location"] == f"/app/surveys/{survey.id}/edit?created=1"
    assert (survey.metric, survey.scale_low, survey.scale_high) == ("nps", 0, 10)
    assert survey.status == "draft"
    assert survey.questions == {
        "en": {"question": "Would you recommend our <i>delivery</i>?"},
        "sv": {"question": "Skulle du rekommendera vår leverans?"},
    }
    assert survey.reminder_days == 3
    options = survey.collect_options
    assert options["reasons"] == ["Late", "Damaged"]
    assert options["reasons_i18n"] == {"sv": ["Sen", "Skadad"]}
    assert options["allowed_origins"] == ["https://shop.example"]
    assert options["link_days"] == 14
    assert options["thanks"] == {"en": {"high": "Lovely, thank you!"}}
    assert options["review_url"] == "https://reviews.example/shop"

    edit = client.get(f"/app/surveys/{survey.id}/edit", headers=headers).text
    assert html.escape("Would you recommend our <i>delivery</i>?") in edit
    assert "<i>delivery</i>" not in edit
    assert 'value="14"' in edit

    changed = client.post(
        f"/app/surveys/{survey.id}/edit",
        headers=headers,
        data=_form(token, name="Delivery NPS", reminder_days="", comment=""),
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    survey = _surveys(db, org.id)["after-delivery"]
    assert survey.name == "Delivery NPS"
    assert survey.reminder_days is None
    assert survey.collect_options["comment"] is False
    assert _audit(db, org.id) == [("create", "survey"), ("update", "survey")]

    listed = client.get("/app/surveys", headers=headers)
    assert listed.status_code == 200
    assert "Delivery NPS" in listed.text
    assert f'href="/app/surveys/{survey.id}/share"' in listed.text
    assert f'href="/app/surveys/{survey.id}/questions"' in listed.text
    # The world's survey has answers from 2025: a last answer, its score as on /app.
    assert "2025-01-10" in listed.text


def test_a_refused_form_shows_each_message_by_its_field(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["analyst"])
    answer = client.post(
        "/app/surveys/new",
        headers=headers,
        data=_form(
            token,
            name="",
            slug="Not A Slug",
            scale_low="x",
            top_min="lots",
            reminder_days="400",
            allowed_origins="shop.example/path",
            thanks_sv_low="x" * 501,
        ),
    )
    assert answer.status_code == 422
    page = answer.text
    for field in ("scale_low", "top_min"):
        assert f'id="{field}-error"' in page, field
    assert "must be a whole number" in page
    assert "Skulle du rekommendera vår leverans?</textarea>" in page  # values kept
    assert _surveys(db, world.a.id).keys() == {"support-csat"}

    rules = client.post(
        "/app/surveys/new",
        headers=headers,
        data=_form(
            token,
            name="",
            slug="Not A Slug",
            reminder_days="400",
            allowed_origins="shop.example/path",
            thanks_sv_low="x" * 501,
        ),
    )
    assert rules.status_code == 422
    for field in ("name", "slug", "reminder_days", "allowed_origins", "thanks_sv_low"):
        assert f'id="{field}-error"' in rules.text, field
    # The Swedish texts hold a problem: their part of the form is open.
    assert '<details class="sv-language" open>\n    <summary><span lang="sv">' in rules.text

    # Rules between fields: stars need 1-5, NPS is not asked on 1-5, the slug is taken.
    stars = client.post(
        "/app/surveys/new", headers=headers, data=_form(token, presentation="stars")
    )
    assert stars.status_code == 422
    assert 'id="presentation-error"' in stars.text
    taken = client.post("/app/surveys/new", headers=headers, data=_form(token, slug="support-csat"))
    assert taken.status_code == 422
    assert "exists already" in taken.text
    wrong_scale = client.post(
        "/app/surveys/new", headers=headers, data=_form(token, scale_low="1", scale_high="5")
    )
    assert wrong_scale.status_code == 422
    assert 'id="scale-error"' in wrong_scale.text
    assert _surveys(db, world.a.id).keys() == {"support-csat"}
    assert _audit(db, world.a.id) == []


def test_the_scale_of_a_survey_with_answers_cannot_change(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["analyst"])
    form = _form(token, slug="support-csat", metric="csat", scale_low="1", scale_high="7")
    answer = client.post(f"/app/surveys/{org.survey_id}/edit", headers=headers, data=form)
    assert answer.status_code == 422
    assert "cannot change the scale" in answer.text
    assert _surveys(db, org.id)["support-csat"].scale_high == 5


def test_a_preview_renders_the_respondent_page_and_stores_nothing(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["analyst"])

    def state() -> object:
        found = _surveys(db, org.id)
        stored = {slug: (s.name, s.questions, s.updated_at) for slug, s in found.items()}
        return stored, _audit(db, org.id)

    before = state()
    with db() as session:
        audits = session.scalar(select(func.count()).select_from(AuditLog))
    preview = client.post(
        "/app/surveys/preview",
        headers=headers,
        data=_form(token, name="", slug="", preview_language="sv", intent="preview"),
    )
    assert preview.status_code == 200, preview.text
    page = preview.text
    assert "<iframe" in page
    assert 'sandbox=""' in page
    # The real page, in Swedish: its own question, the translated reasons, escaped twice
    # (once by the page, once as the frame's srcdoc attribute).
    assert "Skulle du rekommendera vår leverans?" in page
    assert "Sen" in page
    assert "Skadad" in page
    assert "lang=&#34;sv&#34;" in page or "lang=&quot;sv&quot;" in page
    assert "<i>" not in page
    # The thank-you texts as the page shows them (collect.questions.thanks_in): the default
    # in Swedish, and the organisation's own English wording rather than a different text.
    assert '<dd lang="sv">' in page
    assert '<dd lang="en">Lovely, thank you!</dd>' in page
    assert state() == before
    with db() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog)) == audits

    # Back to the form: the values come back, nothing saved.
    back = client.post(
        "/app/surveys/new",
        headers=headers,
        data=_form(token, name="Draft name", intent="back"),
    )
    assert back.status_code == 200
    assert 'value="Draft name"' in back.text
    assert _surveys(db, org.id).keys() == {"support-csat"}

    # A saved survey's preview shows the form's values, not the stored ones.
    edited = client.post(
        f"/app/surveys/{org.survey_id}/preview",
        headers=headers,
        data=_form(token, slug="support-csat", metric="csat", question_en="Unsaved wording?"),
    )
    assert edited.status_code == 200, edited.text
    assert "Unsaved wording?" in edited.text
    stored = _surveys(db, org.id)["support-csat"]
    assert stored.questions == {}
    assert stored.metric == "csat"

    refused = client.post(
        "/app/surveys/preview", headers=headers, data=_form(token, presentation="emoji")
    )
    assert refused.status_code == 422
    assert 'id="presentation-error"' in refused.text


def test_status_actions_duplicate_and_archived_surveys(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["analyst"])
    with db() as session:
        session.add(
            SurveyQuestion(
                organisation_id=org.id,
                survey_id=org.survey_id,
                kind="choice",
                key="delivery",
                labels={"en": "How was the delivery?"},
                choices=[{"key": "ok", "labels": {"en": "Fine"}}],
            )
        )
        session.commit()

    def act(survey_id: int, action: str) -> int:
        done = client.post(
            f"/app/surveys/{survey_id}/status",
            headers=headers,
            data={"csrf_token": token, "action": action},
            follow_redirects=False,
        )
        return done.status_code

    copied = client.post(
        f"/app/surveys/{org.survey_id}/duplicate",
        headers=headers,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert copied.status_code == 303
    found = _surveys(db, org.id)
    copy = found["support-csat-copy"]
    original = found["support-csat"]
    assert copy.name == "Support CSAT (copy)"
    assert copy.status == "draft"
    assert (copy.metric, copy.scale, copy.collect_options) == (
        original.metric,
        original.scale,
        original.collect_options,
    )
    assert copied.headers["location"] == f"/app/surveys/{copy.id}/edit?copied=1"
    with db() as session:
        keys = session.scalars(
            select(SurveyQuestion.key).where(SurveyQuestion.survey_id == copy.id)
        ).all()
        assert keys == ["delivery"]
        answers = session.scalar(
            select(func.count()).select_from(Survey).where(Survey.id == copy.id)
        )
        assert answers == 1
    again = client.post(
        f"/app/surveys/{org.survey_id}/duplicate",
        headers=headers,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert "support-csat-copy-2" in _surveys(db, org.id)

    assert act(copy.id, "close") == 409  # a draft is not closed, it is activated
    assert act(copy.id, "activate") == 303
    assert act(copy.id, "close") == 303
    assert act(copy.id, "reopen") == 303
    assert act(copy.id, "archive") == 303
    assert _surveys(db, org.id)["support-csat-copy"].status == "archived"

    listed = client.get("/app/surveys", headers=headers).text
    assert "support-csat-copy</span>" not in listed
    assert "Show archived (1)" in listed
    shown = client.get("/app/surveys?archived=1", headers=headers).text
    assert "support-csat-copy</span>" in shown
    assert "Take out of the archive" in shown
    assert act(copy.id, "unarchive") == 303
    assert _surveys(db, org.id)["support-csat-copy"].status == "closed"
    assert [a for a, _ in _audit(db, org.id)] == [
        "duplicate",
        "duplicate",
        "activate",
        "close",
        "reopen",
        "archive",
        "unarchive",
    ]


def test_viewers_read_and_other_organisations_surveys_are_not_found(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    viewer, viewer_token = _browser(app, org.users["viewer"])
    listed = client.get("/app/surveys", headers=viewer)
    assert listed.status_code == 200
    assert "New survey" not in listed.text
    assert "Duplicate" not in listed.text
    settings = client.get(f"/app/surveys/{org.survey_id}/edit", headers=viewer)
    assert settings.status_code == 200
    assert "can read these settings but not change them" in settings.text
    assert "Create survey" not in settings.text
    assert ">Save<" not in settings.text
    assert client.get("/app/surveys/new", headers=viewer).status_code == 403
    refused = client.post(
        f"/app/surveys/{org.survey_id}/edit",
        headers=viewer,
        data=_form(viewer_token, slug="support-csat", metric="csat"),
    )
    assert refused.status_code == 403
    archived = client.post(
        f"/app/surveys/{org.survey_id}/status",
        headers=viewer,
        data={"csrf_token": viewer_token, "action": "archive"},
    )
    assert archived.status_code == 403
    # A viewer may preview: it changes nothing.
    preview = client.post(
        f"/app/surveys/{org.survey_id}/preview",
        headers=viewer,
        data=_form(viewer_token, slug="support-csat", metric="csat"),
    )
    assert preview.status_code == 200

    other, other_token = _browser(app, world.b.users["owner"])
    assert client.get(f"/app/surveys/{org.survey_id}/edit", headers=other).status_code == 404
    for path in ("edit", "preview", "duplicate", "status"):
        stolen = client.post(
            f"/app/surveys/{org.survey_id}/{path}",
            headers=other,
            data=_form(other_token, action="archive"),
        )
        assert stolen.status_code == 404, path
    assert _surveys(db, org.id)["support-csat"].status == "active"
    analyst, _ = _browser(app, org.users["analyst"])
    no_token = client.post(
        f"/app/surveys/{org.survey_id}/status", headers=analyst, data={"action": "archive"}
    )
    assert no_token.status_code == 403
    assert client.get("/app/surveys", follow_redirects=False).status_code == 303
