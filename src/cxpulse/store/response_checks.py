"""Checking responses before they are stored: a new response's values against its survey's
scale and limits, the surveys and contacts of a batch, and the batch's idempotency keys.

Every door that stores a comment passes here (``checked_row``) or through
``stored_comment`` (a changed comment, the bulk import path), so an organisation that
redacts at storage (``Organisation.redact_comments``) never has the raw text written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.metrics import Scale
from cxpulse.redaction import redact
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import MAX_COMMENT_LENGTH, SOURCES, Contact, Organisation, Survey
from cxpulse.store.types import utc_now

MAX_IDEMPOTENCY_KEY_LENGTH = 200
KEYED_ATTEMPTS = 3
"""Rounds of "insert if new, else read the stored one" for idempotency keys: the stored one
can be deleted between the two statements, and then the key is free again."""


@dataclass(frozen=True)
class NewResponse:
    """A response to store. ``submitted_at`` defaults to now; ``touchpoint`` to the survey's."""

    survey_id: int
    score: float
    submitted_at: datetime | None = None
    comment: str | None = None
    language: str | None = None
    channel: str | None = None
    touchpoint: str | None = None
    properties: Mapping[str, object] | None = None
    contact_id: int | None = None
    source: str = "api"
    invitation_id: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Target:
    """What checking a response needs of its survey, read once per batch rather than through
    ORM attributes once per row."""

    organisation_id: int
    survey_id: int
    slug: str
    scale: Scale
    touchpoint: str | None
    redact_comments: bool = False
    """The organisation stores comments redacted (``stored_comment``)."""

    @classmethod
    def of(cls, survey: Survey, *, redact_comments: bool = False) -> Target:
        return cls(
            survey.organisation_id,
            survey.id,
            survey.slug,
            survey.scale,
            survey.touchpoint,
            redact_comments,
        )


def redacts_comments(session: Session, organisation_id: int) -> bool:
    """Whether the organisation stores comments redacted: a primary-key read, answered from
    the session's identity map when the organisation is loaded already."""
    organisation = session.get(Organisation, organisation_id)
    return bool(organisation is not None and organisation.redact_comments)


def stored_comment(comment: str) -> str:
    """A checked comment as an organisation that redacts at storage keeps it: personal data
    replaced (``cxpulse.redaction``). A placeholder can be longer than what it replaces
    (``[personal id]`` for a ten-digit number), so the text is cut to the store's limit: the
    length was checked on what the respondent wrote, the only text they can shorten."""
    return redact(comment).text[:MAX_COMMENT_LENGTH]


def _score(target: Target, score: object, index: int | None) -> float:
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise Invalid("score", f"must be a number, not {type(score).__name__}", index=index)
    scale = target.scale
    # Bounds first: math.isfinite and formatting overflow on integers beyond a float (10**400).
    in_bounds = scale.low <= score <= scale.high
    if not in_bounds or not math.isfinite(score) or not scale.contains(score):
        shown = f"{score:g}" if isinstance(score, float) or abs(score) < 10**15 else "it"
        raise Invalid(
            "score",
            f"{shown} is not on the {scale.name} scale of survey {target.slug!r} "
            f"(whole numbers {scale.low} to {scale.high})",
            index=index,
        )
    return float(score)


def check_score(survey: Survey, score: object, *, index: int | None = None) -> float:
    """The score as stored, or Invalid when it is not an answer on the survey's scale."""
    return _score(Target.of(survey), score, index)


