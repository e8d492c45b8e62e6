"""Reading a JSON body by hand (the widget's answers), with the API's limits and words.

FastAPI reads the API's bodies; routes that read their own (``routes/widget.py``) use
``read_json`` so that the same body gets the same answer at both doors:

- size: the route's ``max_body_size`` (``schemas.MAX_BODY_BYTES``) answers 413 before the
  body is read;
- not UTF-8, not JSON: 422 at ``["body"]``, "the body is not JSON text in UTF-8";
- nested deeper than ``store._values.MAX_JSON_DEPTH``: 422 at ``["body"]``, in the words of
  ``schemas.Body``. Python's parser itself gives up near 1,000 levels with a RecursionError;
  that is the same problem, so it gets the same answer rather than a 500.
"""

from __future__ import annotations

import json

from cxpulse.store import _values as values

NOT_JSON = "the body is not JSON text in UTF-8"


class BodyProblem(ValueError):
    """A body that cannot be read: ``message`` for the user, ``kind`` the error type."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def too_deep() -> BodyProblem:
    problem = f"nests more than {values.MAX_JSON_DEPTH} levels of arrays and objects"
    return BodyProblem(f"the body {problem}", "json_depth")


def read_json(body: bytes) -> object:
    """The document ``body`` holds; raises ``BodyProblem``."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise too_deep() from None
    except (UnicodeDecodeError, ValueError):
        raise BodyProblem(NOT_JSON, "json_invalid") from None
    if values.json_depth_problem(document) is not None:
        raise too_deep()
    return document
