"""Page tokens of keyset pagination (``store/cursors.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cxpulse.store.cursors import decode_cursor, encode_cursor
from cxpulse.store.errors import Invalid


def test_a_token_round_trips_in_utc() -> None:
    moment = datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    token = encode_cursor((moment, 42))
    assert token.isascii()
    assert "=" not in token
    assert "/" not in token
    assert "+" not in token
    again, last_id = decode_cursor(token)
    assert (again, last_id) == (moment, 42)
    assert again.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "token",
    ["junk", "", "é", "MjAyNA", encode_cursor((datetime(2024, 5, 1, tzinfo=UTC), 1))[:-3]],
    ids=["junk", "empty", "not-ascii", "not-a-cursor", "truncated"],
)
def test_tokens_not_given_out_are_refused(token: str) -> None:
    with pytest.raises(Invalid) as raised:
        decode_cursor(token)
    assert raised.value.field == "after"
