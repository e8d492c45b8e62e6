"""The one rule for email addresses."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from cxpulse.store import contacts, email_addresses
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Organisation

# -- email -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "ann@example.com",
        "first.last+tag@mail.example.com",
        "o'brien@example.ie",
        "a!#$%&*=?^_`{|}~-@example.com",
        "ANN@Example.COM",
        "ann@acme.example",
        "ann@acme.test",  # test set-ups with a local SMTP server
        "user@xn--bcher-kva.de",  # an international domain in its ASCII form
        "a@x.c",
    ],
)
def test_addresses_that_are_accepted(address: str) -> None:
    assert email_addresses.email_problem(address) is None
    assert email_addresses.email("email", f"  {address} ") == address


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("a..b@x.com", "is not a valid address: an email address cannot have two periods in a row"),
        (".a@x.com", "is not a valid address: an email address cannot start with a period"),
        ("a.@x.com", "is not a valid address"),
        ("a@x..com", "is not a valid address: an email address cannot have two periods in a row"),
        ("a@-x.com", "is not a valid address"),
        ("a@x.invalid", "is not a valid address: the part after the @-sign is a special-use"),
        ("a@x.local", "is not a valid address"),
        ("a@[127.0.0.1]", "is not a valid address"),
        ("a@x", "needs a domain with a dot after the @, such as example.com"),
        ("a@localhost", "needs a domain with a dot after the @, such as example.com"),
        ("a@.x.com", "needs a domain with a dot after the @, such as example.com"),
        ("a@x.com.", "needs a domain with a dot after the @, such as example.com"),
        ("@x.com", "needs a name before the @"),
        ("ax.com", "needs exactly one @"),
        ("a@b@x.com", "needs exactly one @"),
        ("a@x.com\r\nBcc: b@y.com", "may hold only ASCII letters, digits and punctuation"),
        ("a@x.com\nBcc:b@y.com", "may hold only ASCII letters, digits and punctuation"),
        ("a\r@x.com", "may hold only ASCII letters, digits and punctuation"),
        ("a b@x.com", "may hold only ASCII letters, digits and punctuation"),
        ("del\x7f@x.com", "may hold only ASCII letters, digits and punctuation"),
        ("åsa@exempel.se", "may hold only ASCII letters, digits and punctuation"),
        ("user@bücher.de", "needs its domain in ASCII form: user@xn--bcher-kva.de"),
        ("a@" + "b" * 320 + ".se", "is 325 characters long; at most 320 are allowed"),
        ("a@" + "b" * 300 + ".se", "is not a valid address: the email address is too long"),
    ],
)
def test_addresses_that_are_refused_say_why(address: str, problem: str) -> None:
    found = email_addresses.email_problem(address)
    assert found is not None
    assert found.startswith(problem), found
    with pytest.raises(Invalid) as refused:
        email_addresses.email("email", address, index=1)
    assert (refused.value.field, refused.value.message, refused.value.index) == (
        "email",
        found,
        1,
    )


def test_blank_email_means_absent() -> None:
    assert email_addresses.email("email", None) is None
    assert email_addresses.email("email", "   ") is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable + "åü\x00\x7f@.", max_size=40))
def test_an_accepted_address_is_safe_in_a_header(address: str) -> None:
    if email_addresses.email_problem(address) is None:
        assert address.isascii()
        assert address.isprintable()
        assert not any(c.isspace() for c in address)
        local, _, domain = address.partition("@")
        assert local
        assert "." in domain
        assert "@" not in domain
        assert ".." not in address
        assert not local.startswith(".")
        assert not local.endswith(".")


_ATOM = st.text(alphabet=string.ascii_lowercase + string.digits + "+_-", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_ATOM, min_size=1, max_size=3),
    st.lists(st.from_regex(r"[a-z0-9]{1,4}(-[a-z0-9]{1,4})?", fullmatch=True), max_size=2),
    st.sampled_from(["com", "se", "mk", "example", "io"]),
)
def test_dot_atoms_are_accepted_and_a_doubled_dot_is_not(
    locals_: list[str], labels: list[str], top: str
) -> None:
    domain = ".".join([*labels, "host", top])
    local = ".".join(locals_)
    assert email_addresses.email_problem(f"{local}@{domain}") is None
    assert email_addresses.email_problem(f"{local}..x@{domain}") is not None
    assert email_addresses.email_problem(f"{local}@x..{domain}") is not None
    assert email_addresses.email_problem(f"{local}@{domain}\r\nBcc: x@{domain}") is not None


@pytest.mark.parametrize("address", ["a..b@x.com", ".a@x.com", "a@x..com", "a@x"])
def test_contacts_refuse_malformed_addresses_on_every_path(
    session: Session, org: Organisation, address: str
) -> None:
    """The store's contacts use the same check, so the API, pages and CSV imports agree."""
    with pytest.raises(Invalid, match=r"^email: "):
        contacts.create_contact(session, org.id, email=address)
    with pytest.raises(Invalid, match=r"^email: "):
        contacts.upsert_contact(session, org.id, "crm-1", email=address)
