"""Surveys through API v1: create, list, read, change, delete."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ..helpers import World, bearer, session_headers

URL = "/api/v1/surveys"


def test_survey_lifecycle(app: FastAPI, client: TestClient, world: World) -> None:
    org = world.a
    analyst = session_headers(app, org.users["analyst"])
    body = {
        "slug": "relationship-nps",
        "name": "Relationship NPS",
        "metric": "nps",
        "touchpoint": "quarterly",
        "questions": {
            "en": {"question": "How likely are you to recommend us?", "comment_prompt": "Why?"},
            "sv": {"question": "Hur troligt är det att du rekommenderar oss?"},
        },
    }
    created = client.post(URL, json=body, headers=analyst)
    assert created.status_code == 201, created.text
    survey = created.json()
    assert (survey["scale"], survey["status"], survey["metric"]) == ("0-10", "draft", "nps")
    assert survey["questions"]["sv"] == {"question": body["questions"]["sv"]["question"]}  # type: ignore[index]

    listed = client.get(URL, headers=analyst).json()["items"]
    assert {s["slug"] for s in listed} == {"support-csat", "relationship-nps"}
    drafts = client.get(URL, params={"status": "draft"}, headers=analyst).json()["items"]
    assert [s["slug"] for s in drafts] == ["relationship-nps"]

    changed = client.patch(
        f"{URL}/{survey['id']}", json={"status": "active", "top_min": 10}, headers=analyst
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "active"
    assert changed.json()["top_min"] == 10
    assert changed.json()["name"] == "Relationship NPS"
    back = client.patch(f"{URL}/{survey['id']}", json={"top_min": None}, headers=analyst)
    assert back.json()["top_min"] is None

    admin = session_headers(app, org.users["admin"])
    assert client.delete(f"{URL}/{survey['id']}", headers=admin).status_code == 204
    assert client.get(f"{URL}/{survey['id']}", headers=admin).status_code == 404


def test_survey_input_errors(client: TestClient, world: World) -> None:
    org = world.a
    headers = bearer(org.write_key)
    taken = client.post(
        URL, json={"slug": "support-csat", "name": "x", "metric": "csat"}, headers=headers
    )
    assert taken.status_code == 409
    assert taken.json()["detail"][0]["loc"] == ["body", "slug"]
    cases = [
        ({"slug": "Bad Slug", "name": "x", "metric": "csat"}, ["body", "slug"]),
        ({"slug": "ok", "name": "x", "metric": "happiness"}, ["body", "metric"]),
        ({"slug": "ok", "name": "   ", "metric": "csat"}, ["body", "name"]),
        (
            {"slug": "ok", "name": "x", "metric": "csat", "scale_low": 5, "scale_high": 1},
            ["body", "scale"],
        ),
        (
            {"slug": "ok", "name": "x", "metric": "nps", "scale_low": 1, "scale_high": 5},
            ["body", "scale"],
        ),
        (
            {
                "slug": "ok",
                "name": "x",
                "metric": "csat",
                "default_language": "de",
                "questions": {"en": {}},
            },
            ["body", "default_language"],
        ),
        (
            {"slug": "ok", "name": "x", "metric": "csat", "questions": {"en": {"title": "x"}}},
            ["body", "questions", "en", "title"],
        ),
        ({"slug": "ok", "name": "x", "metric": "csat", "top_min": "high"}, ["body", "top_min"]),
    ]
    for body, loc in cases:
        answer = client.post(URL, json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"][0]["loc"] == loc, (body, answer.json())
    # The scale is fixed once responses exist.
    frozen = client.patch(f"{URL}/{org.survey_id}", json={"scale_high": 7}, headers=headers)
    assert frozen.status_code == 422
    assert frozen.json()["detail"][0]["loc"] == ["body", "scale"]
    assert (
        client.patch(f"{URL}/{org.survey_id}", json={"colour": "red"}, headers=headers).status_code
        == 422
    )
    assert client.get(f"{URL}/0", headers=headers).status_code == 422
    assert client.get(f"{URL}/abc", headers=headers).status_code == 422


def test_collection_options_are_checked_and_stored(client: TestClient, world: World) -> None:
    headers = bearer(world.a.write_key)
    url = f"/api/v1/surveys/{world.a.survey_id}"
    answer = client.patch(
        url,
        json={
            "presentation": "stars",
            "reminder_days": 3,
            "collect_options": {
                "allowed_origins": ["HTTPS://Shop.Example:443/"],
                "reasons": ["Slow answer", "Not solved"],
            },
        },
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    survey = answer.json()
    assert survey["presentation"] == "stars"
    assert survey["reminder_days"] == 3
    assert survey["throttle_days"] is None
    assert survey["collect_options"]["allowed_origins"] == ["https://shop.example"]
    assert survey["collect_options"]["reasons"] == ["Slow answer", "Not solved"]
    assert survey["collect_options"]["link_days"] == 30
    bad = [
        (
            {"collect_options": {"allowed_origins": ["shop.example"]}},
            ["collect_options", "allowed_origins"],
        ),
        ({"collect_options": {"colour": "red"}}, ["collect_options", "colour"]),
        ({"collect_options": {"link_days": 0}}, ["collect_options", "link_days"]),
        ({"presentation": "thumbs"}, ["presentation"]),  # a 1-5 survey
        ({"presentation": "sparkles"}, ["presentation"]),
        ({"reminder_days": 0}, ["reminder_days"]),
    ]
    for body, loc in bad:
        refused = client.patch(url, json=body, headers=headers)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["detail"][0]["loc"][1:] == loc, (body, refused.json())
    assert client.get(url, headers=headers).json()["presentation"] == "stars"


def test_bands_off_the_survey_scale_are_a_422_naming_the_field(
    client: TestClient, world: World
) -> None:
    headers = bearer(world.a.write_key)
    cases = [
        ({"slug": "x", "name": "x", "metric": "csat", "top_min": 99}, "top_min"),
        ({"slug": "x", "name": "x", "metric": "nps", "bottom_max": -1}, "bottom_max"),
        ({"slug": "x", "name": "x", "metric": "csat", "scale_low": 2, "scale_high": 9}, "scale"),
        ({"slug": "x", "name": "x", "metric": "ces", "scale_low": 0, "scale_high": 1}, "scale"),
    ]
    for body, field in cases:
        answer = client.post(URL, json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()["detail"][0]
        assert error["loc"] == ["body", field], (body, error)
        assert error["msg"]
    url = f"{URL}/{world.a.survey_id}"
    before = client.get(url, headers=headers).json()
    changed = client.patch(url, json={"top_min": 11}, headers=headers)
    assert changed.status_code == 422, changed.text
    assert changed.json()["detail"][0]["loc"] == ["body", "top_min"]
    assert "outside" in changed.json()["detail"][0]["msg"]
    assert client.get(url, headers=headers).json()["top_min"] == before["top_min"]
    own_scale = {
        "slug": "four",
        "name": "Four-point CSAT",
        "metric": "csat",
        "scale_low": 1,
        "scale_high": 4,
        "top_min": 3,
        "bottom_max": 2,
    }
    created = client.post(URL, json=own_scale, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["scale"] == "1-4"


def test_archived_surveys_through_the_api(client: TestClient, world: World) -> None:
    """The status "archived" (closed and hidden in the browser's lists) is the API's too:
    set, filtered on and listed; the list without a filter still names every survey."""
    org = world.a
    headers = bearer(org.write_key)
    url = f"{URL}/{org.survey_id}"
    archived = client.patch(url, json={"status": "archived"}, headers=headers)
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    only = client.get(URL, params={"status": "archived"}, headers=headers).json()["items"]
    assert [s["id"] for s in only] == [org.survey_id]
    assert client.get(URL, params={"status": "active"}, headers=headers).json()["items"] == []
    assert [s["id"] for s in client.get(URL, headers=headers).json()["items"]] == [org.survey_id]
    created = client.post(
        URL,
        json={"slug": "old", "name": "Old", "metric": "csat", "status": "archived"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    refused = client.patch(url, json={"status": "hidden"}, headers=headers)
    assert refused.status_code == 422
    back = client.patch(url, json={"status": "active"}, headers=headers)
    assert back.json()["status"] == "active"
