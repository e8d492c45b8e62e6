"""Signed, expiring tokens of the links that let a person choose a password: a colleague's
invitation (``/invite/{token}``, 7 days) and a password reset (``/password/reset/{token}``,
1 hour).

A token (``cxpulse.signing``, a purpose of its own per kind, so that one kind of link never
opens the other) carries the user's id and the mark of the user's password hash
(``store.user_invitations.link_mark``), so it dies as soon as a password is chosen.

Pure: no I/O. The routes that take a token still look the user up
(``user_invitations.open_link``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cxpulse.config import Settings
from cxpulse.signing import Signer, TokenProblem

LinkKind = Literal["invitation", "reset"]

LINK_SECONDS: dict[LinkKind, int] = {"invitation": 7 * 86_400, "reset": 3_600}
"""How long each kind of link works."""

_PURPOSES: dict[LinkKind, str] = {
    "invitation": "account.invitation",
    "reset": "account.password-reset",
}


@dataclass(frozen=True, slots=True)
class AccountLink:
    """What a valid token says."""

    user_id: int
    mark: str
    expires_at: int
    """Unix seconds."""


class AccountLinkProblem(TokenProblem):
    """A token that cannot be used; ``expired`` tells an old link from a damaged one."""


class AccountLinks:
    """Makes and reads the tokens, with the secret key (and verifying with the previous)."""

    def __init__(self, secret_key: str, previous_secret_keys: Sequence[str] = ()) -> None:
        self._signer = Signer(secret_key, previous_secret_keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountLinks:
        return cls(settings.secret_key, settings.previous_secret_keys)

    def issue(self, kind: LinkKind, user_id: int, mark: str, *, now: float | None = None) -> str:
        moment = time.time() if now is None else now
        expires_at = int(moment + LINK_SECONDS[kind])
        return self._signer.dumps(_PURPOSES[kind], [user_id, mark], expires_at=expires_at)

    def read(self, kind: LinkKind, token: str, *, now: float | None = None) -> AccountLink:
        """The claims of a valid, unexpired token of ``kind``; ``AccountLinkProblem``
        otherwise."""
        try:
            signed = self._signer.loads(_PURPOSES[kind], token, now=now)
        except TokenProblem as problem:
            if problem.expired:
                raise AccountLinkProblem("this link has expired", expired=True) from None
            raise AccountLinkProblem("this link is damaged") from None
        match signed.claims:
            case (int() as user_id, str() as mark):
                return AccountLink(user_id, mark, signed.expires_at)
            case _:
                raise AccountLinkProblem("this link is damaged")
