"""Contacts through API v1: one at a time, and imported from CSV files."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ..helpers import World, bearer

URL = "/api/v1/contacts"


def test_contact_lifecycle_and_pages(client: TestClient, world: World) -> None:
    org = world.a
    headers = bearer(org.write_key)
    created = client.post(
        URL,
        json={
            "external_id": "crm-42",
            "email": "maria@example.mk",
            "name": "Марија",
            "locale": "mk",
            "attributes": {"plan": "pro", "vip": True, "seats": 12},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["attributes"] == {"plan": "pro", "vip": "true", "seats": "12"}
    duplicate = client.post(URL, json={"external_id": "crm-42"}, headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"][0]["loc"] == ["body", "external_id"]

    changed = client.patch(
        f"{URL}/{contact['id']}", json={"attributes": {"plan": "free"}}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.json()["attributes"] == {"plan": "free"}
    assert changed.json()["name"] == "Марија"

    for n in range(4):
        client.post(URL, json={"name": f"Person {n}"}, headers=headers)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(URL, params=params, headers=bearer(org.read_key)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 6
    assert seen == sorted(seen)
    by_email = client.get(URL, params={"email": "maria@example.mk"}, headers=headers).json()
    assert [c["id"] for c in by_email["items"]] == [contact["id"]]
    assert client.get(URL, params={"cursor": "x"}, headers=headers).status_code == 422

    assert client.delete(f"{URL}/{contact['id']}", headers=headers).status_code == 204
    assert client.get(f"{URL}/{contact['id']}", headers=headers).status_code == 404


def test_deleting_a_contact_keeps_their_responses(client: TestClient, world: World) -> None:
    org = world.a
    headers = bearer(org.write_key)
    listed = client.get(
        f"/api/v1/surveys/{org.survey_id}/responses",
        params={"contact_id": org.contact_id},
        headers=headers,
    ).json()["items"]
    assert listed
    assert client.delete(f"{URL}/{org.contact_id}", headers=headers).status_code == 204
    for item in listed:
        again = client.get(f"/api/v1/responses/{item['id']}", headers=headers)
        assert again.status_code == 200
        assert again.json()["contact_id"] is None


def test_an_address_with_a_line_break_is_a_field_error(client: TestClient, world: World) -> None:
    headers = bearer(world.a.write_key)
    for body in ({"email": "a@b.se\nBcc:x@y.se"}, {"email": "victim@x.se\r\n\r\nText"}):
        refused = client.post(URL, json=body, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", "email"]
    created = client.post(URL, json={"email": "a@b.se"}, headers=headers)
    assert created.status_code == 201
    changed = client.patch(
        f"{URL}/{created.json()['id']}", json={"email": "a@b.se\nBcc:x@y.se"}, headers=headers
    )
    assert changed.status_code == 422
    assert changed.json()["detail"][0]["loc"] == ["body", "email"]


def test_contacts_from_csv(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    good = "external_id,email,name,locale,plan\nc-1,,Renamed,sv,gold\n,z@example.com,Zed,,basic\n"
    answer = client.post(
        "/api/v1/contacts/import", files={"file": ("contacts.csv", good, "text/csv")}, headers=key
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": 1, "updated": 1, "invalid": 0, "problems": []}
    contact = client.get(f"/api/v1/contacts/{world.a.contact_id}", headers=key).json()
    assert contact["name"] == "Renamed"
    assert contact["attributes"] == {"plan": "gold"}
    bad = "external_id,email\nc-9,not-an-address\n,\n,x@example.com,extra\n"
    refused = client.post(
        "/api/v1/contacts/import", files={"file": ("c.csv", bad, "text/csv")}, headers=key
    )
    assert refused.status_code == 422
    locs = [p["loc"] for p in refused.json()["detail"]]
    assert locs == [["body", "file", "line", 2, "email"], ["body", "file", "line", 4, "*"]]


def test_contacts_from_csv_skipping_invalid_rows(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    mixed = "external_id,email\nc-7,seven@example.com\nc-9,not-an-address\n"
    answer = client.post(
        "/api/v1/contacts/import?skip_invalid=true",
        files={"file": ("c.csv", mixed, "text/csv")},
        headers=key,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 1
    assert answer.json()["invalid"] == 1
    assert [(p["line"], p["column"]) for p in answer.json()["problems"]] == [(3, "email")]


def test_contact_files_up_to_10_mb_arrive_and_bigger_ones_get_a_json_413(
    client: TestClient, world: World
) -> None:
    # Before: the API's 1 MB body limit answered first, in plain text, while the docs promise
    # 10 MB. Blank lines make the file big and the import quick.
    key = bearer(world.a.write_key)
    big = "external_id,email\nc-big,big@example.com\n" + "\n" * 2_500_000
    answer = client.post(
        "/api/v1/contacts/import", files={"file": ("c.csv", big, "text/csv")}, headers=key
    )
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["created"] == 1
    over = "external_id,email\n" + "\n" * 10_500_000
    refused = client.post(
        "/api/v1/contacts/import", files={"file": ("c.csv", over, "text/csv")}, headers=key
    )
    assert refused.status_code == 413
    assert refused.json()["detail"] == [
        {
            "loc": ["body", "file"],
            "msg": "is larger than 10 MB: split it into smaller files",
            "type": "value_error",
        }
    ]


def test_contact_files_follow_the_encoding_rule_of_imports(
    client: TestClient, world: World
) -> None:
    key = bearer(world.a.write_key)
    data = "external_id,name\nc-1,Åsa\nc-2,Ковалёв\n".encode() + b"c-3,\xff\n"
    refused = client.post(
        "/api/v1/contacts/import", files={"file": ("c.csv", data, "text/csv")}, headers=key
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "file"]
    assert refused.json()["detail"][0]["msg"].startswith(
        "line 4: byte 0xFF is not valid UTF-8; save the file as UTF-8 or name its encoding"
    )
    unknown = client.post(
        "/api/v1/contacts/import",
        files={"file": ("c.csv", data, "text/csv")},
        data={"encoding": "klingon"},
        headers=key,
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "encoding"]
    named = client.post(
        "/api/v1/contacts/import",
        files={"file": ("c.csv", "external_id,name\nc-4,Ærø\n".encode("cp1252"), "text/csv")},
        data={"encoding": "windows-1252"},
        headers=key,
    )
    assert named.status_code == 200, named.text
    controls = client.post(
        "/api/v1/contacts/import",
        files={"file": ("c.csv", "external_id,name\nc-5,Bo\x07b\n", "text/csv")},
        headers=key,
    )
    assert controls.status_code == 422
    assert controls.json()["detail"][0]["loc"] == ["body", "file", "line", 2, "name"]


def test_a_contacts_phone_follows_the_one_rule_of_phone_numbers(
    client: TestClient, world: World
) -> None:
    # The pages and the API share collect.contact_edits: E.164, stored normalised.
    headers = bearer(world.a.write_key)
    created = client.post(
        URL, json={"email": "p@example.com", "phone": "+46 70 123 45 67"}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "+46701234567"
    refused = client.post(
        URL, json={"email": "q@example.com", "phone": "0701234567"}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "phone"]
    cleared = client.patch(f"{URL}/{created.json()['id']}", json={"phone": None}, headers=headers)
    assert cleared.json()["phone"] is None
    csv_text = "external_id,phone\nph-1,+46701234567\nph-2,12\n"
    answer = client.post(
        "/api/v1/contacts/import", files={"file": ("c.csv", csv_text, "text/csv")}, headers=headers
    )
    assert answer.status_code == 422
    assert [p["loc"] for p in answer.json()["detail"]] == [["body", "file", "line", 3, "phone"]]
