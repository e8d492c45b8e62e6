"""Email addresses: the one rule every door applies (contacts, users, report schedules,
invitations, unsubscribes), and the one canonical form they are stored, matched and throttled
on.

The canonical form of an address is what is left once the differences that do not change
where mail goes, or that only a look-alike would make, are taken out:

- Unicode NFKC normalisation, so that composed and decomposed accents (NFC and NFD) and
  fullwidth or other compatibility forms (``ａｎａ@ｘ.test``, ``ana＠x.test``) become one;
- case folded in the local part and the domain (``Ana@X.test`` is ``ana@x.test``; nearly
  every mail server ignores case, and two contacts differing only in case are one person);
- an international domain in its ASCII form (``bücher.de`` is ``xn--bcher-kva.de``), the
  form mail is sent to;
- invisible and control characters (U+200B, U+200E, U+FEFF, NUL, line breaks ...) refused,
  never silently dropped: they are how look-alikes are made and how headers are injected.

The local part must be ASCII once normalised: cxpulse sends without SMTPUTF8, so a mailbox
name in other letters could not be delivered. ``+tags`` and dots are kept: they can name
different mailboxes.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from email_validator import EmailNotValidError, validate_email

from cxpulse.store._values import text
from cxpulse.store.errors import Invalid

MAX_EMAIL_LENGTH = 320

_EDGE_SPACE: Final = " \t\r\n"
"""Trimmed from both ends before anything else, as every text field is."""

_DEFAULT_IGNORABLE: Final = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
"""Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt): characters
that show nothing, such as zero-width spaces and joiners, direction marks, variation
selectors and Hangul fillers. Some are letters or marks to Python, so the general category
alone would let them through."""

_INVISIBLE_CATEGORIES: Final = frozenset({"Cf", "Co", "Cn", "Cs", "Zl", "Zp"})
"""Format characters, private use, unassigned, surrogates, line and paragraph separators."""


class EmailRefused(ValueError):
    """An address that has no canonical form; ``reason`` says why, for the person who typed
    it (prefix it with the field's name)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical_email(address: str) -> str:
    """The canonical form of ``address`` (see the module's docstring); ``EmailRefused``
    when it has none. Idempotent: the canonical form of a canonical form is itself."""
    if not isinstance(address, str):
        raise EmailRefused(f"must be text, not {type(address).__name__}")
    trimmed = address.strip(_EDGE_SPACE)
    if not trimmed:
        raise EmailRefused("is blank; give an address such as ana@example.com")
    if len(trimmed) > MAX_EMAIL_LENGTH:
        raise EmailRefused(
            f"is {len(trimmed)} characters long; at most {MAX_EMAIL_LENGTH} are allowed"
        )
    # Positions as typed; spaces only once normalised and trimmed, since NFKC turns a
    # no-break or ideographic space copied along with an address into a plain one.
    _refuse_hidden(trimmed, spaces=False)
    folded = unicodedata.normalize("NFKC", trimmed).strip(_EDGE_SPACE)
    _refuse_hidden(folded, spaces=True)
    local, at, domain = folded.partition("@")
    if not at or "@" in domain:
        raise EmailRefused("needs exactly one @, as in ana@example.com")
    if not local:
        raise EmailRefused("needs a name before the @, as in ana@example.com")
    if not local.isascii():
        raise EmailRefused(
            "may hold only ASCII letters, digits and punctuation before the @ "
            "(mail cannot be sent to other letters there)"
        )
    if "." not in domain or domain.startswith(".") or domain.endswith("."):
        raise EmailRefused("needs a domain with a dot after the @, such as example.com")
    try:
        checked = validate_email(
            folded,
            check_deliverability=False,
            allow_smtputf8=False,
            # ``.test`` stays allowed for test set-ups with a local SMTP server.
            test_environment=True,
        )
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise EmailRefused(f"is not a valid address: {reason[:1].lower()}{reason[1:]}") from None
    canonical = f"{checked.local_part}@{checked.ascii_domain}".lower()
    if len(canonical) > MAX_EMAIL_LENGTH:  # an ASCII domain can be longer than its letters
        raise EmailRefused(
            f"is {len(canonical)} characters long with its domain in ASCII; "
            f"at most {MAX_EMAIL_LENGTH} are allowed"
        )
    return canonical


def _refuse_hidden(value: str, *, spaces: bool) -> None:
    """``EmailRefused`` naming the first control or invisible character (or, with
    ``spaces``, space)."""
    for position, character in enumerate(value, start=1):
        code = ord(character)
        category = unicodedata.category(character)
        if category == "Cc":
            raise EmailRefused(
                f"holds the control character U+{code:04X} at position {position}; remove it"
            )
        if category in _INVISIBLE_CATEGORIES or _ignorable(code):
            name = unicodedata.name(character, "").lower()
            shown = f"U+{code:04X} {name}" if name else f"U+{code:04X}"
            raise EmailRefused(
                f"holds an invisible character ({shown}) at position {position}; "
                "type the address again without it"
            )
        if spaces and category == "Zs":
            raise EmailRefused(f"holds a space at position {position}; an address has none")


def _ignorable(code: int) -> bool:
    return any(low <= code <= high for low, high in _DEFAULT_IGNORABLE)


def email_problem(address: str) -> str | None:
    """Why ``address`` has no canonical form (so cannot be stored or emailed), or None."""
    try:
        canonical_email(address)
    except EmailRefused as refused:
        return refused.reason
    return None


def lookup_email(address: object) -> str | None:
    """The canonical form to look ``address`` up by, or None when it has none (then it
    matches nothing: every stored address is canonical). Never raises, for lookups such as
    a login, where a malformed address is simply nobody's."""
    if not isinstance(address, str):
        return None
    try:
        return canonical_email(address)
    except EmailRefused:
        return None


def lookup_key(address: str) -> str:
    """``lookup_email``, else the trimmed, case-folded text: a key that is the same for
    every spelling of one address, for counting things per address (login failures, say)
    whether or not the address is valid."""
    return lookup_email(address) or address.strip().casefold()


def email(field: str, value: str | None, *, index: int | None = None) -> str | None:
    """The canonical form of ``value``; blank or None means absent (None); ``Invalid``
    naming ``field`` (and ``index`` in a batch) when it has none."""
    address = text(field, value, MAX_EMAIL_LENGTH, index=index)
    if address is None:
        return None
    try:
        return canonical_email(address)
    except EmailRefused as refused:
        raise Invalid(field, refused.reason, index=index) from None


def required_email(field: str, value: str, *, index: int | None = None) -> str:
    """``email``, for a field that must hold an address."""
    address = email(field, value, index=index)
    if address is None:
        raise Invalid(field, "is required; give an address such as ana@example.com", index=index)
    return address
