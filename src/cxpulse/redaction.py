"""Personal data out of free text: e-mail addresses, phone numbers, card numbers, IBANs and
national identity numbers are replaced by a placeholder naming what was there.

Customers write their phone number or card number into comments ("call me on 070-123 45
67"). Every page, export and analysis that shows a comment shows :func:`redact`'s text, and an
organisation may choose to store only that. The rules are checks, not guesses, wherever a
check exists, so that ordinary numbers survive ("order 12345", "5 stars", "2024-03-05",
"€19.99", "ticket #4821"):

- e-mail: ``local@domain.tld`` (any characters RFC 5322 allows unquoted in the local part);
- IBAN: country code, check digits and the rest, valid by the ISO 7064 check (stdnum.iban);
- card: 13 to 19 digits (spaces or dashes between groups) starting with 2-6, as the card
  networks' numbers do, passing the Luhn check (stdnum.luhn);
- personal id: a Swedish personnummer (date + four digits, Luhn; stdnum.se.personalid), and
  a Dutch BSN (the eleven-test; stdnum.nl.bsn). One nine-digit number in ten passes the
  eleven-test by chance, so a BSN is only taken when it is written in its official
  ``1234.56.782`` form or a cue word (BSN, burgerservicenummer, sofinummer, citizen service
  number) stands within :data:`BSN_CUE_DISTANCE` characters of it;
- phone: numbers that phonenumbers finds valid (``Leniency.VALID``) for the countries of the
  eight languages (GB, US, SE, NL, MK, DE, FR, ES, PT, BR) or in international form; a bare
  run of digits right after a reference word ("order", "pedido", "#" ...) is taken as that
  reference, not a phone.

The stages run in that order, each on the previous one's output, so a number is named once
(a Luhn-valid 16-digit number is a card, not a phone) and redacting twice changes nothing.
Speed: text without "@" and without digits (most comments) returns at once; phonenumbers, the
slow part, only sees digit runs that hold seven digits or more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn
from stdnum.nl import bsn
from stdnum.se import personalid

EMAIL = "email"
PHONE = "phone"
CARD = "card"
IBAN = "iban"
PERSONAL_ID = "personal id"
KINDS: tuple[str, ...] = (EMAIL, PHONE, CARD, IBAN, PERSONAL_ID)
"""What :attr:`Redacted.kinds` may hold; the placeholder of a kind is ``[kind]``."""

PHONE_REGIONS: tuple[str, ...] = ("GB", "US", "SE", "NL", "MK", "DE", "FR", "ES", "PT", "BR")
"""The countries of the eight languages, whose national number formats are tried."""

MIN_PHONE_DIGITS = 7
BSN_CUE_DISTANCE = 40


@dataclass(frozen=True)
class Redacted:
    text: str
    """The input with each piece of personal data replaced by ``[email]``, ``[phone]`` ..."""
    kinds: tuple[str, ...]
    """The kinds replaced, each once, in the order of :data:`KINDS`; empty when nothing was."""


def placeholder(kind: str) -> str:
    return f"[{kind}]"


_PLACEHOLDERS = tuple(placeholder(kind) for kind in KINDS)


def without_placeholders(text: str) -> str:
    """Redacted text as an analysis reads it: "[email]" is not the word e-mail, and comments
    that hold a phone number share no theme."""
    if "[" not in text:
        return text
    for mark in _PLACEHOLDERS:
        text = text.replace(mark, " ")
    return text


# Characters RFC 5322 allows in an unquoted local part (\w adds the letters of other scripts
# that internationalised addresses use). Addresses are found from each "@": the local part is
# read leftwards (a match on the reversed text), the domain rightwards, which keeps the work
# linear however long the text and however many dots it holds.
_ATEXT = r"\w!#$%&'*+/=?^`{|}~-"
_LOCAL_PART_REVERSED = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
_DOMAIN = re.compile(r"(?:[\w-]+\.)+[\w-]*[^\W\d_][\w-]*")
# Digits are ASCII digits from here on: the check-digit libraries expect them, and no number
# format of the eight languages' countries uses other digits.
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"(?<![\w.,])[0-9]+(?:[ -][0-9]+)*(?![\w]|[.,][0-9])")
_SWEDISH_ID = re.compile(r"(?<![\w.,+-])(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}(?![\w]|[.,][0-9])")
_BSN_DOTTED = re.compile(r"(?<![\w.])[0-9]{4}\.[0-9]{2}\.[0-9]{3}(?![\w]|\.[0-9])")
_BSN_PLAIN = re.compile(r"(?<![\w.,])[0-9]{8,9}(?![\w]|[.,][0-9])")
_BSN_CUE = re.compile(
    r"\b(?:bsn|burgerservicenummer|sofi-?nummer|citizen service number)\b", re.IGNORECASE
)
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?[0-9][0-9 \t().\-/]{5,30}[0-9]\)?(?!\w)")
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:order|orders|ordem|pedido|encomenda|bestelling|bestellung|bestellnummer|"
    r"commande|beställning|ordernummer|нарачка|ticket|invoice|factura|fatura|facture|"
    r"rechnung|faktura|ref|reference|case|nr|no|nº|n°|num)\b|#)\W{0,3}$",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"(?:[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{2,4})"
    r"(?:[ T][0-9]{1,2}[:.h][0-9]{2}(?::[0-9]{2})?)?"
)
"""A date (and time) that some region's phone plan would also accept: never a phone."""
_HAS_DIGIT = re.compile(r"[0-9]")
_DIGITS = re.compile(r"[0-9]+")
_NON_DIGITS = re.compile(r"[^0-9]+")

