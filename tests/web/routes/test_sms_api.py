"""SMS through the app, on SQLite and PostgreSQL: the reply address Twilio posts to (its
signature checked, opt-out keywords recorded, TwiML answered) and the settings an
administrator connects the provider with."""

from __future__ import annotations

import urllib.parse

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import sms
from cxpulse.store import sms_opt_outs

from ..helpers import World, session_headers

AUTH_TOKEN = "twilio-auth-token-0123"
SETTINGS = "/api/v1/sms/settings"


@pytest.fixture
def sms_app(app: FastAPI) -> FastAPI:
    app.state.sms_settings = sms.SmsSettings(
        account="AC123", token=AUTH_TOKEN, sender="+46701740605"
    )
    return app


def _incoming_url(client: TestClient, app: FastAPI, world_user: int) -> str:
    answer = client.get(SETTINGS, headers=session_headers(app, world_user))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["incoming_url"])


def _post_reply(
    client: TestClient, url: str, form: dict[str, str], *, token: str = AUTH_TOKEN
) -> tuple[int, str]:
    signature = sms.request_signature(token, url, form.items())
    path = urllib.parse.urlsplit(url).path
    answer = client.post(
        path,
        content=urllib.parse.urlencode(form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    return answer.status_code, answer.text


def test_settings_show_the_reply_address(
    sms_app: FastAPI, client: TestClient, world: World
) -> None:
    admin = session_headers(sms_app, world.a.users["admin"])
    setup = client.get(SETTINGS, headers=admin).json()
    assert setup["configured"] is True
    assert setup["sender"] == "+46701740605"
    assert setup["incoming_url"].endswith("/incoming")
    analyst = session_headers(sms_app, world.a.users["analyst"])
    assert client.get(SETTINGS, headers=analyst).status_code == 403
    assert client.get("/api/v1/sms/opt-outs", headers=analyst).status_code == 403


def test_a_stop_reply_opts_out_of_its_organisation_only(
    sms_app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    url = _incoming_url(client, sms_app, world.a.users["admin"])
    form = {"From": "+46701234567", "Body": "Stopp", "To": "+46701740605", "MessageSid": "SM1"}
    status, body = _post_reply(client, url, form)
    assert status == 200
    assert "<Message>Du får inga fler meddelanden från oss.</Message>" in body
    with db() as session:
        assert sms_opt_outs.is_opted_out(session, world.a.id, "+46701234567")
        assert not sms_opt_outs.is_opted_out(session, world.b.id, "+46701234567")
    listed = client.get(
        "/api/v1/sms/opt-outs", headers=session_headers(sms_app, world.a.users["admin"])
    ).json()["items"]
    assert [(o["phone"], o["keyword"]) for o in listed] == [("+46701234567", "stopp")]
    # START undoes it; any other reply changes nothing and gets no answer.
    status, body = _post_reply(client, url, {**form, "Body": "START"})
    assert "receive our messages again" in body
    status, body = _post_reply(client, url, {**form, "Body": "thanks, all good"})
    assert (status, body) == (200, sms.twiml(None))
    with db() as session:
        assert not sms_opt_outs.is_opted_out(session, world.a.id, "+46701234567")


def test_forged_and_unknown_replies_are_refused(
    sms_app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    url = _incoming_url(client, sms_app, world.a.users["admin"])
    form = {"From": "+46701234567", "Body": "STOP"}
    assert _post_reply(client, url, form, token="guessed")[0] == 401
    unsigned = client.post(urllib.parse.urlsplit(url).path, data=form)
    assert unsigned.status_code == 401
    assert _post_reply(client, url.replace("/sms/", "/sms/x"), form)[0] == 404
    with db() as session:
        assert not sms_opt_outs.is_opted_out(session, world.a.id, "+46701234567")


def test_without_an_auth_token_nothing_is_believed(
    app: FastAPI, client: TestClient, world: World
) -> None:
    app.state.sms_settings = sms.SmsSettings()
    url = _incoming_url(client, app, world.a.users["admin"])
    assert _post_reply(client, url, {"From": "+46701234567", "Body": "STOP"}, token="")[0] == 401
