"""The form tokens and form fields of ``cxpulse.web.survey_page_forms``."""

from __future__ import annotations

import time

import pytest

from cxpulse.web.survey_page_forms import FORM_TOKEN_SECONDS, FormTokens, field, form_tokens


def test_a_form_token_names_its_form_and_survey() -> None:
    tokens = FormTokens("key")
    first, second = tokens.issue(7), tokens.issue(7)
    assert tokens.verify(first, 7) != tokens.verify(second, 7)  # one nonce per form
    assert tokens.verify(first, 7) == tokens.verify(first, 7)
    with pytest.raises(ValueError, match="another survey"):
        tokens.verify(first, 8)


@pytest.mark.parametrize("token", [None, ""])
def test_a_missing_form_token_is_refused(token: str | None) -> None:
    with pytest.raises(ValueError, match="missing"):
        FormTokens("key").verify(token, 7)


def test_form_tokens_expire_and_need_our_key() -> None:
    tokens = FormTokens("key")
    issued = time.time()
    token = tokens.issue(7, now=issued)
    assert tokens.verify(token, 7, now=issued + FORM_TOKEN_SECONDS - 1)
    with pytest.raises(ValueError, match="expired"):
        tokens.verify(token, 7, now=issued + FORM_TOKEN_SECONDS + 1)
    with pytest.raises(ValueError, match="damaged"):
        FormTokens("another key").verify(token, 7)


def test_a_previous_key_still_verifies_while_the_new_one_signs() -> None:
    old = FormTokens("old key").issue(7)
    rotated = FormTokens("new key", previous_secret_keys=["old key"])
    assert rotated.verify(old, 7)
    with pytest.raises(ValueError, match="damaged"):
        FormTokens("old key").verify(rotated.issue(7), 7)


def test_form_tokens_are_made_once_per_key() -> None:
    assert form_tokens("key") is form_tokens("key")
    assert form_tokens("key") is not form_tokens("key", ("old",))


def test_the_last_value_of_a_field_counts() -> None:
    form = {"score": ["3", "9"], "comment": [""]}
    assert field(form, "score") == "9"
    assert field(form, "comment") == ""
    assert field(form, "lang") is None
