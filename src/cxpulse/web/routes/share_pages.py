"""A survey's sharing page, plain HTML that works without JavaScript:

- ``/app/surveys/{id}/share``: the public link and its QR code; the widget's script tag
  with the sites allowed to show it (changed in the survey's builder); an email snippet with
  one link per score, to paste into one's own mail tool, shown as code and as a preview; the
  same for a helpdesk's "ticket solved" template (Zendesk's placeholders, and generic
  ``{ticket}`` ones), whose links go to the unsigned door (``unsigned_answers``);
- ``/app/surveys/{id}/qr.svg``: the QR code of the public link, an SVG image.

Every text to copy is in a read-only ``<textarea>`` a person can select; ``/static/copy.js``
adds a copy button to each. Reading needs ``surveys:read``. The texts come from
``collect.share_snippets``; links start with ``CXPULSE_PUBLIC_URL``.
"""

from __future__ import annotations

import qrcode  # type: ignore[import-untyped]
import qrcode.image.svg  # type: ignore[import-untyped]
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from cxpulse.collect import share_snippets
from cxpulse.store import accounts
from cxpulse.store.models import Survey
from cxpulse.store.survey_options import OptionError, parse_options
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import SurveyId
from cxpulse.web.routes.dashboard import PageCaller, render
from cxpulse.web.routes.page_access import permitted_survey_page
from cxpulse.web.state import app_state

router = APIRouter(include_in_schema=False)

STATUS_NOTES = {
    "draft": "This survey is a draft: its links answer “not open yet” until it is made active.",
    "closed": "This survey is closed: its links say so and store nothing.",
    "archived": "This survey is archived: its links store nothing.",
}


def qr_svg(text: str) -> bytes:
    """``text`` as a QR code: an SVG drawing with a white background and a quiet zone,
    sized by its view box so that it scales to any width."""
    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
    )
    drawn: bytes = image.to_string(encoding="utf-8")
    return drawn


def _base_url(request: Request) -> str:
    return str(app_state(request).settings.public_url).rstrip("/")


@router.get("/app/surveys/{survey_id}/share", response_class=HTMLResponse)
def share_page(
    survey_id: SurveyId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return permitted_survey_page(
        request, session, caller, survey_id, Permission.SURVEYS_READ, _share_page
    )


def _share_page(
    request: Request, session: Session, caller: Principal, survey: Survey
) -> HTMLResponse:
    organisation = accounts.get_organisation(session, caller.organisation_id)
    base = _base_url(request)
    try:
        origins = list(parse_options(survey.collect_options).allowed_origins)
    except OptionError:
        origins = []  # an old bad option must not break the page; the builder shows it
    made = share_snippets.snippets(survey, organisation.name, organisation.slug, base)
    context = {
        "survey": survey,
        "status_note": STATUS_NOTES.get(survey.status),
        "public_link": share_snippets.public_link(base, organisation.slug, survey.slug),
        "unsigned_link": share_snippets.unsigned_link(base, organisation.slug, survey.slug),
        "widget": share_snippets.widget_snippet(base, organisation.slug, survey.slug),
        "origins": origins,
        "can_edit": Permission.SURVEYS_WRITE in caller.permissions,
        "email": made["email"],
        "helpdesks": [(helpdesk, made[helpdesk.key]) for helpdesk in share_snippets.HELPDESKS],
        "low": survey.scale_low,
        "high": survey.scale_high,
    }
    return render(request, "app/share/share.html", context)


@router.get("/app/surveys/{survey_id}/qr.svg")
def share_qr(
    survey_id: SurveyId, request: Request, caller: PageCaller, session: DbSession
) -> Response:
    return permitted_survey_page(
        request, session, caller, survey_id, Permission.SURVEYS_READ, _qr_image
    )


def _qr_image(request: Request, session: Session, caller: Principal, survey: Survey) -> Response:
    organisation = accounts.get_organisation(session, caller.organisation_id)
    link = share_snippets.public_link(_base_url(request), organisation.slug, survey.slug)
    return Response(qr_svg(link), media_type="image/svg+xml")
