"""The embeddable widget's public routes on both databases: script, prompt, answers, CORS,
rate limit; and the pure checks of ``cxpulse.collect.widget_submit``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.widget_submit import page_address, parse_answer, widget_config
from cxpulse.store import accounts, rollups, surveys
from cxpulse.store.models import MAX_COMMENT_LENGTH, Response, Survey
from cxpulse.store.survey_options import parse_options

from ..helpers import BASE_URL, make_app

SHOP = "https://shop.example"
ELSEWHERE = "https://evil.example"
CSAT_URL = "/w/acme/web-csat"
ANSWER_URL = f"{CSAT_URL}/responses"


@dataclass
class Shop:
    organisation_id: int
    csat_id: int
    nps_id: int


def _build_shop(session: Session) -> Shop:
    organisation = accounts.create_organisation(session, slug="acme", name="Acme")
    csat = surveys.create_survey(
        session,
        organisation.id,
        slug="web-csat",
        name="Web CSAT",
        metric="csat",
        status="active",
        touchpoint="checkout",
        questions={
            "en": {"question": "How was <b>checkout</b>?", "comment_prompt": "Tell us more"},
            "sv": {"question": "Hur gick kassan?"},
        },
    )
    csat.collect_options = {
        "allowed_origins": [SHOP, "http://localhost:8080"],
        "reasons": ["Slow", "Price"],
        "reasons_i18n": {"sv": ["Långsamt", "Pris"]},
    }
    csat.presentation = "stars"
    nps = surveys.create_survey(
        session, organisation.id, slug="web-nps", name="Web NPS", metric="nps", status="active"
    )
    nps.collect_options = {"allowed_origins": [SHOP], "comment": False}
    surveys.create_survey(
        session, organisation.id, slug="draft", name="Draft", metric="csat", status="draft"
    )
    closed = surveys.create_survey(
        session, organisation.id, slug="closed", name="Closed", metric="csat", status="closed"
    )
    closed.collect_options = {"allowed_origins": [SHOP]}
    # Another organisation with a survey of the same slug: never reached through acme's path.
    other = accounts.create_organisation(session, slug="other", name="Other")
    surveys.create_survey(
        session, other.id, slug="web-csat", name="Other CSAT", metric="csat", status="active"
    )
    session.flush()
    return Shop(organisation.id, csat.id, nps.id)


@pytest.fixture
def shop(db: sessionmaker[Session]) -> Shop:
    with db() as session:
        built = _build_shop(session)
        session.commit()
    return built


def _stored(db: sessionmaker[Session], survey_id: int) -> list[Response]:
    with db() as session:
        rows = session.scalars(
            select(Response).where(Response.survey_id == survey_id).order_by(Response.id)
        )
        return list(rows)


def _count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


def _post(client: TestClient, body: Any, origin: str | None = SHOP, url: str = ANSWER_URL) -> Any:
    headers = {} if origin is None else {"Origin": origin}
    return client.post(url, json=body, headers=headers)


# The script


def test_script_is_served_as_javascript_with_a_cache_lifetime(client: TestClient) -> None:
    answer = client.get("/widget.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=3600"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "attachShadow" in answer.text
    assert "innerHTML" not in answer.text.replace("never innerHTML", "")
    assert "localStorage" not in answer.text.replace("nothing in\n * localStorage", "")
    head = client.head("/widget.js")
    assert head.status_code == 200
    assert head.content == b""


# The prompt


# Cases in loops rather than parametrised: each parametrised case would start an app and
# empty a database, twice.
LANGUAGE_CASES = [
    # ?lang= (data-lang), Accept-Language, language shown, question shown
    ("", None, "en", "How was <b>checkout</b>?"),
    ("?lang=sv", "de", "sv", "Hur gick kassan?"),
    ("?lang=sv-SE", None, "sv", "Hur gick kassan?"),
    # No question of its own in German or Macedonian: the organisation's (English) one,
    # never the generic "Wie zufrieden sind Sie mit Acme?" (a different question).
    ("", "de-CH, en;q=0.5", "de", "How was <b>checkout</b>?"),
    ("?lang=xx", "fr;q=0.9, mk", "mk", "How was <b>checkout</b>?"),
]


def test_prompt_in_the_negotiated_language(client: TestClient, shop: Shop) -> None:
    for query, accept_language, language, question in LANGUAGE_CASES:
        headers = {"Origin": SHOP}
        if accept_language is not None:
            headers["Accept-Language"] = accept_language
        config = client.get(CSAT_URL + query, headers=headers).json()
        assert (config["language"], config["question"]) == (language, question), query
        written_in = "en" if question.startswith("How") else language
        assert config["question_language"] == written_in
    answer = client.get(CSAT_URL, headers={"Origin": SHOP})
    assert answer.status_code == 200, answer.text
    config = answer.json()
    assert config["survey"] == "acme/web-csat"
    assert config["values"] == [1, 2, 3, 4, 5]
    assert config["scale"] == {"low": 1, "high": 5}
    assert config["presentation"] == "stars"
    # One star per button; the label says how many (see collect.questions.choices).
    assert [choice["face"] for choice in config["choices"]] == ["★"] * 5
    assert config["choices"][3]["label"] == "4 stars"
    assert [choice["low"] for choice in config["choices"]] == [True, True, False, False, False]
    assert config["comment"] is True
    assert config["max_comment_length"] == MAX_COMMENT_LENGTH
    assert set(config["texts"]) >= {"send", "close", "thanks", "error", "choose", "reasons"}
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in answer.headers["vary"]
    assert "Accept-Language" in answer.headers["vary"]
    assert "access-control-allow-credentials" not in answer.headers


def test_prompt_texts_follow_the_language(client: TestClient, shop: Shop) -> None:
    english = client.get(CSAT_URL, headers={"Origin": SHOP}).json()
    swedish = client.get(CSAT_URL + "?lang=sv", headers={"Origin": SHOP}).json()
    assert english["comment_prompt"] == "Tell us more"
    # The organisation's own prompt (English), as the question: not another one in Swedish.
    assert (swedish["comment_prompt"], swedish["comment_prompt_language"]) == ("Tell us more", "en")
    assert swedish["texts"]["send"] == "Skicka"
    assert swedish["texts"]["close"] == "Stäng"
    assert english["texts"]["send"] == "Send"
    assert english["reasons"] == ["Slow", "Price"]
    assert swedish["reasons"] == ["Långsamt", "Pris"]
    assert swedish["choices"][0]["label"] != english["choices"][0]["label"]


def test_nps_prompt_has_eleven_values_and_no_comment(client: TestClient, shop: Shop) -> None:
    answer = client.get("/w/acme/web-nps?lang=nl", headers={"Origin": SHOP})
    assert answer.status_code == 200
    config = answer.json()
    assert config["metric"] == "nps"
    assert config["values"] == list(range(11))
    assert config["presentation"] == "numbers"
    assert config["comment"] is False
    assert config["comment_prompt"] is None
    assert config["labels"]["low"] == "Helemaal niet waarschijnlijk"
    assert config["anchors"] is True
    assert config["question"].startswith("Hoe waarschijnlijk")
    assert "Acme" in config["question"]


def test_prompt_without_origin_is_public_but_carries_no_cors(
    client: TestClient, shop: Shop
) -> None:
    answer = client.get(CSAT_URL)
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


REFUSED_ORIGINS = [ELSEWHERE, "http://shop.example", "https://shop.example:8443", "null", "x"]


def test_prompt_refused_to_other_origins(client: TestClient, shop: Shop) -> None:
    for origin in REFUSED_ORIGINS:
        answer = client.get(CSAT_URL, headers={"Origin": origin})
        assert answer.status_code == 403, origin
        assert "access-control-allow-origin" not in answer.headers
        assert answer.headers["vary"] == "Origin"


def test_origin_is_compared_after_normalising(client: TestClient, shop: Shop) -> None:
    # Stored as http://localhost:8080; a browser sends it exactly so.
    answer = client.get(CSAT_URL, headers={"Origin": "http://localhost:8080"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:8080"
    # Browsers send origins normalised; another client's spelling is answered normalised.
    answer = client.get(CSAT_URL, headers={"Origin": "HTTPS://Shop.Example:443"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP


def test_unknown_draft_and_closed_surveys(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    cases = [
        ("/w/acme/nope", 404),
        ("/w/nobody/web-csat", 404),
        ("/w/acme/draft", 404),
        ("/w/acme/closed", 410),
    ]
    for url, status in cases:
        assert client.get(url, headers={"Origin": SHOP}).status_code == status, url
        answer = _post(client, {"score": 5}, url=f"{url}/responses")
        assert answer.status_code == status, url
        assert isinstance(answer.json()["detail"], str)
    assert _count(db) == 0


# Answers


def test_valid_answer_is_stored_as_a_widget_response(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    body = {
        "score": 4,
        "comment": "  Fast checkout  ",
        "language": "sv",
        "properties": {"plan": "pro", "seats": 12, "trial": False},
        "page": "https://shop.example/cart?order=991&email=a@b.example#pay",
        "key": "k-0123456789abcdef",
    }
    answer = _post(client, body)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "stored": True,
        "message": "Tack! Vad roligt att du är nöjd med Acme.",
    }
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert answer.headers["cache-control"] == "no-store"
    (stored,) = _stored(db, shop.csat_id)
    assert stored.organisation_id == shop.organisation_id
    assert stored.score == 4
    assert stored.comment == "Fast checkout"
    assert stored.language == "sv"
    assert stored.source == "widget"
    assert stored.channel == "web"
    assert stored.touchpoint == "checkout"
    assert stored.contact_id is None
    assert stored.properties == {
        "plan": "pro",
        "seats": "12",
        "trial": "false",
        "page": "https://shop.example/cart",
    }
    with db() as session:
        assert rollups.stored(session, shop.organisation_id) == rollups.recount(
            session, shop.organisation_id
        )


def test_language_defaults_to_the_survey_and_comment_is_optional(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    answer = _post(client, {"score": 0}, url="/w/acme/web-nps/responses")
    assert answer.status_code == 201, answer.text
    (stored,) = _stored(db, shop.nps_id)
    assert (stored.score, stored.language, stored.comment, stored.properties) == (
        0,
        "en",
        None,
        {},
    )


def test_the_same_key_stores_once(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    body = {"score": 5, "key": "same-key-12345"}
    assert _post(client, body).status_code == 201
    again = _post(client, body)
    assert again.status_code == 200
    assert again.json()["stored"] is True
    assert len(_stored(db, shop.csat_id)) == 1


def test_markup_in_a_comment_is_stored_as_text(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    comment = "<script>alert('x')</script><img src=x onerror=alert(1)> & \"quotes\""
    assert _post(client, {"score": 1, "comment": comment}).status_code == 201
    (stored,) = _stored(db, shop.csat_id)
    assert stored.comment == comment


LONG_COMMENT = "x" * (MAX_COMMENT_LENGTH + 1)


BAD_ANSWERS: list[tuple[Any, list[str]]] = [
    ({}, ["body", "score"]),
    ({"score": None}, ["body", "score"]),
    ({"score": 6}, ["body", "score"]),
    ({"score": 10**400}, ["body", "score"]),
    ({"score": 0}, ["body", "score"]),
    ({"score": 3.5}, ["body", "score"]),
    ({"score": "5"}, ["body", "score"]),
    ({"score": True}, ["body", "score"]),
    ({"score": 5, "comment": 42}, ["body", "comment"]),
    ({"score": 5, "comment": LONG_COMMENT}, ["body", "comment"]),
    ({"score": 5, "language": "xx"}, ["body", "language"]),
    ({"score": 5, "language": ["en"]}, ["body", "language"]),
    ({"score": 5, "properties": ["plan"]}, ["body", "properties"]),
    ({"score": 5, "properties": {"plan": {"x": 1}}}, ["body", "properties", "plan"]),
    ({"score": 5, "properties": {"": "x"}}, ["body", "properties", "", "[key]"]),
    ({"score": 5, "properties": {f"p{n}": n for n in range(21)}}, ["body", "properties"]),
    ({"score": 5, "page": "javascript:alert(1)"}, ["body", "page"]),
    ({"score": 5, "page": 7}, ["body", "page"]),
    ({"score": 5, "key": "short"}, ["body", "key"]),
    ({"score": 5, "key": "has spaces in it"}, ["body", "key"]),
    ({"score": 5, "contact_id": 1}, ["body", "contact_id"]),
    ({"score": 1, "reasons": "Slow"}, ["body", "reasons"]),
    ({"score": 1, "reasons": ["Slow", 3]}, ["body", "reasons"]),
    ({"score": 1, "reasons": ["Broken"]}, ["body", "reasons"]),
    ({"score": 1, "language": "sv", "reasons": ["Slow"]}, ["body", "reasons"]),
    ([5], ["body"]),
    ("5", ["body"]),
]


def test_bad_answers_are_refused_with_the_field_named(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    for body, loc in BAD_ANSWERS:
        answer = _post(client, body)
        assert answer.status_code == 422, (body, answer.text)
        detail = answer.json()["detail"]
        assert loc in [error["loc"] for error in detail], (body, detail)
        assert all(error["msg"] for error in detail)
        # The widget on an allowed site can read the reason.
        assert answer.headers["access-control-allow-origin"] == SHOP
    assert _count(db) == 0


def test_every_problem_is_listed_at_once(client: TestClient, shop: Shop) -> None:
    answer = _post(client, {"score": 9, "comment": 1, "language": "xx"})
    assert answer.status_code == 422
    locs = [error["loc"] for error in answer.json()["detail"]]
    assert locs == [["body", "score"], ["body", "comment"], ["body", "language"]]


def test_a_body_that_is_not_json_is_refused(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    for raw in (b"{not json", b"\xff\xfe", b""):
        answer = client.post(
            ANSWER_URL, content=raw, headers={"Origin": SHOP, "Content-Type": "application/json"}
        )
        assert answer.status_code == 422, raw
        assert answer.json()["detail"][0]["loc"] == ["body"]
    assert _count(db) == 0


# CORS


def test_preflight_of_an_allowed_origin(client: TestClient, shop: Shop) -> None:
    answer = client.options(
        ANSWER_URL,
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert answer.headers["access-control-allow-methods"] == "POST"
    assert answer.headers["access-control-allow-headers"] == "Content-Type"
    assert int(answer.headers["access-control-max-age"]) > 0
    assert answer.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in answer.headers


def test_preflight_of_another_origin_is_refused(client: TestClient, shop: Shop) -> None:
    for origin in [*REFUSED_ORIGINS, None]:
        headers = {"Access-Control-Request-Method": "POST"}
        if origin is not None:
            headers["Origin"] = origin
        answer = client.options(ANSWER_URL, headers=headers)
        assert answer.status_code == 403, origin
        assert "access-control-allow-origin" not in answer.headers
    # Allowed for web-csat is not allowed for web-nps.
    answer = client.options(
        "/w/acme/web-nps/responses",
        headers={"Origin": "http://localhost:8080", "Access-Control-Request-Method": "POST"},
    )
    assert answer.status_code == 403


def test_answer_from_an_origin_not_allowed_is_refused_and_not_stored(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    for origin in [*REFUSED_ORIGINS, None]:
        answer = _post(client, {"score": 5}, origin=origin)
        assert answer.status_code == 403, origin
        assert "access-control-allow-origin" not in answer.headers
        assert answer.headers["vary"] == "Origin"
    assert _count(db) == 0


def test_the_other_organisations_survey_of_the_same_slug_is_untouched(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    # Other's web-csat allows no origin at all: its path refuses, acme's stores in acme.
    assert _post(client, {"score": 5}, url="/w/other/web-csat/responses").status_code == 403
    assert _post(client, {"score": 5}).status_code == 201
    with db() as session:
        owners = set(session.scalars(select(Response.organisation_id)))
    assert owners == {shop.organisation_id}


# Rate limit


@pytest.fixture
def limited_client(engine: Engine) -> Iterator[TestClient]:
    app: FastAPI = make_app(engine, public_burst=3, public_per_minute=1)
    with TestClient(app, base_url=BASE_URL) as opened:
        yield opened


def test_a_burst_beyond_the_limit_gets_429(
    limited_client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    codes = [_post(limited_client, {"score": 5}).status_code for _ in range(3)]
    assert codes == [201, 201, 201]
    refused = _post(limited_client, {"score": 5})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert _count(db) == 3
    # Reading the prompt is not limited: page views must not use up the answers.
    assert limited_client.get(CSAT_URL, headers={"Origin": SHOP}).status_code == 200


# Pure checks


def _survey(metric: str, low: int, high: int) -> Survey:
    return Survey(
        slug="s",
        metric=metric,
        scale_low=low,
        scale_high=high,
        presentation="numbers",
        default_language="sv",
        questions={},
    )


def test_page_address_drops_query_and_fragment() -> None:
    assert page_address("HTTPS://Shop.Example:8443/a/b?x=1#y") == "https://shop.example:8443/a/b"
    assert page_address("http://shop.example") == "http://shop.example/"
    for bad in ("ftp://shop.example/", "/relative", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="address"):
            page_address(bad)


def test_parse_answer_defaults_and_problems() -> None:
    survey = _survey("nps", 0, 10)
    options = parse_options({"reasons": ["Slow"]})
    parsed = parse_answer(survey, options, {"score": 10})
    assert not isinstance(parsed, list)
    assert (parsed.score, parsed.language, parsed.comment, parsed.key) == (10.0, "sv", None, None)
    blank = parse_answer(survey, options, {"score": 7, "comment": "   "})
    assert not isinstance(blank, list)
    assert blank.comment is None
    problems = parse_answer(survey, options, {"score": 11, "extra": 1})
    assert problems == [
        (("extra",), "unknown field"),
        (("score",), "must be a whole number from 0 to 10"),
    ]


def test_reasons_are_kept_only_with_a_low_score() -> None:
    survey = _survey("nps", 0, 10)
    options = parse_options({"reasons": ["Slow", "Price"]})
    low = parse_answer(
        survey, options, {"score": 3, "reasons": ["Price", "Slow", "Price"], "properties": {}}
    )
    assert not isinstance(low, list)
    assert low.properties == {"reasons": "Price; Slow"}
    high = parse_answer(survey, options, {"score": 9, "reasons": ["Price"]})
    assert not isinstance(high, list)
    assert high.properties == {}
    # A page's own "reasons" property never poses as the respondent's choice.
    forged = parse_answer(survey, options, {"score": 9, "properties": {"reasons": "Price"}})
    assert not isinstance(forged, list)
    assert forged.properties == {}


def test_reasons_of_a_low_score_are_stored_in_the_shown_language(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    body = {"score": 2, "language": "sv", "reasons": ["Pris", "Långsamt"]}
    assert _post(client, body).status_code == 201
    (stored,) = _stored(db, shop.csat_id)
    assert stored.properties["reasons"] == "Pris; Långsamt"


@pytest.mark.parametrize(
    ("metric", "low", "high", "presentation", "shown", "anchors"),
    [
        ("csat", 1, 5, "emoji", "emoji", False),
        ("csat", 0, 1, "thumbs", "thumbs", False),
        ("csat", 1, 7, "stars", "numbers", True),
        ("ces", 1, 7, "numbers", "numbers", False),
        ("nps", 0, 10, "emoji", "numbers", True),
    ],
)
def test_config_choices_follow_the_presentation(
    metric: str, low: int, high: int, presentation: str, shown: str, anchors: bool
) -> None:
    survey = _survey(metric, low, high)
    survey.presentation = presentation
    config = widget_config(survey, "acme", "Acme", parse_options({}), "de")
    assert config["presentation"] == shown
    assert config["anchors"] is anchors
    assert [choice["value"] for choice in config["choices"]] == list(range(low, high + 1))
    assert all(choice["label"] for choice in config["choices"])
    if shown in ("emoji", "thumbs"):
        # Pictures get words: seen under the face and read out as the label.
        assert all(choice["words"] == choice["label"] for choice in config["choices"])
        assert config["choices"][0]["face"] != str(low)
    assert "Acme" in config["question"]
    assert config["texts"]["send"] == "Senden"


# Thanks by band and the contact consent


def test_a_low_answer_with_consent_is_stored_and_thanked_for(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    config = client.get(CSAT_URL, headers={"Origin": SHOP}).json()
    assert config["consent"] == "May Acme contact you about this?"
    body = {"score": 1, "contact_ok": True, "properties": {"customer": "c-1"}, "key": "k-consent-1"}
    answer = _post(client, body)
    assert answer.status_code == 201, answer.text
    message = answer.json()["message"]
    assert message.startswith("Thank you! We are sorry it was not better.")
    assert "You allowed Acme to contact you" in message
    # Sent again (a retry of the same key): one response, the consent as now sent.
    again = _post(client, {**body, "contact_ok": False})
    assert again.status_code == 200
    (stored,) = _stored(db, shop.csat_id)
    assert stored.contact_consent is False
    assert stored.properties == {"customer": "c-1"}
    with db() as session:
        assert rollups.stored(session, survey_id=shop.csat_id) == rollups.recount(
            session, survey_id=shop.csat_id
        )


def test_consent_is_ignored_after_a_high_score_or_where_not_asked(
    client: TestClient, shop: Shop, db: sessionmaker[Session]
) -> None:
    high = _post(client, {"score": 5, "contact_ok": True})
    assert high.status_code == 201
    assert "glad" in high.json()["message"]
    nps_url = "/w/acme/web-nps/responses"
    with db() as session:
        nps = session.get(Survey, shop.nps_id)
        assert nps is not None
        nps.collect_options = {**nps.collect_options, "contact_consent": False}
        session.commit()
    assert client.get("/w/acme/web-nps", headers={"Origin": SHOP}).json()["consent"] is None
    quiet = _post(client, {"score": 0, "contact_ok": True}, url=nps_url)
    assert quiet.status_code == 201
    assert "allowed" not in quiet.json()["message"]
    assert [r.contact_consent for r in _stored(db, shop.csat_id)] == [None]
    assert [r.contact_consent for r in _stored(db, shop.nps_id)] == [None]
    refused = _post(client, {"score": 1, "contact_ok": "yes"})
    assert refused.status_code == 422