def checked_row(
    target: Target, item: NewResponse, index: int | None, now: datetime
) -> dict[str, Any]:
    """The column values of ``item``, checked; raises Invalid naming the field. Every door
    that stores a response (API, survey pages, widget, imports, command line) comes here, so
    each applies the same rules of ``store._values``: answer times, text, names; and the
    comment is stored redacted when the target's organisation asks (``stored_comment``)."""
    source = item.source
    if source not in SOURCES:
        raise Invalid("source", f"must be one of {', '.join(SOURCES)}", index=index)
    # The one range of answer times (1970 to now plus a day): a date far ahead would move
    # every dashboard's default window to an empty year, or past the calendar's end.
    submitted_at = (
        now
        if item.submitted_at is None
        else values.answer_time("submitted_at", item.submitted_at, now=now, index=index)
    )
    comment = values.text("comment", item.comment, MAX_COMMENT_LENGTH, index=index)
    if comment is not None and target.redact_comments:
        comment = stored_comment(comment)
    touchpoint = values.text("touchpoint", item.touchpoint, 100, index=index)
    return {
        "organisation_id": target.organisation_id,
        "survey_id": target.survey_id,
        "contact_id": item.contact_id,
        "score": _score(target, item.score, index),
        "comment": comment,
        "language": values.text("language", item.language, 35, index=index),
        "channel": values.text("channel", item.channel, 50, index=index),
        "touchpoint": touchpoint if touchpoint is not None else target.touchpoint,
        "properties": values.text_mapping("properties", item.properties, index=index),
        "submitted_at": submitted_at,
        "received_at": now,
        "source": source,
        "invitation_id": item.invitation_id,
        "idempotency_key": values.text(
            "idempotency_key", item.idempotency_key, MAX_IDEMPOTENCY_KEY_LENGTH, index=index
        ),
    }


def owned_surveys(session: Session, organisation_id: int, ids: set[int]) -> dict[int, Survey]:
    if len(ids) == 1:
        # The common case (one survey); session.get may answer from the identity map.
        (survey_id,) = ids
        survey = session.get(Survey, survey_id)
        if survey is None or survey.organisation_id != organisation_id:
            raise NotFound("survey", survey_id)
        return {survey_id: survey}
    found = {
        survey.id: survey
        for survey in session.scalars(
            select(Survey).where(Survey.organisation_id == organisation_id, Survey.id.in_(ids))
        )
    }
    missing = ids - set(found)
    if missing:
        raise NotFound("survey", min(missing))
    return found


def check_contacts(session: Session, organisation_id: int, ids: set[int]) -> None:
    if not ids:
        return
    found = set(
        session.scalars(
            select(Contact.id).where(
                Contact.organisation_id == organisation_id, Contact.id.in_(ids)
            )
        )
    )
    missing = ids - found
    if missing:
        raise NotFound("contact", min(missing))


def check_new_response(survey: Survey, item: NewResponse, *, index: int | None = None) -> None:
    """Raise Invalid (naming the field) if ``item`` cannot be stored in ``survey``: lets an
    import sort good rows from bad ones before storing the good ones."""
    checked_row(Target.of(survey), item, index, utc_now())


def checked_rows(
    session: Session, organisation_id: int, items: Sequence[NewResponse]
) -> list[dict[str, Any]]:
    surveys = owned_surveys(session, organisation_id, {item.survey_id for item in items})
    check_contacts(
        session, organisation_id, {i.contact_id for i in items if i.contact_id is not None}
    )
    # One read per batch, and none when no item carries a comment.
    redacting = any(item.comment for item in items) and redacts_comments(session, organisation_id)
    targets = {
        survey_id: Target.of(survey, redact_comments=redacting)
        for survey_id, survey in surveys.items()
    }
    now = utc_now()
    # Positions in errors only help when there is more than one item to tell apart.
    return [
        checked_row(targets[item.survey_id], item, n if len(items) > 1 else None, now)
        for n, item in enumerate(items)
    ]


@dataclass
class KeySplit:
    keyless: list[int] = field(default_factory=list)
    keyed: list[int] = field(default_factory=list)
    """First occurrence of each (survey, key), in key order: two PostgreSQL transactions
    inserting overlapping keys then wait on each other in one direction only, instead of
    deadlocking."""
    first_with_key: dict[tuple[int, str], int] = field(default_factory=dict)
    repeats: dict[int, int] = field(default_factory=dict)
    """Position of an item -> position of the earlier item with the same key."""


def split_by_key(rows: list[dict[str, Any]]) -> KeySplit:
    split = KeySplit()
    for n, row in enumerate(rows):
        key = row["idempotency_key"]
        if key is None:
            split.keyless.append(n)
        elif (row["survey_id"], key) in split.first_with_key:
            split.repeats[n] = split.first_with_key[(row["survey_id"], key)]
        else:
            split.first_with_key[(row["survey_id"], key)] = n
            split.keyed.append(n)
    split.keyed.sort(key=lambda n: (rows[n]["survey_id"], rows[n]["idempotency_key"]))
    return split
