"""A refused form as the page it came from shows it again: the message of each field at
fault, the values as posted and the status of the answer.

The account pages (API keys, team, webhooks) take these three together as one ``Refusal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData

from cxpulse.store.errors import Conflict, Invalid

__all__ = ["NO_REFUSAL", "Refusal", "refused"]


@dataclass(frozen=True)
class Refusal:
    """What a page shows of a form it refused."""

    errors: dict[str, str] = field(default_factory=dict)
    """The message of each field at fault, by the field's name on the page."""
    form: FormData | None = None
    """The values as posted, kept in the fields; None: the page's own values."""
    status_code: int = 200


NO_REFUSAL = Refusal()
"""The page as it is: nothing refused, status 200."""


def refused(
    error: Invalid | Conflict, form: FormData | None = None, *, name: str | None = None
) -> Refusal:
    """``error`` refusing a form: its message by ``name`` (the field it names by default),
    409 for a value that is taken and 422 for any other."""
    status = 409 if isinstance(error, Conflict) else 422
    return Refusal({name or error.field: error.message}, form, status)
