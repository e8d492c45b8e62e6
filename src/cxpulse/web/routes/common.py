"""Pieces every route module uses: path parameters, error documentation, pages of listings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Path
from pydantic import BaseModel

from cxpulse.web.cursors import encode_id_cursor
from cxpulse.web.schemas import MAX_ID, MAX_SMALL_ID, FieldProblems, Problem

# Surveys, users and keys have 32-bit ids on PostgreSQL; responses and contacts 64-bit ones.
SurveyId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The survey's id.")]
ResponseId = Annotated[int, Path(ge=1, le=MAX_ID, description="The response's id.")]
ContactId = Annotated[int, Path(ge=1, le=MAX_ID, description="The contact's id.")]
KeyId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The API key's id.")]
UserId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The user's id.")]

_PROBLEMS: dict[int, tuple[type[Any], str]] = {
    401: (Problem, "No valid API key or session."),
    403: (Problem, "The caller's role or key scope does not allow this, or the CSRF check failed."),
    404: (Problem, "No such object in the caller's organisation."),
    409: (FieldProblems, "A unique value is taken."),
    422: (FieldProblems, "Invalid input; each entry names the field at fault."),
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error answers a route can give (401/403/422 always)."""
    wanted = sorted({401, 403, 422, *codes})
    return {
        code: {"model": _PROBLEMS[code][0], "description": _PROBLEMS[code][1]} for code in wanted
    }


PageT = TypeVar("PageT", bound=BaseModel)


def id_page(
    model: type[PageT], kind: str, items: Sequence[BaseModel], next_after: int | None
) -> PageT:
    """A page of a listing paged by id, as ``model`` (``items``, ``next_cursor``): the token
    of the page after ``next_after``, or None on the last page."""
    cursor = encode_id_cursor(kind, next_after) if next_after else None
    return model(items=items, next_cursor=cursor)
