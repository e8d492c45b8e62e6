"""Password hashes of the accounts one address has: one salt, so one computation per login.

Accounts are unique within an organisation, not across them, so that creating one tells an
organisation nothing about the others (``store.accounts``). A login names no organisation,
so it checks the password against every account of the address. Were each hash salted on
its own, that would cost one argon2 computation per account, and the login's timing would
tell anyone that an address has accounts elsewhere, which is what per-organisation accounts
are there to hide. So the hashes of one address's accounts share their salt and argon2
parameters: one computation gives the hash to compare with all of them, and a login takes
as long for an address with five accounts as for one with one (or with none, see
``security.burn_password_check``).

What sharing costs: someone holding a copy of the database sees when one person chose the
same password in two organisations (and cracking it once cracks both, as it would anyway).
The salt is still random and still differs between addresses, so nothing can be computed
ahead for many accounts at once. A new account of an address also takes its accounts'
argon2 parameters, even when older than today's defaults; ``accounts.check_login`` moves a
hash to today's parameters only for an address with one account.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import Parameters, PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError

from cxpulse.store import security


@dataclass(frozen=True)
class _Salted:
    """An encoded argon2 hash taken apart: all but its digest, its salt and parameters."""

    prefix: str
    salt: bytes
    parameters: Parameters


def _salted(encoded: str) -> _Salted | None:
    """The hash's salt and parameters; None for a string that is not an argon2 hash."""
    parts = encoded.split("$")  # "", "argon2id", "v=19", "m=...,t=...,p=...", salt, digest
    if len(parts) != 6:
        return None
    try:
        parameters = extract_parameters(encoded)
        salt = base64.b64decode(parts[4] + "=" * (-len(parts[4]) % 4), validate=True)
    except (InvalidHashError, ValueError):
        return None
    return _Salted("$".join(parts[:5]), salt, parameters)


def hash_for_address(password: str, others: Sequence[str]) -> str:
    """A hash of ``password`` for an account whose address has accounts with the hashes
    ``others`` (none: a fresh salt and today's parameters)."""
    for other in others:
        salted = _salted(other)
        if salted is not None:
            hasher = PasswordHasher.from_parameters(salted.parameters)
            return hasher.hash(password, salt=salted.salt)
    return security.hash_password(password)


def matches(password: str, hashes: Sequence[str]) -> list[bool]:
    """Whether ``password`` matches each of ``hashes``, at the cost of one computation per
    distinct salt: one when they share it, as ``hash_for_address`` keeps them; one all the
    same when ``hashes`` is empty, so that an unknown address takes as long."""
    if not hashes:
        security.burn_password_check(password)
        return []
    computed: dict[str, str] = {}
    found: list[bool] = []
    for stored in hashes:
        salted = _salted(stored)
        if salted is None:
            found.append(security.verify_password(password, stored))
            continue
        if salted.prefix not in computed:
            hasher = PasswordHasher.from_parameters(salted.parameters)
            computed[salted.prefix] = hasher.hash(password, salt=salted.salt)
        found.append(hmac.compare_digest(computed[salted.prefix], stored))
    return found
