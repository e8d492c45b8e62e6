"""The doors an answer comes in by: the API (one response, a batch), the widget, the survey
form and an import file. Each takes the same answer (API field names) and says whether it was
stored, after checking that a refusal names the field that was wrong."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .site import SHOP, Loc, Site, Target, field_refusal, sound

Answer = Mapping[str, Any]
"""An answer as the API takes it: score, comment, language, channel, touchpoint,
properties, submitted_at."""

IMPORT_COLUMNS = {
    "score": "Rating",
    "submitted_at": "Date",
    "comment": "Comment",
    "language": "Language",
    "channel": "Channel",
    "touchpoint": "Touchpoint",
}
PROPERTY_COLUMN = "P"
_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def benign(**hostile: Any) -> dict[str, Any]:
    """An ordinary answer, with the fields of ``hostile`` replaced."""
    answer: dict[str, Any] = {
        "score": 4,
        "comment": "fine",
        "language": "en",
        "channel": "email",
        "touchpoint": "checkout",
        "properties": {"plan": "gold"},
        "submitted_at": (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat(),
    }
    answer.update(hostile)
    return answer


@dataclass(frozen=True)
class Outcome:
    door: str
    stored: bool


def _decide(door: str, response: Any, created: int, prefixes: list[Loc]) -> Outcome:
    sound(response, door)
    if response.status_code == created:
        return Outcome(door, True)
    field_refusal(response, door, *prefixes)
    return Outcome(door, False)


def api(site: Site, target: Target, answer: Answer, field: str) -> Outcome:
    sent = site.client.post(
        f"/api/v1/surveys/{target.id}/responses", json=dict(answer), headers=site.key
    )
    return _decide("API", sent, 201, [["body", field]])


def batch(site: Site, target: Target, answer: Answer, field: str) -> Outcome:
    sent = site.client.post(
        f"/api/v1/surveys/{target.id}/responses/batch",
        json={"items": [dict(answer)]},
        headers=site.key,
    )
    return _decide("API batch", sent, 201, [["body", "items", 0, field]])


def widget(site: Site, target: Target, answer: Answer, field: str) -> Outcome:
    body = {k: answer[k] for k in ("score", "comment", "properties") if k in answer}
    sent = site.client.post(
        f"/w/{site.org_slug}/{target.slug}/responses", json=body, headers={"Origin": SHOP}
    )
    return _decide("widget", sent, 201, [["body", field]])


def form(site: Site, target: Target, answer: Answer, field: str) -> Outcome:
    """The public survey page, as a browser without JavaScript sends it."""
    assert field == "comment", "the survey form takes a score and a comment"
    page = sound(site.client.get(f"/s/{site.org_slug}/{target.slug}"), "survey page")
    token = _FORM_TOKEN.search(page.text)
    assert token is not None, page.text[:500]
    sent = site.client.post(
        f"/s/{site.org_slug}/{target.slug}",
        data={
            "form_token": token.group(1),
            "score": str(answer["score"]),
            "comment": answer[field],
        },
    )
    sound(sent, "survey form")
    if sent.status_code == 200:
        return Outcome("survey form", True)
    assert 400 <= sent.status_code < 500, sent.status_code
    # The page says what is wrong, naming the field, in the respondent's words.
    assert "comment" in sent.text.lower(), f"survey form refusal names no field: {sent.text}"
    return Outcome("survey form", False)


def import_csv(answer: Answer) -> tuple[bytes, dict[str, str]]:
    """A one-row CSV file holding ``answer``, and the JSON map of its columns."""
    mapping = {field: column for field, column in IMPORT_COLUMNS.items() if field in answer}
    header = [IMPORT_COLUMNS[field] for field in mapping]
    row = [str(answer[field]) for field in mapping]
    for name, value in dict(answer.get("properties") or {}).items():
        mapping[f"property.{name}"] = PROPERTY_COLUMN
        header.append(PROPERTY_COLUMN)
        row.append(str(value))
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows([header, row])
    return buffer.getvalue().encode("utf-8"), mapping


def names_the_cell(detail: list[dict[str, Any]], field: str) -> bool:
    """Whether an import's refusal points at the field: the cell (line 2 of its column),
    or the whole file or map with a message naming the column or the property."""
    column = PROPERTY_COLUMN if field == "properties" else IMPORT_COLUMNS[field]
    for entry in detail:
        loc, message = list(entry["loc"]), str(entry["msg"])
        if loc == ["body", "file", 2, column]:
            return True
        if loc in (["body", "file"], ["body", "map"]) and (
            f"'{column}'" in message or "propert" in message
        ):
            return True
    return False


def upload(site: Site, target: Target, answer: Answer, field: str) -> Outcome:
    content, mapping = import_csv(answer)
    sent = site.client.post(
        f"/api/v1/surveys/{target.id}/imports",
        headers=site.key,
        data={"map": json.dumps(mapping)},
        files={"file": ("answers.csv", io.BytesIO(content), "text/csv")},
    )
    outcome = _decide("import upload", sent, 200, [["body", "file"], ["body", "map"]])
    if outcome.stored:
        # "Imported" must mean stored: a row dropped on the way is a lost answer.
        assert sent.json()["imported"] == 1, sent.json()
    else:
        assert names_the_cell(sent.json()["detail"], field), sent.json()["detail"]
    return outcome


Door = Callable[[Site, Target, Answer, str], Outcome]
ANSWER_DOORS: dict[str, Door] = {
    "api": api,
    "batch": batch,
    "widget": widget,
    "form": form,
    "import": upload,
}
