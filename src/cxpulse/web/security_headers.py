"""The security headers of every answer, by family of route, set in one place.

``SecurityHeaders`` is a pure ASGI middleware (no ``BaseHTTPMiddleware``: it only adds a few
header pairs to ``http.response.start``, so the submission path pays a dictionary lookup, not
a task and a stream). It wraps the whole app, Starlette's error middleware included, so a 500
carries the headers too. A header the route set itself is kept: the monthly report keeps its
own policy (inline style, nothing else), as does the preview of an invitation email; the
unsubscribe page its own; the branding files ``/brand/`` (a logo, a style sheet) their public
caching and ``Cross-Origin-Resource-Policy: cross-origin``, since webmail shows the logo.

Families, by path (``family_of``), with their policy and caching:

- ``page``: ``/app``, ``/login`` and anything not below: ``PAGE_CSP`` (scripts and styles
  only from this server's files), ``no-store``;
- ``export``: ``/app/.../export/...`` and ``/api/.../export.*``: ``EXPORT_CSP``, ``no-store``;
- ``api``: ``/api/``, ``/openapi.json``, ``/healthz``, ``/readyz``: ``NO_CONTENT_CSP``,
  ``no-store``;
- ``public``: survey pages ``/s/``, ``/r/`` and ``/t/`` (the unsigned door of a helpdesk's
  email), unsubscribe ``/u/``, open pixel ``/o/``: ``PUBLIC_PAGE_HEADERS``, ``no-store``;
- ``widget``: ``/widget.js`` and ``/w/``: ``NO_CONTENT_CSP``, the route's own caching;
- ``docs``: ``/docs``: ``DOCS_CSP`` (Swagger UI from ``/static/swagger-ui``), ``no-cache``;
- ``static``: ``/static/``: ``NO_CONTENT_CSP``, ``public, no-cache``.

Every answer also says ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY``
(with ``frame-ancestors 'none'``): no cxpulse page is ever shown in a frame. The widget is a
script that builds its prompt in a Shadow DOM of the customer's own page, not a frame, so it
needs no exception; its answers only carry the CORS headers of the survey's allowed origins
(``web/routes/widget.py``). Over HTTPS (the request's scheme, as uvicorn's proxy headers set
it) every answer adds ``Strict-Transport-Security``. docs/security.md explains each choice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script and no eval anywhere: the dashboard's charts run vega-embed in its
# interpreter mode (web/static/app.js), and every script is a file under /static.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PUBLIC_PAGE_CSP = PAGE_CSP
"""The survey pages' policy: the same as the signed-in pages' (their own script and style)."""
NO_CONTENT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""For answers that are data (JSON, CSV, scripts): nothing in them may load or run, should a
browser ever render one as a document."""
EXPORT_CSP = NO_CONTENT_CSP + "; sandbox"
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
"""The monthly report is one self-contained document (``cxpulse report`` writes the same file):
its style is inline and its charts are inline SVG; it runs no script and fetches nothing."""

HSTS = "max-age=31536000"
"""A year, without includeSubDomains: other hosts of the domain may not serve HTTPS."""

PUBLIC_PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": PUBLIC_PAGE_CSP,
    # The personal link is a secret: never hand it to a review site in a Referer header.
    # (Not "no-referrer": with it browsers send "Origin: null" on the page's own form.)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}
"""What every survey page sets itself (``web/survey_page_rendering.py``)."""

REPORT_HEADERS: dict[str, str] = {
    "Content-Security-Policy": REPORT_CSP,
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
}
"""What the monthly report page and its PDF set (``web/routes/report_pages.py``)."""


HSTS_HEADER = (b"strict-transport-security", HSTS.encode("latin-1"))


@dataclass(frozen=True)
class Family:
    """One kind of answer and the headers it gets unless the route set them."""

    name: str
    headers: tuple[tuple[bytes, bytes], ...]
    """Lower-case names, as ASGI servers send them."""
    names: frozenset[bytes]
    """The names above and HSTS's: an answer setting none of them (the usual case) gets the
    family's headers appended as they are."""

    @classmethod
    def of(cls, name: str, headers: dict[str, str]) -> Family:
        common = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
        pairs = tuple(
            (key.lower().encode("latin-1"), value.encode("latin-1"))
            for key, value in {**common, **headers}.items()
        )
        return cls(name, pairs, frozenset(key for key, _ in pairs) | {HSTS_HEADER[0]})


