"""The request-reading helpers of ``cxpulse.web.survey_page_rendering``: the pre-selected
score, JSON or HTML, the page's language. (The pages themselves are checked through the
routes, in tests/web/routes/test_survey_pages.py.)"""

from __future__ import annotations

import pytest
from starlette.requests import Request

from cxpulse.store.models import Invitation, Survey
from cxpulse.store.survey_options import CollectOptions
from cxpulse.web.survey_page_rendering import language, score_param, shown_language, wants_json
from cxpulse.web.survey_page_targets import Target


def _request(query: str = "", **headers: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/s/org/nps",
            "query_string": query.encode(),
            "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        }
    )


def _target(invitation_language: str | None = None, contact: str | None = None) -> Target:
    survey = Survey(metric="nps", scale_low=0, scale_high=10, default_language="de")
    invitation = Invitation(language=invitation_language)
    return Target("Org", survey, CollectOptions(), invitation, contact)


@pytest.mark.parametrize(
    ("query", "expected"), [("score=9", 9), ("score=0", 0), ("score=11", None), ("", None)]
)
def test_a_score_off_the_scale_preselects_nothing(query: str, expected: int | None) -> None:
    assert score_param(_request(query), _target()) == expected


def test_json_is_answered_when_asked_for() -> None:
    assert wants_json(_request(accept="application/json"))
    assert not wants_json(_request(accept="text/html"))
    assert not wants_json(_request())


def test_the_language_comes_from_invitation_contact_query_browser_then_survey() -> None:
    assert language(_request("lang=fr", accept_language="sv"), _target("pt", "nl")) == "pt"
    assert language(_request("lang=fr", accept_language="sv"), _target(None, "nl")) == "nl"
    assert language(_request("lang=fr", accept_language="sv"), _target()) == "fr"
    assert language(_request(accept_language="sv"), _target()) == "sv"
    assert language(_request(), _target()) == "de"


def test_the_language_a_form_was_shown_in_wins() -> None:
    assert shown_language(_request(accept_language="sv"), _target(), {"lang": ["fr"]}) == "fr"
    assert shown_language(_request(accept_language="sv"), _target(), {}) == "sv"