Span = tuple[int, int]


def redact(text: str) -> Redacted:
    """``text`` with personal data replaced; see the module docstring for the rules."""
    if "@" not in text and not _HAS_DIGIT.search(text):
        return Redacted(text, ())
    kinds: set[str] = set()
    # A replacement can expose what the first look could not see (in "a@b.c/@d.e" the second
    # address starts where the first one ended), so the stages run again until a pass finds
    # nothing: that is what makes redacting twice the same as redacting once. Every pass that
    # finds something removes an "@" or digits (placeholders hold neither), so it ends.
    found = True
    while found:
        found = False
        digits = _digit_count(text)
        for kind, find, min_digits in _STAGES:
            if digits < min_digits or (kind == EMAIL and "@" not in text):
                continue
            spans = _without_overlaps(find(text))
            if spans:
                text = _replace(text, spans, placeholder(kind))
                kinds.add(kind)
                digits = _digit_count(text)
                found = True
    return Redacted(text, tuple(kind for kind in KINDS if kind in kinds))


def _digit_count(text: str) -> int:
    return len(text) - len(_DIGITS.sub("", text))


def _replace(text: str, spans: list[Span], replacement: str) -> str:
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _without_overlaps(spans: Iterator[Span]) -> list[Span]:
    """Sorted spans, overlapping ones merged (two regions may find the same phone number
    with or without its area-code brackets)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _emails(text: str) -> Iterator[Span]:
    reversed_text = text[::-1]
    at = text.find("@")
    while at >= 0:
        local = _LOCAL_PART_REVERSED.match(reversed_text, len(text) - at)
        domain = _DOMAIN.match(text, at + 1)
        if local is not None and domain is not None:
            yield at - (local.end() - local.start()), domain.end()
        at = text.find("@", at + 1)


def _ibans(text: str) -> Iterator[Span]:
    for match in _IBAN.finditer(text):
        # The pattern may run on into the next word ("... 1643 00 thanks"): drop trailing
        # groups until the check passes.
        chunks = match.group().split(" ")
        for count in range(len(chunks), 0, -1):
            candidate = " ".join(chunks[:count])
            if len(candidate) < 15:
                break
            if iban.is_valid(candidate):
                yield match.start(), match.start() + len(candidate)
                break


def _cards(text: str) -> Iterator[Span]:
    for match in _DIGIT_RUN.finditer(text):
        run = match.group()
        digits = _NON_DIGITS.sub("", run)
        if len(digits) < 13:
            continue
        found = _card_in(run)
        if found is not None:
            yield match.start() + found[0], match.start() + found[1]


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn.is_valid(digits)


def _card_in(run: str) -> Span | None:
    """The first stretch of whole digit groups in ``run`` that is a card number (the longest
    one starting at that group)."""
    if _is_card(_NON_DIGITS.sub("", run)):
        return 0, len(run)
    groups = [(match.start(), match.end()) for match in re.finditer(r"[0-9]+", run)]
    for first, (start, _) in enumerate(groups):
        best: Span | None = None
        digits = ""
        # A card has at most 19 digits, so only a few groups from each start are tried.
        for group_start, group_end in groups[first:]:
            digits += run[group_start:group_end]
            if len(digits) > 19:
                break
            if _is_card(digits):
                best = (start, group_end)
        if best is not None:
            return best
    return None


def _personal_ids(text: str) -> Iterator[Span]:
    for match in _SWEDISH_ID.finditer(text):
        if personalid.is_valid(match.group()):
            yield match.span()
    for match in _BSN_DOTTED.finditer(text):
        if bsn.is_valid(match.group()):
            yield match.span()
    for match in _BSN_PLAIN.finditer(text):
        start, end = match.span()
        near = text[max(0, start - BSN_CUE_DISTANCE) : end + BSN_CUE_DISTANCE]
        if _BSN_CUE.search(near) and bsn.is_valid(match.group()):
            yield match.span()


def _phones(text: str) -> Iterator[Span]:
    for candidate in _PHONE_CANDIDATE.finditer(text):
        snippet = candidate.group()
        digits = len(_NON_DIGITS.sub("", snippet))
        if digits < MIN_PHONE_DIGITS:
            continue
        offset = candidate.start()
        # An international number reads the same from any region; a national one is tried
        # region by region until every digit of the snippet belongs to a number found.
        regions = PHONE_REGIONS[:1] if snippet.startswith(("+", "00")) else PHONE_REGIONS
        covered = 0
        for region in regions:
            for match in phonenumbers.PhoneNumberMatcher(
                snippet, region, leniency=phonenumbers.Leniency.VALID
            ):
                start, end = offset + match.start, offset + match.end
                if _is_reference(text, start, match.raw_string) or _DATE.fullmatch(
                    match.raw_string
                ):
                    continue
                covered = max(covered, len(_NON_DIGITS.sub("", match.raw_string)))
                yield start, end
            if covered >= digits:
                break


def _is_reference(text: str, start: int, raw: str) -> bool:
    """A plain run of digits right after "order", "pedido", "#" ... is that reference."""
    return raw.isdigit() and _REFERENCE_BEFORE.search(text, max(0, start - 20), start) is not None


_STAGES: tuple[tuple[str, Callable[[str], Iterator[Span]], int], ...] = (
    # (kind, finder, the fewest digits in the text that finder could need)
    (EMAIL, _emails, 0),
    (IBAN, _ibans, 8),
    (CARD, _cards, 13),
    (PERSONAL_ID, _personal_ids, 8),
    (PHONE, _phones, MIN_PHONE_DIGITS),
)
