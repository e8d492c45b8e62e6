"""Session cookies, client keys and the token bucket, without a database."""

from __future__ import annotations

import pytest

from cxpulse.signing import Signer
from cxpulse.web.tokens import SessionSigner, TokenBucket, client_key, retry_after_header


def test_sessions_round_trip_and_refuse_tampering() -> None:
    signer = SessionSigner("key", max_age_seconds=60)
    data = signer.issue("the secret", expires_at=1060)
    token = signer.dumps(data)
    assert signer.loads(token, now=1001.0) == data
    assert data.secret == "the secret"
    assert signer.loads(token, now=1060.0) is None  # expired
    assert SessionSigner("other key", 60).loads(token, now=1001.0) is None
    payload, _, signature = token.rpartition(".")
    assert signer.loads(f"{payload}x.{signature}", now=1001.0) is None
    assert signer.loads("garbage", now=1001.0) is None
    assert signer.loads(".", now=1001.0) is None
    assert signer.issue("s").csrf_token != signer.issue("s").csrf_token


def test_cookies_from_before_server_side_sessions_are_refused() -> None:
    """A cookie of the old stateless format (user id, CSRF token, password fingerprint) is
    signed with the same purpose and key, but names no server-side session."""
    signer = SessionSigner("key", max_age_seconds=60)
    old = Signer("key").dumps("session", [7, "csrf", "fingerprint"], expires_at=1060)
    assert signer.loads(old, now=1001.0) is None
    empty = Signer("key").dumps("session", ["", "csrf"], expires_at=1060)
    assert signer.loads(empty, now=1001.0) is None


def test_sessions_survive_a_key_rotation() -> None:
    old = SessionSigner("old key", max_age_seconds=60)
    data = old.issue("secret", expires_at=1060)
    rotated = SessionSigner("new key", 60, previous_secret_keys=["old key"])
    assert rotated.loads(old.dumps(data), now=1001.0) == data
    assert old.loads(rotated.dumps(rotated.issue("s", expires_at=1060)), now=1001.0) is None
    assert SessionSigner("new key", 60).loads(old.dumps(data), now=1001.0) is None


def test_clients_are_counted_by_address_and_ipv6_by_their_64() -> None:
    assert client_key("203.0.113.9") == "203.0.113.9"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_key("testclient") == "testclient"
    assert len(client_key("x" * 500)) == 64


def test_rotating_through_an_ipv6_64_does_not_refill_the_bucket() -> None:
    bucket = TokenBucket(burst=2, per_minute=1, clock=lambda: 0.0)
    assert bucket.take("2001:db8::1") == 0
    assert bucket.take("2001:db8::2") == 0
    assert bucket.take("2001:db8::3") > 0
    assert bucket.take("2001:db8:0:1::1") == 0


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(burst=2, per_minute=6, clock=lambda: now[0])
    assert bucket.take("a") == 0
    assert bucket.take("a") == 0
    wait = bucket.take("a")
    assert wait == pytest.approx(10.0)
    assert bucket.take("b") == 0  # another client has its own bucket
    now[0] = 10.0
    assert bucket.take("a") == 0
    assert bucket.take("a") > 0
    assert retry_after_header(0.2) == "1"
    assert retry_after_header(10.01) == "11"


def test_token_bucket_forgets_clients_to_stay_small() -> None:
    now = [0.0]
    bucket = TokenBucket(burst=1, per_minute=60, clock=lambda: now[0])
    bucket.MAX_CLIENTS = 10
    for n in range(50):
        bucket.take(f"client-{n}")
    assert len(bucket._buckets) <= 11
