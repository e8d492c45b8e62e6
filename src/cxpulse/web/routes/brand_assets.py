"""An organisation's branding as public files, for survey pages, the widget and emails:

- ``/brand/{organisation_slug}/logo``: the logo, with the type its bytes are (never what an
  upload claimed), ``nosniff``, and a long cache when asked for with its current version
  (``?v=``, a hash of the bytes, which the URLs cxpulse writes carry);
- ``/brand/{organisation_slug}/brand.css``: the accent colour as the pages' ``--accent``
  custom property, and the logo's place on a survey page. A style sheet, since the pages'
  Content-Security-Policy allows no inline style.

Both are public (a logo and a colour are no secret) and may be loaded from other origins
(webmail shows the logo from its own). Their router is included by ``settings_pages``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from cxpulse.store import organisation_settings
from cxpulse.store.errors import Invalid
from cxpulse.store.organisation_checks import accent_colour, darker
from cxpulse.web.deps import DbSession
from cxpulse.web.security_headers import NO_CONTENT_CSP

router = APIRouter(include_in_schema=False)

Slug = Annotated[str, Path(min_length=1, max_length=64)]
VERSIONED_CACHE = "public, max-age=31536000, immutable"
"""A URL with the logo's current version never shows another logo: keep it a year."""
UNVERSIONED_CACHE = "public, max-age=3600"
CSS_CACHE = "public, max-age=300"
"""Five minutes: a new colour reaches survey pages soon after it is saved."""
_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": NO_CONTENT_CSP,
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
LOGO_CSS = (
    ".brand-logo { margin: 0 0 1rem; }\n"
    ".brand-logo img { display: block; width: auto; height: auto; max-width: min(100%, 15rem);"
    " max-height: 4rem; }\n"
)


def _missing() -> Response:
    return Response("no such logo", status_code=404, media_type="text/plain", headers=_COMMON)


@router.api_route("/brand/{organisation_slug}/logo", methods=["GET", "HEAD"])
def logo(organisation_slug: Slug, request: Request, session: DbSession) -> Response:
    found = organisation_settings.logo_of(session, organisation_slug)
    if found is None:
        return _missing()
    version = found.version
    etag = f'"{version}"'
    current = request.query_params.get("v") == version
    headers = {
        **_COMMON,
        "ETag": etag,
        "Cache-Control": VERSIONED_CACHE if current else UNVERSIONED_CACHE,
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(found.data, media_type=found.media_type, headers=headers)


def brand_css(colour: str | None) -> str:
    """The style sheet of an organisation with accent ``colour`` (None: cxpulse's own)."""
    rules = [LOGO_CSS]
    try:
        checked = accent_colour(colour)
    except Invalid:  # stored values are checked when written; never echo a bad one
        checked = None
    if checked:
        rules.insert(0, f":root {{ --accent: {checked}; }}\n")
        rules.append(f"button:hover, .button:hover {{ background: {darker(checked)}; }}\n")
    return "".join(rules)


@router.api_route("/brand/{organisation_slug}/brand.css", methods=["GET", "HEAD"])
def brand_style(organisation_slug: Slug, session: DbSession) -> Response:
    brand = organisation_settings.brand_of(session, organisation_slug)
    if brand is None:
        return Response(
            "/* no such organisation */\n",
            status_code=404,
            media_type="text/css",
            headers=_COMMON,
        )
    return Response(
        brand_css(brand.accent_colour),
        media_type="text/css",
        headers={**_COMMON, "Cache-Control": CSS_CACHE},
    )