PAGE = Family.of(
    "page",
    {
        "Content-Security-Policy": PAGE_CSP,
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    },
)
EXPORT = Family.of(
    "export",
    {
        "Content-Security-Policy": EXPORT_CSP,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Cross-Origin-Resource-Policy": "same-origin",
    },
)
API = Family.of(
    "api",
    {
        "Content-Security-Policy": NO_CONTENT_CSP,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Cross-Origin-Resource-Policy": "same-origin",
    },
)
# No Cross-Origin-Resource-Policy: the open-tracking pixel is an image that webmail shows
# from its own origin.
PUBLIC = Family.of("public", PUBLIC_PAGE_HEADERS)
# The widget's routes answer other sites' pages: their caching and CORS are the route's own,
# and a Cross-Origin-Resource-Policy here would stop sites that isolate themselves.
WIDGET = Family.of(
    "widget",
    {
        "Content-Security-Policy": NO_CONTENT_CSP,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    },
)
DOCS = Family.of(
    "docs",
    {
        "Content-Security-Policy": DOCS_CSP,
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-cache",
    },
)
# Stored by browsers and proxies, and checked again (a 304 from the ETag) before each use:
# the files' names carry no version, so a longer max-age would pair new pages with old scripts
# after an upgrade.
STATIC = Family.of(
    "static",
    {
        "Content-Security-Policy": NO_CONTENT_CSP,
        "Referrer-Policy": "same-origin",
        "Cache-Control": "public, no-cache",
    },
)
FAMILIES = (PAGE, EXPORT, API, PUBLIC, WIDGET, DOCS, STATIC)

_EXACT: dict[str, Family] = {
    "/widget.js": WIDGET,
    "/openapi.json": API,
    "/healthz": API,
    "/readyz": API,
    "/docs": DOCS,
}
_BY_FIRST_SEGMENT: dict[str, Family] = {
    "static": STATIC,
    "api": API,
    "s": PUBLIC,
    "r": PUBLIC,
    "t": PUBLIC,
    "u": PUBLIC,
    "o": PUBLIC,
    "w": WIDGET,
}


def family_of(path: str) -> Family:
    """The family of the route answering ``path`` (without the app's root path)."""
    exact = _EXACT.get(path)
    if exact is not None:
        return exact
    end = path.find("/", 1)
    if end < 0:
        return PAGE  # "/", "/login", "/app": pages, as is anything unknown
    first = path[1:end]
    if first in ("app", "api") and ("/export/" in path or "/export." in path):
        return EXPORT
    return _BY_FIRST_SEGMENT.get(first, PAGE)


def with_headers(
    headers: Iterable[tuple[bytes, bytes]], family: Family, https: bool
) -> list[tuple[bytes, bytes]]:
    """``headers`` plus those of ``family`` (and HSTS over HTTPS) that are not set already."""
    merged = list(headers)
    present: set[bytes] = set()
    for name, _ in merged:  # a plain loop: this runs for every answer, submissions included
        lowered = name.lower()
        if lowered in family.names:
            present.add(lowered)
    if present:
        merged.extend(pair for pair in family.headers if pair[0] not in present)
    else:
        merged.extend(family.headers)
    if https and HSTS_HEADER[0] not in present:
        merged.append(HSTS_HEADER)
    return merged


def _path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


class SecurityHeaders:
    """Adds each family's headers to every HTTP answer of ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        family = family_of(_path(scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The scheme is read now, not before: a proxy-headers middleware inside this
                # one may have set it from X-Forwarded-Proto meanwhile.
                https = scope.get("scheme") == "https"
                message["headers"] = with_headers(message.get("headers", ()), family, https)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FastAPIWithHeaders(FastAPI):
    """FastAPI with ``SecurityHeaders`` outside all of its own middleware.

    ``add_middleware`` would place it inside Starlette's error and body-limit middleware, whose
    500 and 413 answers would then go out without the headers.

    ``doors`` (set before the first request) are ASGI middleware placed just inside
    ``SecurityHeaders`` and outside FastAPI's own: a route's direct path that answers its
    errors itself (``routes.responses.SubmissionDoor``).
    """

    doors: Sequence[Callable[[ASGIApp], ASGIApp]] = ()

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for door in reversed(self.doors):
            app = door(app)
        return SecurityHeaders(app)
