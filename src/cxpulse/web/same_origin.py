"""Is a browser's form post from one of our own pages? (against cross-site posts)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request


def same_origin(request: Request) -> bool:
    """False when the browser says the post comes from another site.

    Browsers send ``Origin`` on form posts; when it is absent (older browsers, non-browser
    clients) other checks (form or CSRF tokens) still hold, so this answers True.
    """
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        # Privacy settings can hide the origin; the browser's own fetch metadata then tells.
        return request.headers.get("sec-fetch-site") == "same-origin"
    host = request.headers.get("host", "")
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.netloc.lower() == host.lower() and parts.scheme in ("http", "https")
