"""Signed, expiring tokens for the links in invitation emails.

A token is ``<payload>.<signature>``: the payload is URL-safe base64 of
``purpose:invitation id:survey id:expiry (unix seconds)``, the signature a truncated
HMAC-SHA256 under a key derived from ``CXPULSE_SECRET_KEY`` and the purpose. So a token is
tied to one invitation and one survey, cannot be altered, expires, and a token made for one
purpose (``answer``, ``unsubscribe``, ``open``) cannot be used for another.

Pure: no I/O. The routes that accept a token still check that the invitation exists, belongs
to the survey and is not withdrawn.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Literal

from cxpulse.store.survey_options import DEFAULT_LINK_DAYS

Purpose = Literal["answer", "unsubscribe", "open"]
PURPOSES: tuple[Purpose, ...] = ("answer", "unsubscribe", "open")

UNSUBSCRIBE_LINK_DAYS = 365
"""Unsubscribe links must keep working long after the survey closed."""

_SIGNATURE_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class LinkClaims:
    purpose: Purpose
    invitation_id: int
    survey_id: int
    expires_at: int
    """Unix seconds."""


class LinkProblem(ValueError):
    """A token that cannot be used; ``expired`` tells an old link from a damaged one."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class LinkSigner:
    def __init__(self, secret_key: str) -> None:
        self._keys = {
            purpose: hashlib.sha256(
                b"cxpulse-link\0" + purpose.encode() + b"\0" + secret_key.encode("utf-8")
            ).digest()
            for purpose in PURPOSES
        }

    def _sign(self, purpose: Purpose, payload: str) -> str:
        digest = hmac.new(self._keys[purpose], payload.encode("ascii"), hashlib.sha256)
        return _b64(digest.digest()[:_SIGNATURE_BYTES])

    def issue(
        self,
        purpose: Purpose,
        invitation_id: int,
        survey_id: int,
        *,
        days: float = DEFAULT_LINK_DAYS,
        now: float | None = None,
    ) -> str:
        moment = time.time() if now is None else now
        expires_at = int(moment + days * 86_400)
        payload = _b64(f"{purpose}:{invitation_id}:{survey_id}:{expires_at}".encode("ascii"))
        return f"{payload}.{self._sign(purpose, payload)}"

    def verify(self, token: str, purpose: Purpose, *, now: float | None = None) -> LinkClaims:
        """The claims of a valid token for ``purpose``; raises ``LinkProblem`` otherwise."""
        payload, dot, signature = token.partition(".")
        if not dot or len(token) > 200 or not token.isascii():
            raise LinkProblem("this link is damaged")
        if not hmac.compare_digest(self._sign(purpose, payload), signature):
            raise LinkProblem("this link is damaged")
        try:
            kind, invitation, survey, expires = _unb64(payload).decode("ascii").split(":")
            claims = LinkClaims(purpose, int(invitation), int(survey), int(expires))
        except (ValueError, UnicodeDecodeError):
            raise LinkProblem("this link is damaged") from None
        if kind != purpose:
            raise LinkProblem("this link is damaged")
        if claims.expires_at < (time.time() if now is None else now):
            raise LinkProblem("this link has expired", expired=True)
        return claims
