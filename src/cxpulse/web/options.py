"""Settings of the web layer only, read from the environment like ``cxpulse.config``.

| variable | default |
|---|---|
| ``CXPULSE_COOKIE_SECURE`` | ``true``: session cookies carry ``Secure`` (see below) |
| ``CXPULSE_SESSION_HOURS`` | ``12``: a browser session expires this long after login. |
| ``CXPULSE_LOGIN_BURST`` | ``10``: login attempts one client address may make at once ... |
| ``CXPULSE_LOGIN_PER_MINUTE`` | ``10``: ... and how many more it regains per minute. |
| ``CXPULSE_PUBLIC_BURST`` | ``30``: answers one address may send at once (pages, widget) |
| ``CXPULSE_PUBLIC_PER_MINUTE`` | ``60``: ... and regains per minute (429 beyond). |

Browsers accept Secure cookies from ``http://localhost`` and ``http://127.0.0.1``, so a local
demo works with the default; set ``CXPULSE_COOKIE_SECURE=false`` only to serve a demo over
plain http on another address (never in production).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from cxpulse.config import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class WebOptions:
    cookie_secure: bool = True
    session_max_age_seconds: int = 12 * 3600
    login_burst: int = 10
    login_per_minute: float = 10.0
    public_burst: int = 30
    public_per_minute: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebOptions:
        env = os.environ if environ is None else environ
        return cls(
            cookie_secure=_flag(env, "CXPULSE_COOKIE_SECURE", default=True),
            session_max_age_seconds=int(_number(env, "CXPULSE_SESSION_HOURS", 12) * 3600),
            login_burst=int(_number(env, "CXPULSE_LOGIN_BURST", 10)),
            login_per_minute=_number(env, "CXPULSE_LOGIN_PER_MINUTE", 10),
            public_burst=int(_number(env, "CXPULSE_PUBLIC_BURST", 30)),
            public_per_minute=_number(env, "CXPULSE_PUBLIC_PER_MINUTE", 60),
        )


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {text!r}")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be more than 0, got {text!r}")
    return value
