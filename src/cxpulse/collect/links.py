"""Signed, expiring tokens for the links in invitation emails.

A token (made by ``cxpulse.signing``) carries an invitation id, a survey id and an expiry,
signed under the secret key with the purpose (``answer``, ``unsubscribe``, ``open``) as the
salt. So a token is tied to one invitation and one survey, cannot be altered, expires, and a
token made for one purpose cannot be used for another. Tokens signed with a previous secret
key keep working until they expire.

Pure: no I/O. The routes that accept a token still check that the invitation exists, belongs
to the survey and is not withdrawn.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cxpulse.signing import Signer, TokenProblem
from cxpulse.store.survey_options import DEFAULT_LINK_DAYS

Purpose = Literal["answer", "unsubscribe", "open"]
PURPOSES: tuple[Purpose, ...] = ("answer", "unsubscribe", "open")

UNSUBSCRIBE_LINK_DAYS = 365
"""Unsubscribe links must keep working long after the survey closed."""


@dataclass(frozen=True, slots=True)
class LinkClaims:
    purpose: Purpose
    invitation_id: int
    survey_id: int
    expires_at: int
    """Unix seconds."""


class LinkProblem(TokenProblem):
    """A token that cannot be used; ``expired`` tells an old link from a damaged one."""


class LinkSigner:
    def __init__(self, secret_key: str, *, previous_secret_keys: Sequence[str] = ()) -> None:
        self._signer = Signer(secret_key, previous_secret_keys)

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
        return self._signer.dumps(
            f"link.{purpose}", [invitation_id, survey_id], expires_at=expires_at
        )

    def verify(self, token: str, purpose: Purpose, *, now: float | None = None) -> LinkClaims:
        """The claims of a valid token for ``purpose``; raises ``LinkProblem`` otherwise."""
        try:
            signed = self._signer.loads(f"link.{purpose}", token, now=now)
        except TokenProblem as problem:
            if problem.expired:
                raise LinkProblem("this link has expired", expired=True) from None
            raise LinkProblem("this link is damaged") from None
        match signed.claims:
            case (int() as invitation_id, int() as survey_id):
                return LinkClaims(purpose, invitation_id, survey_id, signed.expires_at)
            case _:
                raise LinkProblem("this link is damaged")
