"""Password hashes (argon2id) and API key material.

API keys are 32 random bytes, so a single SHA-256 is enough to store them: unlike passwords
they cannot be guessed from a dictionary, and a fast hash keeps every API call cheap.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

API_KEY_TAG = "cxp"
_PREFIX_BYTES = 6
_SECRET_BYTES = 32

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so that a login for an unknown email takes as long as
    one for a known email and its timing does not reveal which addresses have accounts."""
    verify_password(password, _dummy_hash())


@dataclass(frozen=True)
class GeneratedApiKey:
    plaintext: str
    """``cxp_<prefix>_<secret>``: shown to its owner once, never stored."""
    prefix: str
    """Stored and shown in listings so that people can tell their keys apart."""
    key_hash: str


def hash_api_key_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_api_key() -> GeneratedApiKey:
    prefix = secrets.token_hex(_PREFIX_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return GeneratedApiKey(
        plaintext=f"{API_KEY_TAG}_{prefix}_{secret}",
        prefix=prefix,
        key_hash=hash_api_key_secret(secret),
    )


def split_api_key(plaintext: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key, else None."""
    tag, _, rest = plaintext.strip().partition("_")
    prefix, _, secret = rest.partition("_")
    if tag != API_KEY_TAG or len(prefix) != 2 * _PREFIX_BYTES or not secret:
        return None
    return prefix, secret


def api_key_matches(secret: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key_secret(secret), key_hash)
