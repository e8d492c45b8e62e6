"""The one signer: purposes, tampering, expiry, key rotation, fingerprints, base64."""

from __future__ import annotations

import time

import pytest

from cxpulse.signing import (
    MAX_TOKEN_LENGTH,
    Signed,
    Signer,
    TokenProblem,
    urlsafe_b64decode,
    urlsafe_b64encode,
)

NOW = 1_800_000_000.0
LATER = int(NOW) + 3600


def test_sign_and_verify() -> None:
    signer = Signer("secret")
    token = signer.dumps("link.answer", [42, 7, "nonce"], expires_at=LATER)
    assert token.isascii()
    assert all(c.isalnum() or c in "-_." for c in token)
    assert len(token) < 90  # short enough for the links of an email
    assert signer.loads("link.answer", token, now=NOW) == Signed((42, 7, "nonce"), LATER)
    assert Signer("secret").loads("link.answer", token, now=NOW).claims == (42, 7, "nonce")


def test_a_token_of_another_purpose_or_key_is_refused() -> None:
    token = Signer("secret").dumps("link.answer", [1, 2], expires_at=LATER)
    with pytest.raises(TokenProblem) as caught:
        Signer("secret").loads("link.unsubscribe", token, now=NOW)
    assert not caught.value.expired
    with pytest.raises(TokenProblem):
        Signer("another").loads("link.answer", token, now=NOW)


def test_tampered_tokens_are_refused() -> None:
    signer = Signer("secret")
    token = signer.dumps("session", [1, "csrf"], expires_at=LATER)
    payload, _, signature = token.rpartition(".")
    other_payload = signer.dumps("session", [2, "csrf"], expires_at=LATER).rpartition(".")[0]
    # (Not the last character: some of its bits are base64 padding.)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    longer_expiry = signer.dumps("session", [1, "csrf"], expires_at=LATER + 1).rpartition(".")[0]
    for forged in (
        f"{other_payload}.{signature}",
        f"{longer_expiry}.{signature}",
        f"{payload}.{flipped}",
        f"{payload}x.{signature}",
        payload,
        "",
        ".",
        "garbage",
        f"{payload}.é",
        "A" * (MAX_TOKEN_LENGTH + 1),
    ):
        with pytest.raises(TokenProblem) as caught:
            signer.loads("session", forged, now=NOW)
        assert not caught.value.expired, forged


def test_expiry_is_checked_after_the_signature() -> None:
    signer = Signer("secret")
    token = signer.dumps("page-form", [3], expires_at=LATER)
    assert signer.loads("page-form", token, now=LATER - 1).expires_at == LATER
    with pytest.raises(TokenProblem) as caught:
        signer.loads("page-form", token, now=LATER)
    assert caught.value.expired
    with pytest.raises(TokenProblem) as forged:
        Signer("another").loads("page-form", token, now=LATER + 1)
    assert not forged.value.expired


def test_key_rotation() -> None:
    old = Signer("old secret")
    rotated = Signer("new secret", ["older secret", "old secret"])
    before = old.dumps("link.open", [5, 6], expires_at=LATER)
    after = rotated.dumps("link.open", [5, 6], expires_at=LATER)
    # An old secret still verifies while the new one signs.
    assert rotated.loads("link.open", before, now=NOW).claims == (5, 6)
    assert Signer("new secret").loads("link.open", after, now=NOW).claims == (5, 6)
    with pytest.raises(TokenProblem):
        old.loads("link.open", after, now=NOW)
    # Once the old secret is removed, what it signed no longer verifies.
    with pytest.raises(TokenProblem):
        Signer("new secret", ["older secret"]).loads("link.open", before, now=NOW)


def test_fingerprints_are_keyed_and_survive_rotation() -> None:
    signer = Signer("secret")
    mark = signer.fingerprint("session-password", "hash")
    assert mark == Signer("secret").fingerprint("session-password", "hash")
    assert mark != signer.fingerprint("session-password", "new hash")
    assert mark != signer.fingerprint("other", "hash")
    assert mark != Signer("another").fingerprint("session-password", "hash")
    assert signer.fingerprint_matches("session-password", "hash", mark)
    assert not signer.fingerprint_matches("session-password", "new hash", mark)
    rotated = Signer("new secret", ["secret"])
    assert rotated.fingerprint("session-password", "hash") != mark
    assert rotated.fingerprint_matches("session-password", "hash", mark)
    assert not Signer("new secret").fingerprint_matches("session-password", "hash", mark)
    assert not signer.fingerprint_matches("session-password", "hash", "é")


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        Signer("")


def test_url_safe_base64_round_trips_and_refuses_garbage() -> None:
    data = bytes(range(256))
    text = urlsafe_b64encode(data)
    assert not set(text) & set("=+/")
    assert urlsafe_b64decode(text) == data
    for garbage in ("a", "é", "abcde"):
        with pytest.raises(ValueError, match="base64"):
            urlsafe_b64decode(garbage)


def test_derived_keys_are_remembered_but_never_shared_between_secrets_or_purposes() -> None:
    from cxpulse.signing import _KeyCachingSigner

    first = Signer("a-secret-for-the-cache-test")
    other = Signer("another-secret-for-the-cache-test")
    token = first.dumps("cache-test", [7], expires_at=int(time.time()) + 60)
    assert first.loads("cache-test", token).claims == (7,)
    remembered = {
        (secret, salt)
        for secret, salt, _, _ in _KeyCachingSigner._derived
        if salt.endswith(b"cache-test")
    }
    assert remembered == {(b"a-secret-for-the-cache-test", b"cxpulse.token.cache-test")}
    # A cached key changes nothing about what verifies: another secret or purpose refuses it.
    with pytest.raises(TokenProblem):
        other.loads("cache-test", token)
    with pytest.raises(TokenProblem):
        first.loads("cache-test-2", token)
    assert first.loads("cache-test", token).claims == (7,)
