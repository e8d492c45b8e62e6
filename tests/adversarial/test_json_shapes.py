"""Bodies no JSON library would write: 100,000 levels deep, numbers past any float, NaN and
Infinity, bytes that are not UTF-8, lone surrogates. Sent as raw bytes to every JSON door
(one response, a batch, the widget) and to every field that takes JSON; each must be refused
with a 4xx naming the body or the field, or stored as a sane value, and never a 5xx
(issue 10, defect 9: the widget answered 500 on deep bodies where the API answered 422).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2 as httpx
import pytest

from .hostile import HUGE_NUMBERS, deep_json
from .site import SHOP, Site, Target, field_refusal, sound

DEEP = 100_000
DEEP_ARRAYS = deep_json(DEEP)
DEEP_OBJECTS = b'{"a":' * DEEP + b"1" + b"}" * DEEP


def _bodies() -> list[tuple[str, bytes, list[str]]]:
    """(what, body of one answer, the field a refusal must name)."""
    bodies: list[tuple[str, bytes, list[str]]] = [
        ("deep arrays", DEEP_ARRAYS, []),
        ("deep objects", DEEP_OBJECTS, []),
        ("deep property", b'{"score": 4, "properties": {"plan": ' + DEEP_ARRAYS + b"}}", []),
        ("deep comment", b'{"score": 4, "comment": ' + DEEP_OBJECTS + b"}", []),
        ("not UTF-8", b'{"score": 4, "comment": "caf\xe9 \xff"}', []),
        ("lone surrogate", b'{"score": 4, "comment": "a\\ud800b"}', ["comment"]),
        ("surrogate name", b'{"score": 4, "properties": {"\\udc00": "x"}}', ["properties"]),
        ("NUL escape", b'{"score": 4, "comment": "a\\u0000b"}', ["comment"]),
        ("byte order mark", b'\xef\xbb\xbf{"score": 4}', []),
        ("empty", b"", []),
        ("null", b"null", []),
        ("a list", b"[]", []),
        ("a string", b'"score"', []),
        ("duplicate keys", b'{"score": 4, "score": "x"}', ["score"]),
    ]
    for number in HUGE_NUMBERS:
        raw = number.encode()
        bodies += [
            (f"score {number[:12]}", b'{"score": ' + raw + b"}", ["score"]),
            (f"property {number[:12]}", b'{"score": 4, "properties": {"plan": ' + raw + b"}}", []),
        ]
    return bodies


def _readable(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


Send = Callable[[Site, int, str, bytes], httpx.Response]


def _api(site: Site, survey_id: int, slug: str, body: bytes) -> httpx.Response:
    return site.client.post(
        f"/api/v1/surveys/{survey_id}/responses",
        content=body,
        headers={**site.key, "Content-Type": "application/json"},
    )


def _batch(site: Site, survey_id: int, slug: str, body: bytes) -> httpx.Response:
    return site.client.post(
        f"/api/v1/surveys/{survey_id}/responses/batch",
        content=b'{"items": [' + body + b"]}",
        headers={**site.key, "Content-Type": "application/json"},
    )


def _widget(site: Site, survey_id: int, slug: str, body: bytes) -> httpx.Response:
    return site.client.post(
        f"/w/{site.org_slug}/{slug}/responses",
        content=body,
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )


DOORS: dict[str, tuple[Send, list[str | int]]] = {
    "API": (_api, ["body"]),
    "API batch": (_batch, ["body", "items", 0]),
    "widget": (_widget, ["body"]),
}
"""Each door, and where the fields of the answer are in its refusals."""


@pytest.mark.slow
def test_bodies_no_library_would_write(site: Site) -> None:
    with site.survey() as target:
        _send_all(site, target)


def _send_all(site: Site, target: Target) -> None:
    failures: list[str] = []
    for door, (send, root) in DOORS.items():
        for what, body, fields in _bodies():
            try:
                answer = sound(send(site, target.id, target.slug, body), f"{door}: {what}")
                if answer.status_code in (200, 201):
                    continue  # a number read as a plain one (1e-400 is 0.0): checked below
                assert answer.status_code in (400, 413, 422), answer.status_code
                if answer.status_code == 422:
                    # A body Python's own reader cannot read may be refused as a whole.
                    fields = fields if _readable(body) else []
                    named = [[*root, field] for field in fields] or [["body"]]
                    field_refusal(answer, f"{door}: {what}", *named)
            except Exception as error:
                failures.append(f"{door}, {what}: {type(error).__name__}: {str(error)[:300]}")
    assert not failures, "\n".join(failures)
    # What was stored holds sane values: finite scores on the scale, text properties.
    for item in site.stored(target):
        assert 1 <= item["score"] <= 5, item
        assert all(isinstance(v, str) for v in (item["properties"] or {}).values()), item
