"""Reading the invitation emails that route tests receive: their parts and their links."""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy.orm import Session

from cxpulse.store.models import Survey

PUBLIC_URL = "https://cx.example"


class Links(HTMLParser):
    """The link targets and image sources of an HTML body."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.hrefs.append(str(found["href"]))
        if tag == "img" and found.get("src"):
            self.images.append(str(found["src"]))


def email_parts(message: object) -> tuple[str, str]:
    """The plain-text and HTML bodies of a multipart/alternative email."""
    from email.message import EmailMessage

    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    return str(plain.get_content()), str(html.get_content())


def survey_row(session: Session, survey_id: int) -> Survey:
    found = session.get(Survey, survey_id)
    assert found is not None
    return found


def invitations_url(survey_id: int) -> str:
    return f"/api/v1/surveys/{survey_id}/invitations"
