"""Query-string filters shared by listing, metrics and exports: the API's parameters read into
the store's one filter type, ``store.filters.ResponseFilters``.

Fixed filters are ordinary query parameters. Segment filters have open names, so they are
read from the raw query string: ``property.<name>=value`` matches a response property and
``contact.<attr>=value`` an attribute of the response's contact. Repeating a name keeps the
last value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request

from cxpulse.report.filters_url import CONTACT_PREFIX, MAX_SEGMENT_FILTERS, PROPERTY_PREFIX
from cxpulse.store import _values as values
from cxpulse.store.filters import ResponseFilters
from cxpulse.web.errors import FieldErrors, field_error
from cxpulse.web.schemas import MAX_ID, Source, clean_text

_Day = TypeVar("_Day", date, datetime)

INSTANT_HELP = (
    "A date (2024-05-01, meaning its start, UTC) or a date and time with a zone "
    "(2024-05-01T08:00:00+02:00; write + as %2B)."
)


def parse_instant(name: str, text: str | None) -> date | datetime | None:
    if text is None or text == "":
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            return _in_range(name, date.fromisoformat(value))
        # An unescaped + arrives as a space: 2024-05-01T08:00:00 02:00.
        if " " in value[10:] and "+" not in value:
            head, _, tail = value.rpartition(" ")
            value = f"{head}+{tail}"
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldErrors.one(
            ["query", name], f"is not a date or date-time: {INSTANT_HELP}"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FieldErrors.one(["query", name], "needs a time zone, such as Z or +02:00")
    try:
        return _in_range(name, moment.astimezone(UTC))
    except OverflowError:
        raise FieldErrors.one(["query", name], "is out of range") from None


def _in_range(name: str, day: _Day) -> _Day:
    """The dates a question may name, as on the dashboard (``store._values.day_problem``)."""
    problem = values.day_problem(day)
    if problem is not None:
        raise FieldErrors.one(["query", name], problem)
    return day


def _checked(loc: list[str | int], value: str, max_length: int = 1000) -> str:
    try:
        clean_text(value)
    except ValueError as error:
        raise FieldErrors.one(loc, str(error)) from None
    if len(value) > max_length:
        raise FieldErrors.one(loc, f"is longer than {max_length} characters")
    return value


def segment_filters(request: Request) -> ResponseFilters:
    """The segment filters of the query string (``properties`` and ``contact_attributes``
    set, nothing else)."""
    properties: dict[str, str] = {}
    contact: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith(PROPERTY_PREFIX):
            target, name = properties, key.removeprefix(PROPERTY_PREFIX)
        elif key.startswith(CONTACT_PREFIX):
            target, name = contact, key.removeprefix(CONTACT_PREFIX)
        else:
            continue
        problem = values.name_problem(name)
        if problem is not None:
            # The name of a property or attribute, by the rule every door applies.
            raise FieldErrors.one(["query", key], f"the name {problem}")
        target[name] = _checked(["query", key], value)
    if len(properties) + len(contact) > MAX_SEGMENT_FILTERS:
        raise FieldErrors.one(["query"], f"at most {MAX_SEGMENT_FILTERS} segment filters")
    return ResponseFilters(properties=properties, contact_attributes=contact)


Start = Annotated[str | None, Query(description="Earliest submission, inclusive. " + INSTANT_HELP)]
End = Annotated[str | None, Query(description="Latest submission, exclusive. " + INSTANT_HELP)]
Channel = Annotated[str | None, Query(max_length=50, description="Only this channel.")]
Touchpoint = Annotated[str | None, Query(max_length=100, description="Only this touchpoint.")]
LanguageFilter = Annotated[str | None, Query(max_length=35, description="Only this language.")]
Segments = Annotated[ResponseFilters, Depends(segment_filters)]


def score_filters(
    segments: ResponseFilters,
    start: str | None,
    end: str | None,
    channel: str | None,
    touchpoint: str | None,
    language: str | None,
    source: str | None,
) -> ResponseFilters:
    """``segments`` with the filters that scores take (listings and exports take more): the
    period, channel, touchpoint, language and source. FieldErrors names each text that cannot
    be stored and each bound that is not a date or date-time."""
    errors = []
    for name, value in (("channel", channel), ("touchpoint", touchpoint), ("language", language)):
        if value is not None:
            try:
                clean_text(value)
            except ValueError as error:
                errors.append(field_error(["query", name], str(error)))
    if errors:
        raise FieldErrors(errors)
    return replace(
        segments,
        start=parse_instant("start", start),
        end=parse_instant("end", end),
        channel=channel,
        touchpoint=touchpoint,
        language=language,
        source=source,
    )


def scoring_filters(
    segments: Segments,
    start: Start = None,
    end: End = None,
    channel: Channel = None,
    touchpoint: Touchpoint = None,
    language: LanguageFilter = None,
    source: Annotated[Source | None, Query(description="Only this source.")] = None,
) -> ResponseFilters:
    """The filters of scores, as query parameters (see ``score_filters``)."""
    return score_filters(segments, start, end, channel, touchpoint, language, source)


ScoreFilters = Annotated[ResponseFilters, Depends(scoring_filters)]
"""The filters that scores take: declared once for the metrics API and the listings."""


@dataclass(frozen=True)
class ListingFilters:
    """What listings and exports narrow by beyond the filters of scores."""

    min_score: float | None
    max_score: float | None
    contact_id: int | None
    has_comment: bool | None


def listing_filters(
    min_score: Annotated[
        float | None, Query(allow_inf_nan=False, description="Lowest score, inclusive.")
    ] = None,
    max_score: Annotated[
        float | None, Query(allow_inf_nan=False, description="Highest score, inclusive.")
    ] = None,
    contact_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this contact's responses.")
    ] = None,
    has_comment: Annotated[
        bool | None, Query(description="Only responses with (true) or without (false) a comment.")
    ] = None,
) -> ListingFilters:
    return ListingFilters(min_score, max_score, contact_id, has_comment)


def response_filters(
    scoring: ScoreFilters,
    listing: Annotated[ListingFilters, Depends(listing_filters)],
) -> ResponseFilters:
    """The filters of listings and exports. Segment filters are documented, not declared.
    Two dependencies, not parameters of this one: FastAPI lists a dependency's own
    parameters before those of its dependencies, and the scores' filters come first."""
    return replace(
        scoring,
        contact_id=listing.contact_id,
        min_score=listing.min_score,
        max_score=listing.max_score,
        has_comment=listing.has_comment,
    )


Filters = Annotated[ResponseFilters, Depends(response_filters)]

SEGMENT_FILTER_HELP = (
    "Segment filters: add `property.<name>=<value>` to match a response property "
    "(such as `property.team=billing`) and `contact.<attribute>=<value>` to match an "
    "attribute of the response's contact (such as `contact.plan=pro`). Values match in any "
    "case (`team=Billing` finds `billing`)."
)
