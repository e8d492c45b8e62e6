"""The one rule for email addresses."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from cxpulse.store import contacts, email_addresses
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Organisation

# -- email -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "canonical"),
    [
        ("ann@example.com", "ann@example.com"),
        ("first.last+tag@mail.example.com", "first.last+tag@mail.example.com"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("a!#$%&*=?^_`{|}~-@example.com", "a!#$%&*=?^_`{|}~-@example.com"),
        ("ANN@Example.COM", "ann@example.com"),
        ("ann@acme.example", "ann@acme.example"),
        ("ann@acme.test", "ann@acme.test"),  # test set-ups with a local SMTP server
        ("user@xn--bcher-kva.de", "user@xn--bcher-kva.de"),
        ("a@x.c", "a@x.c"),
        # An international domain is stored in its ASCII form, whichever way it was typed.
        ("user@bücher.de", "user@xn--bcher-kva.de"),
        ("User@BÜCHER.de", "user@xn--bcher-kva.de"),
        ("user@bu\u0308cher.de", "user@xn--bcher-kva.de"),  # NFD: u + combining diaeresis
        # Compatibility forms are the letters they stand for.
        ("\uff41\uff4e\uff4e@\uff58.test", "ann@x.test"),  # fullwidth
        ("ann\uff20x.test", "ann@x.test"),  # fullwidth @
        ("\u212aim@x.test", "kim@x.test"),  # KELVIN SIGN
        # Spaces copied along with an address (no-break, ideographic) are trimmed.
        ("\u00a0ann@x.test\u3000", "ann@x.test"),
    ],
)
def test_addresses_that_are_accepted_in_their_canonical_form(address: str, canonical: str) -> None:
    assert email_addresses.email_problem(address) is None
    assert email_addresses.canonical_email(address) == canonical
    assert email_addresses.email("email", f"  {address} ") == canonical
    assert email_addresses.lookup_email(address) == canonical


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
        ('"a b"@x.com', "holds a space at position 3"),
        ('"ab"@x.com', "is not a valid address"),
        ("a@x.com\r\nBcc: b@y.com", "holds the control character U+000D at position 8"),
        ("a@x.com\nBcc:b@y.com", "holds the control character U+000A at position 8"),
        ("a\r@x.com", "holds the control character U+000D at position 2"),
        ("a\x00@x.com", "holds the control character U+0000 at position 2"),
        ("a\x01@x.com", "holds the control character U+0001 at position 2"),
        ("del\x7f@x.com", "holds the control character U+007F at position 4"),
        ("a b@x.com", "holds a space at position 2; an address has none"),
        ("a\u00a0b@x.com", "holds a space at position 2"),
        ("åsa@exempel.se", "may hold only ASCII letters, digits and punctuation before the @"),
        ("ев@x.test", "may hold only ASCII letters, digits and punctuation before the @"),
        ("a@" + "b" * 320 + ".se", "is 325 characters long; at most 320 are allowed"),
        ("a@" + "b" * 300 + ".se", "is not a valid address: the email address is too long"),
    ],
)
def test_addresses_that_are_refused_say_why(address: str, problem: str) -> None:
    found = email_addresses.email_problem(address)
    assert found is not None
    assert found.startswith(problem), found
    assert email_addresses.lookup_email(address) is None
    with pytest.raises(Invalid) as refused:
        email_addresses.email("email", address, index=1)
    assert refused.value.field == "email"
    assert refused.value.index == 1
    # The text rule every field shares may say it first, in the same words.
    assert refused.value.message in (found, found.partition(";")[0] + "; remove it")


@pytest.mark.parametrize(
    ("character", "name"),
    [
        ("\u200b", "zero width space"),
        ("\u200c", "zero width non-joiner"),
        ("\u200d", "zero width joiner"),
        ("\u200e", "left-to-right mark"),
        ("\u200f", "right-to-left mark"),
        ("\u202e", "right-to-left override"),
        ("\u2060", "word joiner"),
        ("\u2066", "left-to-right isolate"),
        ("\ufeff", "zero width no-break space"),
        ("\u00ad", "soft hyphen"),
        ("\u034f", "combining grapheme joiner"),
        ("\u3164", "hangul filler"),
        ("\ufe0f", "variation selector-16"),
        ("\U000e0041", "tag latin capital letter a"),
        ("\u2028", "line separator"),
        ("\ue000", ""),  # private use: no name
    ],
)
def test_invisible_characters_are_refused_by_name_wherever_they_are(
    character: str, name: str
) -> None:
    """Look-alikes of an address are made of these: refused, never silently dropped."""
    code = f"U+{ord(character):04X}"
    for address, position in [
        (f"{character}ann@x.test", 1),
        (f"an{character}n@x.test", 3),
        (f"ann@x{character}.test", 6),
        (f"ann@x.test{character}", 11),
    ]:
        problem = email_addresses.email_problem(address)
        assert problem is not None, address
        shown = f"{code} {name}" if name else code
        assert problem == (
            f"holds an invisible character ({shown}) at position {position}; "
            "type the address again without it"
        )


def test_look_alikes_of_one_address_are_one_address() -> None:
    """Defect 5: case, NFC and NFD, fullwidth letters: one canonical form."""
    spellings = [
        "Throttle@A.test",
        "throttle@a.test",
        "THROTTLE@a.test",
        "\uff34hrottle@\uff41.test",
        "throttle\uff20a.test",
    ]
    assert {email_addresses.canonical_email(s) for s in spellings} == {"throttle@a.test"}
    assert {
        email_addresses.canonical_email(s)
        for s in ["jose@caf\u00e9.test", "jose@cafe\u0301.test", "JOSE@CAF\u00c9.test"]
    } == {"jose@xn--caf-dma.test"}


def test_blank_email_means_absent() -> None:
    assert email_addresses.email("email", None) is None
    assert email_addresses.email("email", "   ") is None
    with pytest.raises(Invalid, match=r"^email: is required"):
        email_addresses.required_email("email", "  ")


def test_lookups_never_raise_and_keys_are_one_per_address() -> None:
    assert email_addresses.lookup_email(None) is None
    assert email_addresses.lookup_email(42) is None
    assert email_addresses.lookup_email("not an address") is None
    assert email_addresses.lookup_key(" Ann@X.test ") == email_addresses.lookup_key("ann@x.test")
    assert email_addresses.lookup_key(" NOT an Address ") == "not an address"


_HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from(string.printable + "åüÉ\x00\x01\x7f@.@＠．"),
        st.sampled_from("\u200b\u200e\u202e\ufeff\u00a0\u3000\u0301\u3164\uff21\uff41"),
        st.characters(),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_HOSTILE)
def test_a_canonical_address_is_safe_in_a_header_and_its_own_canonical_form(
    address: str,
) -> None:
    canonical = email_addresses.lookup_email(address)
    if canonical is None:
        assert email_addresses.email_problem(address) is not None
        return
    assert email_addresses.canonical_email(canonical) == canonical  # idempotent
    assert email_addresses.email_problem(canonical) is None
    assert canonical.isascii()
    assert canonical.isprintable()
    assert canonical == canonical.lower()
    assert not any(c.isspace() for c in canonical)
    local, _, domain = canonical.partition("@")
    assert local
    assert "." in domain
    assert "@" not in domain
    assert ".." not in canonical
    assert not local.startswith(".")
    assert not local.endswith(".")


_ATOM = st.text(alphabet=string.ascii_lowercase + string.digits + "+_-", min_size=1, max_size=8)
_DOMAIN = st.builds(
    lambda labels, top: ".".join([*labels, "host", top]),
    st.lists(st.from_regex(r"[a-z0-9]{1,4}(-[a-z0-9]{1,4})?", fullmatch=True), max_size=2),
    st.sampled_from(["com", "se", "mk", "example", "io", "test"]),
)
_FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@st.composite
def _spelling(draw: st.DrawFn, address: str) -> str:
    """Another way to write ``address``: each character in either case, fullwidth or not."""
    out = []
    for character in address:
        if character.isalpha() and draw(st.booleans()):
            character = character.upper()
        if draw(st.booleans()):
            character = _FULLWIDTH.get(character, character)
        out.append(character)
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ATOM, min_size=1, max_size=3), _DOMAIN, st.data())
def test_look_alikes_collapse_or_are_refused(
    locals_: list[str], domain: str, data: st.DataObject
) -> None:
    address = f"{'.'.join(locals_)}@{domain}"
    assert email_addresses.canonical_email(address) == address
    spelling = data.draw(_spelling(address))
    assert email_addresses.canonical_email(spelling) == address
    hidden = data.draw(st.sampled_from(["\u200b", "\u200e", "\u2060", "\ufeff", "\u00ad"]))
    at = data.draw(st.integers(0, len(spelling)))
    assert email_addresses.lookup_email(spelling[:at] + hidden + spelling[at:]) is None
    assert email_addresses.canonical_email(unicodedata.normalize("NFD", spelling)) == address


@settings(max_examples=200, deadline=None)
@given(st.lists(_ATOM, min_size=1, max_size=3), _DOMAIN)
def test_dot_atoms_are_accepted_and_a_doubled_dot_is_not(locals_: list[str], domain: str) -> None:
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
