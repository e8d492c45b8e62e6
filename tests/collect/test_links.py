"""Signed, expiring link tokens of invitations."""

from __future__ import annotations

import pytest

from cxpulse.collect.links import LinkProblem, LinkSigner

NOW = 1_800_000_000.0


def test_round_trip() -> None:
    signer = LinkSigner("secret")
    token = signer.issue("answer", 42, 7, days=30, now=NOW)
    claims = signer.verify(token, "answer", now=NOW + 86_400)
    assert (claims.purpose, claims.invitation_id, claims.survey_id) == ("answer", 42, 7)
    assert claims.expires_at == int(NOW + 30 * 86_400)


def test_expired_is_told_apart_from_damaged() -> None:
    signer = LinkSigner("secret")
    token = signer.issue("answer", 1, 1, days=1, now=NOW)
    with pytest.raises(LinkProblem) as caught:
        signer.verify(token, "answer", now=NOW + 2 * 86_400)
    assert caught.value.expired


@pytest.mark.parametrize("change", ["flip", "other-key", "other-purpose", "garbage", "long"])
def test_tampered_tokens_are_refused(change: str) -> None:
    signer = LinkSigner("secret")
    token = signer.issue("answer", 1, 1, now=NOW)
    payload, _, signature = token.partition(".")
    if change == "flip":
        forged = LinkSigner("secret").issue("answer", 2, 1, now=NOW).split(".")[0] + "." + signature
        with pytest.raises(LinkProblem):
            signer.verify(forged, "answer", now=NOW)
    elif change == "other-key":
        with pytest.raises(LinkProblem):
            LinkSigner("another").verify(token, "answer", now=NOW)
    elif change == "other-purpose":
        with pytest.raises(LinkProblem):
            signer.verify(token, "unsubscribe", now=NOW)
    elif change == "garbage":
        with pytest.raises(LinkProblem) as caught:
            signer.verify("not-a-token", "answer", now=NOW)
        assert not caught.value.expired
    else:
        with pytest.raises(LinkProblem):
            signer.verify(payload + "." + "A" * 300, "answer", now=NOW)


def test_a_token_with_non_ascii_characters_is_damaged_not_a_crash() -> None:
    signer = LinkSigner("secret")
    payload = signer.issue("answer", 1, 1, now=NOW).partition(".")[0]
    for token in (f"{payload}.é", "abc.é", "é.abc"):
        with pytest.raises(LinkProblem) as caught:
            signer.verify(token, "answer", now=NOW)
        assert not caught.value.expired


def test_links_sent_before_a_key_rotation_keep_working() -> None:
    sent = LinkSigner("old secret").issue("unsubscribe", 3, 4, now=NOW)
    rotated = LinkSigner("new secret", previous_secret_keys=["old secret"])
    assert rotated.verify(sent, "unsubscribe", now=NOW).invitation_id == 3
    fresh = rotated.issue("unsubscribe", 3, 4, now=NOW)
    assert LinkSigner("new secret").verify(fresh, "unsubscribe", now=NOW).survey_id == 4
    with pytest.raises(LinkProblem):
        LinkSigner("old secret").verify(fresh, "unsubscribe", now=NOW)
    with pytest.raises(LinkProblem):
        LinkSigner("new secret").verify(sent, "unsubscribe", now=NOW)
