"""Standard Webhooks signing (``act.webhook_signing``): the standard's reference vector, the
check a receiver makes (tampered body, id or timestamp, old requests, wrong secret), and
several signatures during a secret rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.act.webhook_signing import InvalidSignature, request_headers, secret_key, sign, verify
from cxpulse.store.webhooks import new_secret

# The example of the Standard Webhooks reference libraries' tests.
REFERENCE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REFERENCE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REFERENCE_TIME = 1614265330
REFERENCE_BODY = b'{"test": 2432232314}'
REFERENCE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
AT = datetime.fromtimestamp(REFERENCE_TIME, UTC)


def test_the_reference_example_signs_as_the_standard_says() -> None:
    assert sign(REFERENCE_SECRET, REFERENCE_ID, REFERENCE_TIME, REFERENCE_BODY) == (
        REFERENCE_SIGNATURE
    )
    headers = request_headers(REFERENCE_ID, REFERENCE_TIME, REFERENCE_BODY, [REFERENCE_SECRET])
    assert headers == {
        "webhook-id": REFERENCE_ID,
        "webhook-timestamp": str(REFERENCE_TIME),
        "webhook-signature": REFERENCE_SIGNATURE,
    }
    assert verify(REFERENCE_SECRET, headers, REFERENCE_BODY, now=AT) == REFERENCE_ID


def _headers(secret: str = REFERENCE_SECRET, **changes: str) -> dict[str, str]:
    headers = request_headers(REFERENCE_ID, REFERENCE_TIME, REFERENCE_BODY, [secret])
    headers.update(changes)
    return headers


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        (_headers(), b'{"test": 2432232315}', "no signature matches"),
        (_headers(**{"webhook-id": "msg_other"}), REFERENCE_BODY, "no signature matches"),
        (
            _headers(**{"webhook-timestamp": str(REFERENCE_TIME + 1)}),
            REFERENCE_BODY,
            "no signature matches",
        ),
        (_headers(new_secret()), REFERENCE_BODY, "no signature matches"),
        (_headers(**{"webhook-signature": "v1a,abc"}), REFERENCE_BODY, "no signature matches"),
        (_headers(**{"webhook-timestamp": "16142653.30"}), REFERENCE_BODY, "Unix time"),
        ({"webhook-id": REFERENCE_ID}, REFERENCE_BODY, "headers are required"),
    ],
)
def test_a_tampered_request_is_refused(headers: dict[str, str], body: bytes, message: str) -> None:
    with pytest.raises(InvalidSignature, match=message):
        verify(REFERENCE_SECRET, headers, body, now=AT)


def test_an_old_or_future_request_is_refused_and_headers_ignore_case() -> None:
    headers = {name.upper(): value for name, value in _headers().items()}
    assert verify(REFERENCE_SECRET, headers, REFERENCE_BODY, now=AT + timedelta(minutes=4))
    for moment in (AT + timedelta(minutes=6), AT - timedelta(minutes=6)):
        with pytest.raises(InvalidSignature, match="too far from now"):
            verify(REFERENCE_SECRET, headers, REFERENCE_BODY, now=moment)


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = request_headers("msg_1", REFERENCE_TIME, b"{}", [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify([old], headers, b"{}", now=AT) == "msg_1"
    assert verify([new], headers, b"{}", now=AT) == "msg_1"
    with pytest.raises(InvalidSignature):
        verify([new_secret()], headers, b"{}", now=AT)


def test_secrets_and_ids_are_checked() -> None:
    assert len(secret_key(new_secret())) == 32
    for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_c2hvcnQ="):
        with pytest.raises(ValueError, match="webhook secret"):
            secret_key(bad)
    with pytest.raises(ValueError, match="event id"):
        sign(REFERENCE_SECRET, "msg.1", REFERENCE_TIME, b"")
    with pytest.raises(ValueError, match="at least one secret"):
        request_headers("msg_1", REFERENCE_TIME, b"", [])


@settings(max_examples=60, derandomize=True, deadline=None)
@given(body=st.binary(max_size=300), flip=st.integers(min_value=0, max_value=299))
def test_any_changed_byte_breaks_the_signature(body: bytes, flip: int) -> None:
    headers = request_headers("msg_x", REFERENCE_TIME, body, [REFERENCE_SECRET])
    assert verify(REFERENCE_SECRET, headers, body, now=AT) == "msg_x"
    if body:
        position = flip % len(body)
        changed = body[:position] + bytes([body[position] ^ 1]) + body[position + 1 :]
        with pytest.raises(InvalidSignature):
            verify(REFERENCE_SECRET, headers, changed, now=AT)
