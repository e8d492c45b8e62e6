"""The browser summary a session list shows."""

from __future__ import annotations

import pytest

from cxpulse.web.user_agents import summary

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
EDGE = CHROME_MAC.replace("Macintosh; Intel Mac OS X 10_15_7", "Windows NT 10.0; Win64; x64") + (
    " Edg/126.0.0.0"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        (FIREFOX, "Firefox on Linux"),
        (CHROME_MAC, "Chrome on macOS"),
        (EDGE, "Edge on Windows"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (CHROME_ANDROID, "Chrome on Android"),
        ("curl/8.5.0", "curl"),
        (None, None),
        ("   ", None),
        ("MyBot\x00\x1b[31m/1.0", "MyBot[31m/1.0"),
        ("x" * 500, "x" * 60 + "…"),
    ],
)
def test_summaries(header: str | None, shown: str | None) -> None:
    assert summary(header) == shown
