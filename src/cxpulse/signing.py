"""One way to sign: URL-safe, expiring, purpose-bound tokens and keyed fingerprints.

Everything cxpulse signs goes through ``Signer``, built on itsdangerous: the links of
invitation emails (``collect.links``), session cookies and password fingerprints
(``web.tokens``), the form tokens of survey pages (``web.survey_page_forms``).

- A token is one URL-safe string, ``<payload>.<signature>`` as itsdangerous's
  ``URLSafeSerializer`` writes it: the payload is URL-safe base64 of compact JSON
  ``[claim, ..., expiry]`` (zlib-compressed and led by a dot when that is shorter), the
  signature HMAC-SHA256 under a key derived from the secret key and the token's *purpose*
  (the itsdangerous salt). So no claim can be changed without the key, and a token made for
  one purpose never verifies for another.
- Every token carries its expiry (unix seconds); it is checked only after the signature, so a
  forged token is never reported as merely expired.
- Key rotation: a signer takes the current secret and the previous ones. It signs with the
  current one and verifies with any of them, so tokens signed before a rotation keep working
  until they expire. Drop a previous secret once everything it signed has expired (the
  longest-lived tokens are unsubscribe links: a year).

Also here: URL-safe base64 without padding, for opaque tokens that need no signature (the
page cursors of listings).

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from itsdangerous import BadData, URLSafeSerializer
from itsdangerous import Signer as ItsdangerousSigner
from itsdangerous.encoding import base64_decode, base64_encode, want_bytes

Claim = int | str
"""What a token may carry besides its expiry: ids, nonces, short strings."""

MAX_TOKEN_LENGTH = 400
"""Longer strings are refused before any HMAC is computed (the longest token, a session
cookie, is about 200 characters)."""

# Salts, not secrets: they separate the keys of different purposes.
_TOKEN_SALT = "cxpulse.token."  # noqa: S105
_FINGERPRINT_SALT = "cxpulse.fingerprint."
_SIGNER_OPTIONS = {"digest_method": hashlib.sha256, "key_derivation": "hmac"}


class _KeyCachingSigner(ItsdangerousSigner):
    """itsdangerous's signer, remembering the keys it derives.

    itsdangerous derives the HMAC key from (secret, salt) again for every token it signs or
    checks, and a serializer builds a new signer per call; that derivation was a third of the
    signing cost on the survey-page submission path. The key depends only on the secret, the
    salt and the method, so it is kept per process (a handful of purposes times the secrets).
    """

    _derived: ClassVar[dict[tuple[bytes, bytes, str, object], bytes]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()
    _LIMIT: ClassVar[int] = 1024  # far above purposes x secrets; a bound, not a tuning knob

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        cache_key = (secret, self.salt, self.key_derivation, self.digest_method)
        key = self._derived.get(cache_key)
        if key is None:
            key = super().derive_key(secret)
            with self._lock:
                if len(self._derived) < self._LIMIT:
                    self._derived[cache_key] = key
        return key


class TokenProblem(ValueError):
    """A token that cannot be used; ``expired`` tells an old token from a damaged one."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class Signed:
    """The verified content of a token."""

    claims: tuple[Claim, ...]
    expires_at: int
    """Unix seconds."""


class Signer:
    """Signs with ``secret_key``; verifies with it or any of ``previous_secret_keys``."""

    def __init__(self, secret_key: str, previous_secret_keys: Sequence[str] = ()) -> None:
        if not secret_key:
            raise ValueError("the secret key is empty")
        # itsdangerous signs with the last key of the list and verifies with every one.
        self._keys = [key for key in previous_secret_keys if key and key != secret_key]
        self._keys.append(secret_key)
        self._serializers: dict[str, URLSafeSerializer] = {}
        self._fingerprinters: dict[str, ItsdangerousSigner] = {}

    def dumps(self, purpose: str, claims: Sequence[Claim], *, expires_at: int) -> str:
        """A token for ``purpose`` carrying ``claims``, valid until ``expires_at``."""
        return self._serializer(purpose).dumps([*claims, int(expires_at)])

    def loads(self, purpose: str, token: str, *, now: float | None = None) -> Signed:
        """The content of a valid, unexpired token for ``purpose``; raises ``TokenProblem``."""
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise TokenProblem("damaged token")
        try:
            document = self._serializer(purpose).loads(token)
        except BadData:
            raise TokenProblem("damaged token") from None
        if not isinstance(document, list) or not document:
            raise TokenProblem("damaged token")
        *claims, expires_at = document
        if not _is_int(expires_at) or not all(_is_int(c) or isinstance(c, str) for c in claims):
            raise TokenProblem("damaged token")
        if expires_at <= (time.time() if now is None else now):
            raise TokenProblem("expired token", expired=True)
        return Signed(tuple(claims), expires_at)

    def fingerprint(self, purpose: str, value: str) -> str:
        """A keyed digest of ``value`` (under the current secret) that reveals nothing of it."""
        return self._fingerprinter(purpose).get_signature(value).decode("ascii")

    def fingerprint_matches(self, purpose: str, value: str, fingerprint: str) -> bool:
        """Whether ``fingerprint`` is the fingerprint of ``value`` under any of the secrets."""
        return self._fingerprinter(purpose).verify_signature(value, fingerprint)

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = URLSafeSerializer(
                self._keys,
                salt=_TOKEN_SALT + purpose,
                signer=_KeyCachingSigner,
                signer_kwargs=_SIGNER_OPTIONS,
            )
            self._serializers[purpose] = serializer
        return serializer

    def _fingerprinter(self, purpose: str) -> ItsdangerousSigner:
        signer = self._fingerprinters.get(purpose)
        if signer is None:
            signer = _KeyCachingSigner(
                self._keys,
                salt=_FINGERPRINT_SALT + purpose,
                digest_method=hashlib.sha256,
                key_derivation="hmac",
            )
            self._fingerprinters[purpose] = signer
        return signer


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def urlsafe_b64encode(data: bytes) -> str:
    """URL-safe base64 without padding (for opaque, unsigned tokens such as page cursors)."""
    return base64_encode(data).decode("ascii")


def urlsafe_b64decode(text: str) -> bytes:
    """The bytes of ``urlsafe_b64encode``; raises ``ValueError`` for anything else."""
    # itsdangerous would silently drop non-ASCII characters: refuse them instead.
    if not text.isascii():
        raise ValueError("not URL-safe base64")
    try:
        return base64_decode(text)
    except BadData:
        raise ValueError("not URL-safe base64") from None
