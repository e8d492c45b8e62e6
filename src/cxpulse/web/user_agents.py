"""A short, readable name of the browser a session logged in with ("Firefox on Linux"), so
that a person can tell their sessions apart in a list.

Only a summary is kept: the full User-Agent header is long, says more about the machine than
a session list needs, and is whatever the client chose to send.
"""

from __future__ import annotations

import re

MAX_LENGTH = 200

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx/", "Python (httpx)"),
    ("python-requests/", "Python (requests)"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def summary(user_agent: str | None) -> str | None:
    """ "Firefox on Linux", "curl", or the start of an unknown header (printable characters
    only); None without one."""
    if not user_agent or not user_agent.strip():
        return None
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser:
        return browser
    shown = _UNPRINTABLE.sub("", user_agent).strip()
    return (shown[:60] + "…" if len(shown) > 60 else shown) or None
