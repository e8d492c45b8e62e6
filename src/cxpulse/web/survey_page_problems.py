"""What goes wrong on a respondent's survey page, as friendly pages: ``PageProblem`` and the
problems more than one step of the page raises.

Titles and messages are English msgids of the ``pages`` translation domain; the page that
shows a problem translates them (and fills ``params`` in) in the respondent's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cxpulse.store.models import MAX_COMMENT_LENGTH

NOT_STORED = "Your answer could not be stored"
NOT_SENT = "This form could not be sent"


@dataclass
class PageProblem(Exception):
    """A status and a message for the respondent, shown instead of the survey page."""

    status: int
    title: str
    message: str
    params: Mapping[str, int | str] | None = None
    retry_after: str | None = None


def not_found() -> PageProblem:
    return PageProblem(
        404, "Survey not found", "This link does not lead to a survey. Please check the address."
    )


def closed() -> PageProblem:
    return PageProblem(410, "This survey has closed", "Thank you for your interest.")


def not_open() -> PageProblem:
    return PageProblem(404, "This survey is not open yet", "Please try again later.")


def damaged_link() -> PageProblem:
    return PageProblem(
        400,
        "This link does not work",
        "The link is incomplete or was changed. Please use the link from your email as it is.",
    )


def expired_link() -> PageProblem:
    return PageProblem(410, "This link has expired", "The time to answer this survey is over.")


def withdrawn() -> PageProblem:
    return PageProblem(410, "This survey was withdrawn", "There is nothing to answer here.")


def too_long() -> PageProblem:
    return PageProblem(
        400,
        NOT_STORED,
        "Your comment is too long; at most %(limit)d characters fit.",
        {"limit": MAX_COMMENT_LENGTH},
    )


def not_a_form() -> PageProblem:
    return PageProblem(400, NOT_STORED, "Please send the form from the survey page.")
