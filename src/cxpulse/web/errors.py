"""Every error answer has one of two shapes, and no answer carries a traceback.

- ``{"detail": "message"}`` for 401, 403, 404, 405, 429, 500 and 503;
- ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`` for 409 and 422, naming the
  field at fault: ``loc`` starts with ``body``, ``query``, ``path`` or ``header`` and, in a
  batch, continues with ``items`` and the position of the item.

A database error is a 503 with ``Retry-After`` only when the database is busy or unavailable
(``store.db_errors``: locked, read-only, unreachable, out of room); any other is a fault,
logged with its traceback and answered as a plain 500.

The one exception is 413 for a body over the size limit, which Starlette answers in plain
text before the app sees the request.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from cxpulse.store.db_errors import Trouble, trouble
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.web import json_bodies

logger = logging.getLogger("cxpulse.web")

Loc = Sequence[str | int]


def field_error(loc: Loc, msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": kind}


class FieldErrors(Exception):
    """A 4xx answer listing what is wrong with which fields."""

    def __init__(self, errors: Sequence[dict[str, Any]], status_code: int = 422) -> None:
        super().__init__(f"{len(errors)} invalid fields")
        self.errors = list(errors)
        self.status_code = status_code

    @classmethod
    def one(
        cls, loc: Loc, msg: str, kind: str = "value_error", status_code: int = 422
    ) -> FieldErrors:
        return cls([field_error(loc, msg, kind)], status_code)


def invalid_loc(error: Invalid, prefix: Loc = ("body",)) -> list[str | int]:
    loc: list[str | int] = list(prefix)
    if error.index is not None:
        loc += ["items", error.index]
    loc += [part for part in error.field.split(".") if part]
    return loc


def invalid_errors(error: Invalid, prefix: Loc = ("body",)) -> FieldErrors:
    return FieldErrors.one(invalid_loc(error, prefix), error.message)


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Only loc, msg and type: pydantic's "input" would echo what was sent, passwords included.
    return [
        field_error(
            [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            str(error.get("msg", "invalid value")),
            str(error.get("type", "value_error")),
        )
        for error in errors
    ]


async def _on_request_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": _validation_errors(error.errors())}, status_code=422)


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and isinstance(error.__cause__, RecursionError):
        # Deeper than Python's parser can go: the same answer as the depth rule of every door.
        too_deep = json_bodies.too_deep()
        detail = [field_error(["body"], too_deep.message, too_deep.kind)]
        return JSONResponse({"detail": detail}, status_code=422)
    if error.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8, say): the same shape and
        # status as malformed JSON, for one rule: bad input is a 422 naming the field.
        detail = [field_error(["body"], "the body is not JSON text in UTF-8", "json_invalid")]
        return JSONResponse({"detail": detail}, status_code=422)
    return await http_exception_handler(request, error)


async def _on_field_errors(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, FieldErrors)
    return JSONResponse({"detail": error.errors}, status_code=error.status_code)


async def _on_not_found(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, NotFound)
    # The same words whether the row is missing or belongs to another organisation.
    return JSONResponse({"detail": f"{error.entity} not found"}, status_code=404)


async def _on_invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Invalid)
    return JSONResponse({"detail": invalid_errors(error).errors}, status_code=422)


async def _on_conflict(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Conflict)
    detail = [field_error(["body", error.field], error.message, "conflict")]
    return JSONResponse({"detail": detail}, status_code=409)


async def _on_integrity(request: Request, error: Exception) -> JSONResponse:
    logger.info("integrity error on %s %s: %s", request.method, request.url.path, error)
    detail = [field_error(["body"], "conflicts with data stored meanwhile; retry", "conflict")]
    return JSONResponse({"detail": detail}, status_code=409)


async def _on_data_error(request: Request, error: Exception) -> JSONResponse:
    # The API's own limits should stop such values first; this is the safety net.
    logger.warning("data error on %s %s: %s", request.method, request.url.path, error)
    detail = [field_error(["body"], "a value is out of the range the database can store")]
    return JSONResponse({"detail": detail}, status_code=422)


_TROUBLE_ANSWERS: dict[Trouble, tuple[str, str]] = {
    "busy": ("the database is busy; retry shortly", "1"),
    "unavailable": ("the database is unavailable; retry later", "5"),
}
"""What a 503 says, and its Retry-After in seconds, for each ``store.db_errors.Trouble``."""


def _unavailable(kind: Trouble) -> JSONResponse:
    message, retry_after = _TROUBLE_ANSWERS[kind]
    return JSONResponse({"detail": message}, status_code=503, headers={"Retry-After": retry_after})


async def _on_database_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DBAPIError)
    kind = trouble(error)
    if kind is None:
        # A statement the database refuses fails the same way on every retry: a 503 would
        # send clients into a loop and hide the fault. Logged with its traceback, answered
        # without it.
        logger.error("database error on %s %s", request.method, request.url.path, exc_info=error)
        return JSONResponse({"detail": "internal server error"}, status_code=500)
    logger.warning("database %s on %s %s: %s", kind, request.method, request.url.path, error)
    return _unavailable(kind)


async def _on_pool_timeout(request: Request, error: Exception) -> JSONResponse:
    # Every pooled connection stayed in use past the pool's timeout: the database is busy.
    logger.warning("no free database connection on %s %s", request.method, request.url.path)
    return _unavailable("busy")


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


async def answer_error(request: Request, error: Exception) -> Response | None:
    """The app's answer to ``error`` as its exception handlers give it, found as Starlette's
    exception middleware finds them (an ``HTTPException``'s status code first, then the most
    specific class, the catch-all included), for code that runs outside that middleware
    (``routes.responses.SubmissionDoor``); None when no handler takes it."""
    handlers = request.app.exception_handlers
    handler = None
    if isinstance(error, StarletteHTTPException):
        handler = handlers.get(error.status_code)
    for kind in type(error).__mro__:
        if handler is not None:
            break
        handler = handlers.get(kind)
    if handler is None:
        return None
    if inspect.iscoroutinefunction(handler):
        answer: Response = await handler(request, error)
    else:
        answer = await run_in_threadpool(handler, request, error)
    return answer


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(FieldErrors, _on_field_errors)
    app.add_exception_handler(NotFound, _on_not_found)
    app.add_exception_handler(Invalid, _on_invalid)
    app.add_exception_handler(Conflict, _on_conflict)
    app.add_exception_handler(IntegrityError, _on_integrity)
    app.add_exception_handler(DataError, _on_data_error)
    # IntegrityError and DataError are DBAPIErrors too: the most specific handler wins.
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(PoolTimeout, _on_pool_timeout)
    app.add_exception_handler(Exception, _on_unexpected)
