"""A refused form as its page shows it again: the message by its field, the values as
posted, and 409 for a taken value, 422 for any other."""

from __future__ import annotations

from starlette.datastructures import FormData

from cxpulse.store.errors import Conflict, Invalid
from cxpulse.web.routes.form_refusals import NO_REFUSAL, Refusal, refused


def test_nothing_refused_is_the_page_as_it_is() -> None:
    assert (NO_REFUSAL.errors, NO_REFUSAL.form, NO_REFUSAL.status_code) == ({}, None, 200)


def test_an_invalid_value_is_a_422_with_its_message_by_its_field() -> None:
    form = FormData([("name", "typed")])
    made = refused(Invalid("name", "is required"), form)
    assert made == Refusal({"name": "is required"}, form, 422)


def test_a_taken_value_is_a_409_and_the_message_may_stand_by_another_name() -> None:
    made = refused(Conflict("email", "is taken"), name="email-7")
    assert made == Refusal({"email-7": "is taken"}, None, 409)
