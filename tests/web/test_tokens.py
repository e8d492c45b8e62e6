"""Session signing, the token bucket and web options, without a database."""

from __future__ import annotations

import pytest

from cxpulse.config import ConfigError
from cxpulse.web.options import WebOptions
from cxpulse.web.tokens import SessionSigner, TokenBucket, retry_after_header


def test_sessions_round_trip_and_refuse_tampering() -> None:
    signer = SessionSigner("key", max_age_seconds=60)
    data = signer.issue(7, "hash", now=1000.0)
    token = signer.dumps(data)
    assert signer.loads(token, now=1001.0) == data
    assert signer.loads(token, now=1060.0) is None  # expired
    assert SessionSigner("other key", 60).loads(token, now=1001.0) is None
    payload, signature = token.split(".")
    assert signer.loads(f"{payload}x.{signature}", now=1001.0) is None
    assert signer.loads("garbage", now=1001.0) is None
    assert signer.loads(".", now=1001.0) is None
    assert data.fingerprint == signer.fingerprint("hash") != signer.fingerprint("new hash")
    assert signer.issue(7, "hash").csrf_token != signer.issue(7, "hash").csrf_token


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


def test_web_options_from_the_environment() -> None:
    assert WebOptions.from_env({}) == WebOptions()
    options = WebOptions.from_env(
        {
            "CXPULSE_COOKIE_SECURE": "false",
            "CXPULSE_SESSION_HOURS": "0.5",
            "CXPULSE_LOGIN_BURST": "3",
            "CXPULSE_LOGIN_PER_MINUTE": "2",
        }
    )
    assert options == WebOptions(
        cookie_secure=False, session_max_age_seconds=1800, login_burst=3, login_per_minute=2.0
    )
    with pytest.raises(ConfigError):
        WebOptions.from_env({"CXPULSE_COOKIE_SECURE": "maybe"})
    with pytest.raises(ConfigError):
        WebOptions.from_env({"CXPULSE_LOGIN_BURST": "-1"})
