"""The routes of ``cxpulse.web.routes.survey_pages`` on the real app and database (SQLite
and PostgreSQL): links, languages, one-click answers that never write on GET, updates with
rollups and audit, abuse limits."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, contacts, rollups, surveys
from cxpulse.store.models import AuditLog, Invitation, Response, Survey
from cxpulse.web.survey_page_forms import FormTokens

from ..helpers import BASE_URL, make_app


@dataclass
class Shop:
    org_id: int
    nps_id: int
    csat_id: int
    invitation_id: int
    swedish_invitation_id: int
    contact_id: int


@pytest.fixture
def shop(db: sessionmaker[Session]) -> Shop:
    with db() as session:
        org = accounts.create_organisation(session, slug="shop", name="Demo <Shop>")
        other = accounts.create_organisation(session, slug="other", name="Other")
        nps = surveys.create_survey(
            session, org.id, slug="nps", name="NPS", metric="nps", status="active"
        )
        nps.collect_options = {
            "reasons": ["Slow delivery", "Rude staff"],
            "reasons_i18n": {"sv": ["Långsam leverans", "Otrevlig personal"]},
            "review_url": "https://reviews.example/shop",
            "referral_url": "https://shop.example/refer",
        }
        nps.touchpoint = "after purchase"
        csat = surveys.create_survey(
            session, org.id, slug="csat", name="CSAT", metric="csat", status="active"
        )
        csat.presentation = "emoji"
        surveys.create_survey(session, org.id, slug="draft", name="Draft", metric="csat")
        surveys.create_survey(
            session, org.id, slug="closed", name="Closed", metric="csat", status="closed"
        )
        surveys.create_survey(
            session, other.id, slug="secret", name="Secret", metric="csat", status="active"
        )
        english = contacts.create_contact(session, org.id, email="ann@example.com")
        swede = contacts.create_contact(session, org.id, email="sven@example.com", locale="sv-SE")
        invitation = Invitation(
            organisation_id=org.id,
            survey_id=nps.id,
            contact_id=english.id,
            status="sent",
            properties={"ticket": "T-1", "agent": "maria"},
        )
        swedish = Invitation(
            organisation_id=org.id, survey_id=nps.id, contact_id=swede.id, status="sent"
        )
        session.add_all([invitation, swedish])
        session.commit()
        return Shop(org.id, nps.id, csat.id, invitation.id, swedish.id, english.id)


def _token(client: TestClient, path: str, **params: Any) -> str:
    page = client.get(path, params=params)
    assert page.status_code == 200, page.text
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def _link(app: FastAPI, invitation_id: int, survey_id: int, **kw: Any) -> str:
    return str(app.state.cxpulse.links.issue("answer", invitation_id, survey_id, **kw))


def _responses(db: sessionmaker[Session], survey_id: int) -> list[Response]:
    with db() as session:
        return list(session.scalars(select(Response).where(Response.survey_id == survey_id)))


def _rollups_equal_recount(db: sessionmaker[Session], survey_id: int) -> None:
    with db() as session:
        assert rollups.stored(session, survey_id=survey_id) == rollups.recount(
            session, survey_id=survey_id
        )


def test_public_page_shows_the_scale_in_a_fieldset(client: TestClient, shop: Shop) -> None:
    page = client.get("/s/shop/nps")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html
    assert "<fieldset" in html
    assert "<legend>" in html
    assert "How likely are you to recommend Demo &lt;Shop&gt; to a friend" in html
    assert "<Shop>" not in html
    assert html.count('type="radio"') == 11
    for value in range(11):
        assert f'for="score-{value}"' in html
    assert "Not at all likely" in html
    assert "Extremely likely" in html
    assert "Slow delivery" in html
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["referrer-policy"] == "same-origin"


def test_presentations_emoji_stars_thumbs_and_ces(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    html = client.get("/s/shop/csat").text
    assert "😠" in html
    assert "Very dissatisfied" in html
    assert "Very satisfied" in html
    with db() as session:
        stars = surveys.create_survey(
            session, shop.org_id, slug="stars", name="S", metric="csat", status="active"
        )
        stars.presentation = "stars"
        thumbs = surveys.create_survey(
            session,
            shop.org_id,
            slug="thumbs",
            name="T",
            metric="csat",
            scale_low=0,
            scale_high=1,
            status="active",
        )
        thumbs.presentation = "thumbs"
        surveys.create_survey(
            session, shop.org_id, slug="effort", name="E", metric="ces", status="active"
        )
        surveys.create_survey(
            session,
            shop.org_id,
            slug="effort5",
            name="E5",
            metric="ces",
            scale_low=1,
            scale_high=5,
            status="active",
        )
        session.commit()
    stars_html = client.get("/s/shop/stars").text
    # One star per button, the label counting them (five stars on one button overflowed).
    assert stars_html.count('<span class="face" aria-hidden="true">★</span>') == 5
    assert "★★" not in stars_html
    assert "5 stars" in stars_html
    assert "1 star<" in stars_html
    thumbs_html = client.get("/s/shop/thumbs").text
    assert thumbs_html.count('type="radio"') == 2
    assert "👍" in thumbs_html
    effort = client.get("/s/shop/effort").text
    assert effort.count('type="radio"') == 7
    assert "Strongly disagree" in effort
    assert "Somewhat agree" in effort
    effort5 = client.get("/s/shop/effort5?lang=de").text
    assert effort5.count('type="radio"') == 5
    assert "Stimme voll und ganz zu" in effort5


def test_unknown_draft_closed_and_other_organisations(client: TestClient, shop: Shop) -> None:
    assert client.get("/s/shop/nope").status_code == 404
    assert client.get("/s/nope/nps").status_code == 404
    # The survey exists, but in another organisation: same answer as unknown.
    foreign = client.get("/s/shop/secret")
    assert foreign.status_code == 404
    assert "Secret" not in foreign.text
    assert client.get("/s/shop/draft").status_code == 404
    closed = client.get("/s/shop/closed")
    assert closed.status_code == 410
    assert "closed" in closed.text


def test_public_answer_is_stored_with_reasons_and_escaped(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    token = _token(client, "/s/shop/nps")
    answer = client.post(
        "/s/shop/nps",
        data={
            "form_token": token,
            "lang": "en",
            "score": "3",
            "comment": "<script>alert(1)</script> & more",
            "reasons_shown": "1",
            "reasons": ["Slow delivery", "Rude staff"],
        },
    )
    assert answer.status_code == 200, answer.text
    assert "Thank you" in answer.text
    assert "reviews.example" not in answer.text  # detractors are not asked for reviews
    (stored,) = _responses(db, shop.nps_id)
    assert stored.score == 3
    assert stored.comment == "<script>alert(1)</script> & more"
    assert stored.properties == {"reasons": "Slow delivery; Rude staff"}
    assert (stored.source, stored.channel, stored.language) == ("web", "web", "en")
    assert stored.touchpoint == "after purchase"
    _rollups_equal_recount(db, shop.nps_id)


def test_reasons_count_only_after_a_low_score_and_promoters_see_review_links(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    token = _token(client, "/s/shop/nps")
    answer = client.post(
        "/s/shop/nps",
        data={"form_token": token, "score": "10", "reasons": ["Slow delivery"]},
    )
    assert answer.status_code == 200
    assert 'href="https://reviews.example/shop"' in answer.text
    assert 'href="https://shop.example/refer"' in answer.text
    (stored,) = _responses(db, shop.nps_id)
    assert stored.properties == {}


def test_double_submit_of_one_form_is_one_response_updated_and_audited(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    token = _token(client, "/s/shop/nps")
    first = client.post("/s/shop/nps", data={"form_token": token, "score": "4"})
    second = client.post("/s/shop/nps", data={"form_token": token, "score": "9", "comment": "ok"})
    assert first.status_code == second.status_code == 200
    (stored,) = _responses(db, shop.nps_id)
    assert (stored.score, stored.comment) == (9, "ok")
    _rollups_equal_recount(db, shop.nps_id)
    with db() as session:
        (entry,) = session.scalars(select(AuditLog).where(AuditLog.entity == "response"))
    assert entry.entity_id == str(stored.id)
    assert entry.details["score"] == {"before": 4.0, "after": 9.0}
    assert entry.details["comment_changed"] is True
    assert "ok" not in str(entry.details)


def test_off_scale_scores_are_refused_and_nothing_stored(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    token = _token(client, "/s/shop/nps")
    for bad in ("11", "-1", "3.5", "abc", "", "1e1", "٣"):
        answer = client.post("/s/shop/nps", data={"form_token": token, "score": bad})
        assert answer.status_code == 400, bad
        assert "Please choose an answer from 0 to 10." in answer.text
    missing = client.post("/s/shop/nps", data={"form_token": token, "comment": "kept"})
    assert missing.status_code == 400
    assert ">kept</textarea>" in missing.text
    unknown_reason = client.post(
        "/s/shop/nps", data={"form_token": token, "score": "2", "reasons": "Made up"}
    )
    assert unknown_reason.status_code == 400
    assert _responses(db, shop.nps_id) == []


def test_long_comments_are_refused(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    token = _token(client, "/s/shop/nps")
    just_over = client.post(
        "/s/shop/nps", data={"form_token": token, "score": "5", "comment": "x" * 10_001}
    )
    assert just_over.status_code == 400
    assert "10001 characters long; at most 10000 fit" in just_over.text
    started = time.perf_counter()
    huge = client.post(
        "/s/shop/nps", data={"form_token": token, "score": "5", "comment": "x" * 1_000_000}
    )
    assert huge.status_code == 400
    assert time.perf_counter() - started < 2.0
    assert "too long" in huge.text
    exactly = client.post(
        "/s/shop/nps", data={"form_token": token, "score": "5", "comment": "é" * 10_000}
    )
    assert exactly.status_code == 200
    (stored,) = _responses(db, shop.nps_id)
    assert stored.comment is not None
    assert len(stored.comment) == 10_000


def test_csrf_form_token_and_cross_site_posts(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    token = _token(client, "/s/shop/nps")
    assert client.post("/s/shop/nps", data={"score": "9"}).status_code == 403
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post("/s/shop/nps", data={"form_token": forged, "score": "9"}).status_code == 403
    other_survey = _token(client, "/s/shop/csat")
    assert (
        client.post("/s/shop/nps", data={"form_token": other_survey, "score": "9"}).status_code
        == 403
    )
    expired = FormTokens("test-key").issue(shop.nps_id, now=time.time() - 2 * 86_400)
    assert client.post("/s/shop/nps", data={"form_token": expired, "score": "9"}).status_code == 403
    cross = client.post(
        "/s/shop/nps",
        data={"form_token": token, "score": "9"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    fetched = client.post(
        "/s/shop/nps",
        data={"form_token": token, "score": "9"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert fetched.status_code == 403
    hidden = client.post(
        "/s/shop/nps", data={"form_token": token, "score": "9"}, headers={"Origin": "null"}
    )
    assert hidden.status_code == 403
    assert _responses(db, shop.nps_id) == []
    same = client.post(
        "/s/shop/nps",
        data={"form_token": token, "score": "9"},
        headers={"Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 200


def test_public_posts_are_rate_limited(engine: Any, shop: Shop) -> None:
    app = make_app(engine, public_burst=2, public_per_minute=1.0)
    with TestClient(app, base_url=BASE_URL) as client:
        token = _token(client, "/s/shop/nps")
        for _ in range(2):
            assert client.post("/s/shop/nps", data={"form_token": token, "score": "8"}).is_success
        limited = client.post("/s/shop/nps", data={"form_token": token, "score": "8"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


def test_languages_follow_query_header_and_default(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    swedish = client.get("/s/shop/nps", headers={"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"})
    assert '<html lang="sv">' in swedish.text
    assert "Hur troligt är det att du skulle rekommendera" in swedish.text
    assert "Långsam leverans" in swedish.text
    assert "Skicka" in swedish.text
    dutch = client.get("/s/shop/nps?lang=nl", headers={"Accept-Language": "sv"})
    assert '<html lang="nl">' in dutch.text
    assert "Versturen" in dutch.text
    assert 'href="/s/shop/nps?lang=mk"' in dutch.text  # the language switcher
    with db() as session:
        survey = surveys.get_survey(session, shop.org_id, shop.csat_id)
        survey.default_language = "mk"
        survey.questions = {"mk": {"question": "Дали сте задоволни?"}}
        session.commit()
    macedonian = client.get("/s/shop/csat", headers={"Accept-Language": "ja"})
    assert '<html lang="mk">' in macedonian.text
    assert "Дали сте задоволни?" in macedonian.text
    # Another language without a written question: the organisation's own question (in
    # Macedonian, marked so), never a different, generic one in French.
    french = client.get("/s/shop/csat?lang=fr")
    assert '<h1 class="question" lang="mk">Дали сте задоволни?</h1>' in french.text
    assert "Dans quelle mesure" not in french.text
    answer = client.post(
        "/s/shop/csat",
        data={"form_token": _token(client, "/s/shop/csat?lang=fr"), "score": "5", "lang": "fr"},
    )
    assert answer.status_code == 200
    assert "Merci" in answer.text
    (stored,) = _responses(db, shop.csat_id)
    assert stored.language == "fr"


def test_personal_link_get_never_writes(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    link = _link(app, shop.invitation_id, shop.nps_id)
    for _ in range(3):  # a mail scanner, a prefetcher, the person
        page = client.get(f"/r/{link}?score=9")
        assert page.status_code == 200
    assert 'value="9" checked' in page.text
    assert 'data-one-click="yes"' in page.text
    assert _responses(db, shop.nps_id) == []
    with db() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 0
    plain = client.get(f"/r/{link}")
    assert 'data-one-click="no"' in plain.text
    assert "checked" not in plain.text


def test_personal_answer_then_change_on_the_comment_step(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    link = _link(app, shop.invitation_id, shop.nps_id)
    token = _token(client, f"/r/{link}", score="2")
    one_click = client.post(
        f"/r/{link}",
        data={"form_token": token, "score": "2", "lang": "en"},
        headers={"Accept": "application/json"},
    )
    assert one_click.status_code == 200
    assert one_click.json() == {
        "status": "recorded",
        "score": 2.0,
        "band": "low",
        "message": "We are sorry it was not better. Your answer goes to the team at "
        "Demo <Shop>, who use it to put things right.",
    }
    (stored,) = _responses(db, shop.nps_id)
    assert (stored.source, stored.channel, stored.invitation_id) == (
        "email",
        "email",
        shop.invitation_id,
    )
    assert stored.contact_id == shop.contact_id
    assert stored.properties == {"ticket": "T-1", "agent": "maria"}
    assert stored.touchpoint == "after purchase"
    changed = client.post(
        f"/r/{link}",
        data={
            "form_token": token,
            "score": "3",
            "comment": "Late again",
            "reasons_shown": "1",
            "reasons": "Slow delivery",
        },
    )
    assert changed.status_code == 200
    assert f'href="/r/{link}"' in changed.text
    # The one-click post again (the email link clicked twice) keeps the comment.
    again = client.post(f"/r/{link}", data={"form_token": token, "score": "3"})
    assert again.status_code == 200
    (stored,) = _responses(db, shop.nps_id)
    assert (stored.score, stored.comment) == (3, "Late again")
    assert stored.properties == {"ticket": "T-1", "agent": "maria", "reasons": "Slow delivery"}
    _rollups_equal_recount(db, shop.nps_id)
    with db() as session:
        entries = list(session.scalars(select(AuditLog).order_by(AuditLog.id)))
    assert [e.actor for e in entries] == [f"invitation:{shop.invitation_id}"] * 2
    assert entries[0].details["score"] == {"before": 2.0, "after": 3.0}
    assert entries[0].details["reasons"] == {"before": None, "after": "Slow delivery"}


def test_personal_language_comes_from_the_contact(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    link = _link(app, shop.swedish_invitation_id, shop.nps_id)
    page = client.get(f"/r/{link}?lang=de", headers={"Accept-Language": "nl"})
    assert '<html lang="sv">' in page.text
    assert "Skicka" in page.text
    assert 'class="languages"' not in page.text
    with db() as session:
        invitation = session.get(Invitation, shop.swedish_invitation_id)
        assert invitation is not None
        invitation.language = "pt"
        session.commit()
    assert '<html lang="pt">' in client.get(f"/r/{link}").text


def test_damaged_expired_foreign_and_cancelled_links(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    link = _link(app, shop.invitation_id, shop.nps_id)
    tampered = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    assert client.get(f"/r/{tampered}").status_code == 400
    assert client.post(f"/r/{tampered}", data={"score": "9"}).status_code == 400
    expired = _link(app, shop.invitation_id, shop.nps_id, now=time.time() - 40 * 86_400)
    page = client.get(f"/r/{expired}")
    assert page.status_code == 410
    assert "expired" in page.text
    wrong_survey = _link(app, shop.invitation_id, shop.csat_id)
    assert client.get(f"/r/{wrong_survey}").status_code == 400
    missing = _link(app, 999_999, shop.nps_id)
    assert client.get(f"/r/{missing}").status_code == 400
    token = _token(client, f"/r/{link}")
    with db() as session:
        invitation = session.get(Invitation, shop.invitation_id)
        assert invitation is not None
        invitation.status = "cancelled"
        session.commit()
    assert client.get(f"/r/{link}").status_code == 410
    assert client.post(f"/r/{link}", data={"form_token": token, "score": "9"}).status_code == 410
    assert _responses(db, shop.nps_id) == []


# -- the same question in every language, thanks by band, contact consent --------------


def test_a_question_customised_in_english_is_asked_in_every_language(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    with db() as session:
        survey = surveys.create_survey(
            session,
            shop.org_id,
            slug="service",
            name="Service",
            metric="csat",
            status="active",
            questions={
                "en": {"question": "How satisfied are you with our customer service?"},
                "sv": {"question": "Hur nöjd är du med vår kundtjänst?"},
            },
        )
        session.commit()
        assert survey.default_language == "en"
    german = client.get("/s/shop/service?lang=de").text
    assert '<html lang="de">' in german
    # The organisation's English question, marked as English; not "Wie zufrieden ... mit".
    assert (
        '<h1 class="question" lang="en">How satisfied are you with our customer service?</h1>'
        in german
    )
    assert "Wie zufrieden" not in german
    swedish = client.get("/s/shop/service?lang=sv").text
    assert '<h1 class="question">Hur nöjd är du med vår kundtjänst?</h1>' in swedish


BAND_TEXTS = {
    "low": "We are sorry it was not better.",
    "middle": "Thank you for telling us.",
    "high": "We are glad you are happy with",
}


@pytest.mark.parametrize(
    ("score", "band"), [("0", "low"), ("6", "low"), ("7", "middle"), ("10", "high")]
)
def test_thanks_say_what_happens_for_each_band(
    client: TestClient, shop: Shop, score: str, band: str
) -> None:
    token = _token(client, "/s/shop/nps")
    answer = client.post("/s/shop/nps", data={"form_token": token, "score": score})
    assert answer.status_code == 200
    shown = {name for name, text in BAND_TEXTS.items() if text in answer.text}
    assert shown == {band}
    assert f'class="thanks thanks-{band}"' in answer.text


def test_thanks_in_german_and_the_surveys_own_text(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    token = _token(client, "/s/shop/nps", lang="de")
    german = client.post("/s/shop/nps", data={"form_token": token, "score": "1", "lang": "de"})
    assert "Es tut uns leid, dass es nicht besser war." in german.text
    with db() as session:
        csat = session.get(Survey, shop.csat_id)
        assert csat is not None
        csat.collect_options = {
            "thanks": {"en": {"low": "Sorry! A team lead calls you within a day."}},
        }
        session.commit()
    token = _token(client, "/s/shop/csat", lang="de")
    own = client.post("/s/shop/csat", data={"form_token": token, "score": "1", "lang": "de"})
    # No German text of its own: the organisation's promise in English, marked as such.
    assert '<p class="thanks thanks-low" lang="en">Sorry! A team lead calls you' in own.text
    token = _token(client, "/s/shop/csat", lang="de")
    high = client.post("/s/shop/csat", data={"form_token": token, "score": "5", "lang": "de"})
    assert "Schön, dass Sie mit Demo &lt;Shop&gt; zufrieden sind." in high.text


def test_a_personal_link_asks_consent_after_a_low_score_and_stores_it(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    link = _link(app, shop.invitation_id, shop.nps_id)
    page = client.get(f"/r/{link}", params={"score": "2"})
    assert 'name="contact_ok"' in page.text
    assert "May Demo &lt;Shop&gt; contact you about this?" in page.text
    token = _token(client, f"/r/{link}", score="2")
    # The one-click post does not carry the question: nothing stored about consent.
    client.post(f"/r/{link}", data={"form_token": token, "score": "2"})
    (stored,) = _responses(db, shop.nps_id)
    assert stored.contact_consent is None
    answer = client.post(
        f"/r/{link}",
        data={"form_token": token, "score": "2", "consent_shown": "1", "contact_ok": "yes"},
    )
    assert "You allowed Demo &lt;Shop&gt; to contact you about your answer" in answer.text
    (stored,) = _responses(db, shop.nps_id)
    assert stored.contact_consent is True
    refused = client.post(
        f"/r/{link}", data={"form_token": token, "score": "2", "consent_shown": "1"}
    )
    assert "You allowed" not in refused.text
    (stored,) = _responses(db, shop.nps_id)
    assert stored.contact_consent is False


def test_consent_is_ignored_where_the_survey_does_not_ask(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    # A public link: the respondent is anonymous, nobody could contact them.
    public = client.get("/s/shop/nps").text
    assert 'name="contact_ok"' not in public
    token = _token(client, "/s/shop/nps")
    client.post(
        "/s/shop/nps",
        data={"form_token": token, "score": "1", "consent_shown": "1", "contact_ok": "yes"},
    )
    (stored,) = _responses(db, shop.nps_id)
    assert stored.contact_consent is None
    # A survey that turned the question off: not shown, and a forged field is ignored.
    with db() as session:
        nps = session.get(Survey, shop.nps_id)
        assert nps is not None
        nps.collect_options = {**nps.collect_options, "contact_consent": False}
        session.commit()
    link = _link(app, shop.invitation_id, shop.nps_id)
    assert 'name="contact_ok"' not in client.get(f"/r/{link}").text
    token = _token(client, f"/r/{link}")
    client.post(
        f"/r/{link}",
        data={"form_token": token, "score": "1", "consent_shown": "1", "contact_ok": "yes"},
    )
    personal = [r for r in _responses(db, shop.nps_id) if r.invitation_id is not None]
    assert [r.contact_consent for r in personal] == [None]


# -- follow-up questions on the thank-you page ---------------------------------------------


def _add_follow_ups(db: sessionmaker[Session], shop: Shop) -> None:
    from cxpulse.collect import follow_up_changes

    with db() as session:
        for raw in (
            {
                "kind": "rating",
                "key": "delivery",
                "labels": {"en": "How was the <delivery>?", "sv": "Hur var leveransen?"},
            },
            {
                "kind": "choice",
                "key": "found_us",
                "labels": {"en": "How did you find us?"},
                "choices": [
                    {"key": "friend", "labels": {"en": "A friend"}},
                    {"key": "search", "labels": {"en": "Search"}},
                ],
            },
            {"kind": "text", "key": "improve", "labels": {"en": "What could we do better?"}},
        ):
            follow_up_changes.create_question(session, shop.org_id, shop.nps_id, raw)
        session.commit()


def _follow_up_token(html: str) -> str:
    found = re.search(r'name="follow_up_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_the_thanks_page_asks_the_follow_ups_and_stores_them_to_that_response(
    client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    from cxpulse.store import response_answers

    _add_follow_ups(db, shop)
    token = _token(client, "/s/shop/nps")
    thanks = client.post("/s/shop/nps", data={"form_token": token, "lang": "en", "score": "9"})
    assert thanks.status_code == 200, thanks.text
    assert "A few more questions (optional)" in thanks.text
    assert "How was the &lt;delivery&gt;?" in thanks.text
    assert thanks.text.count('name="q_delivery"') == 5
    assert 'action="/s/follow-up"' in thanks.text
    [response] = _responses(db, shop.nps_id)
    more = _follow_up_token(thanks.text)

    refused = client.post(
        "/s/follow-up",
        data={"follow_up_token": more, "lang": "en", "q_delivery": "8", "q_improve": "Faster"},
    )
    assert refused.status_code == 422
    assert "Choose a number from 1 to 5." in refused.text
    assert ">Faster</textarea>" in refused.text  # what was typed is kept

    done = client.post(
        "/s/follow-up",
        data={
            "follow_up_token": _follow_up_token(refused.text),
            "lang": "en",
            "q_delivery": "4",
            "q_found_us": "friend",
            "q_improve": "",
        },
    )
    assert done.status_code == 200, done.text
    assert "Your answers have been recorded." in done.text
    with db() as session:
        [stored] = response_answers.answers_of(session, shop.org_id, [response.id]).values()
    assert [(a.key, a.score, a.choice) for a in stored] == [
        ("delivery", 4.0, None),
        ("found_us", None, "friend"),
    ]


def test_follow_ups_need_the_signed_token_of_the_response(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    from cxpulse.web.survey_page_forms import FollowUpTokens

    _add_follow_ups(db, shop)
    forged = client.post("/s/follow-up", data={"follow_up_token": "1.abc", "q_delivery": "4"})
    assert forged.status_code == 403
    assert client.post("/s/follow-up", data={"q_delivery": "4"}).status_code == 403
    # Signed with another key (or for another purpose): refused all the same.
    other = FollowUpTokens("another-key").issue(1, shop.nps_id)
    assert client.post("/s/follow-up", data={"follow_up_token": other}).status_code == 403
    expired = FollowUpTokens("test-key").issue(1, shop.nps_id, now=time.time() - 2 * 86400)
    assert client.post("/s/follow-up", data={"follow_up_token": expired}).status_code == 403
    form_token = _token(client, "/s/shop/nps")  # a survey form's token is not a follow-up's
    assert client.post("/s/follow-up", data={"follow_up_token": form_token}).status_code == 403
    # A token issued before its response was stored names another response: one that took
    # the id of a deleted one (SQLite reuses the highest id). Not found, nothing stored.
    answered = client.post(
        "/s/shop/nps", data={"form_token": _token(client, "/s/shop/nps"), "score": "7"}
    )
    assert answered.status_code == 200, answered.text
    with db() as session:
        newest = session.scalar(select(func.max(Response.id)))
    assert newest is not None
    older = FollowUpTokens("test-key").issue(newest, shop.nps_id, now=time.time() - 3600)
    stale = client.post("/s/follow-up", data={"follow_up_token": older, "q_delivery": "4"})
    assert stale.status_code == 404
    fresh = FollowUpTokens("test-key").issue(newest, shop.nps_id)
    assert (
        client.post("/s/follow-up", data={"follow_up_token": fresh, "q_delivery": "4"}).status_code
        == 200
    )


def test_a_personal_link_in_swedish_shows_the_follow_ups_in_swedish(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], shop: Shop
) -> None:
    _add_follow_ups(db, shop)
    path = "/r/" + _link(app, shop.swedish_invitation_id, shop.nps_id)
    token = _token(client, path)
    thanks = client.post(path, data={"form_token": token, "lang": "sv", "score": "3"})
    assert thanks.status_code == 200, thanks.text
    assert "Några frågor till (frivilligt)" in thanks.text
    assert "Hur var leveransen?" in thanks.text
    assert 'lang="en">How did you find us?' in thanks.text  # no Swedish label: marked English
    json_answer = client.post(
        path,
        data={"form_token": _token(client, path), "lang": "sv", "score": "4"},
        headers={"Accept": "application/json"},
    )
    assert json_answer.json()["status"] == "recorded"
