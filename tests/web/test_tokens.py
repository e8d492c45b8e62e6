"""Session signing and the token bucket, without a database."""

from __future__ import annotations

import pytest

from cxpulse.web.tokens import SessionSigner, TokenBucket, retry_after_header


def test_sessions_round_trip_and_refuse_tampering() -> None:
    signer = SessionSigner("key", max_age_seconds=60)
    data = signer.issue(7, "hash", now=1000.0)
    token = signer.dumps(data)
    assert signer.loads(token, now=1001.0) == data
    assert signer.loads(token, now=1060.0) is None  # expired
    assert SessionSigner("other key", 60).loads(token, now=1001.0) is None
    payload, _, signature = token.rpartition(".")
    assert signer.loads(f"{payload}x.{signature}", now=1001.0) is None
    assert signer.loads("garbage", now=1001.0) is None
    assert signer.loads(".", now=1001.0) is None
    assert data.fingerprint == signer.fingerprint("hash") != signer.fingerprint("new hash")
    assert signer.issue(7, "hash").csrf_token != signer.issue(7, "hash").csrf_token


def test_sessions_survive_a_key_rotation() -> None:
    old = SessionSigner("old key", max_age_seconds=60)
    data = old.issue(7, "hash", now=1000.0)
    rotated = SessionSigner("new key", 60, previous_secret_keys=["old key"])
    assert rotated.loads(old.dumps(data), now=1001.0) == data
    assert rotated.fingerprint_matches("hash", data.fingerprint)
    assert not rotated.fingerprint_matches("new hash", data.fingerprint)
    assert rotated.fingerprint("hash") != data.fingerprint
    assert old.loads(rotated.dumps(rotated.issue(7, "hash", now=1000.0)), now=1001.0) is None
    assert SessionSigner("new key", 60).loads(old.dumps(data), now=1001.0) is None
    assert not SessionSigner("new key", 60).fingerprint_matches("hash", data.fingerprint)


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
