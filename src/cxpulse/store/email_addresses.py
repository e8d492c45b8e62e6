"""Email addresses: the one rule every door applies (contacts, users, schedules, invitations,
unsubscribes)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from cxpulse.store._values import text
from cxpulse.store.errors import Invalid

MAX_EMAIL_LENGTH = 320


def email_problem(address: str) -> str | None:
    """Why ``address`` cannot be emailed, or None when it can.

    Strict on purpose: the address goes into the To header, so a control character or line
    break would let it add headers or body text, and we send without SMTPUTF8, so non-ASCII
    addresses could not be delivered anyway (an international domain is accepted in its
    ASCII form, ``xn--...``). The shape checks below give the messages people meet most;
    email-validator then checks the rest of the syntax (``a..b@x.com``, ``a@-x.com``, reserved
    names such as ``.invalid`` or ``.local``; ``.test`` stays allowed for test set-ups).
    """
    if len(address) > MAX_EMAIL_LENGTH:
        return f"is {len(address)} characters long; at most {MAX_EMAIL_LENGTH} are allowed"
    local, at, domain = address.partition("@")
    if any(_unsafe(c) for c in address):
        # Only letters beyond ASCII in the domain: say how to write it instead.
        if (
            at
            and not any(_unsafe(c) for c in local)
            and not any(ord(c) < 0x80 and _unsafe(c) for c in domain)
        ):
            ascii_domain = _ascii_domain(domain)
            if ascii_domain is not None:
                return f"needs its domain in ASCII form: {local}@{ascii_domain}"
        return "may hold only ASCII letters, digits and punctuation (no spaces or line breaks)"
    if not at or "@" in domain:
        return "needs exactly one @"
    if not local:
        return "needs a name before the @"
    if "." not in domain or domain.startswith(".") or domain.endswith("."):
        return "needs a domain with a dot after the @, such as example.com"
    try:
        validate_email(
            address,
            check_deliverability=False,
            allow_smtputf8=False,
            test_environment=True,
        )
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        return f"is not a valid address: {reason[:1].lower()}{reason[1:]}"
    return None


def _unsafe(character: str) -> bool:
    """A space, control character or non-ASCII character: not for a header we send."""
    return ord(character) <= 0x20 or ord(character) >= 0x7F


def _ascii_domain(domain: str) -> str | None:
    """The ASCII (IDNA) form of an international domain name, or None when it has none."""
    try:
        checked = validate_email("x@" + domain, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None
    return checked.ascii_domain


def email(field: str, value: str | None, *, index: int | None = None) -> str | None:
    """A trimmed email address that is safe to put in a header; empty means absent."""
    address = text(field, value, MAX_EMAIL_LENGTH, index=index)
    if address is None:
        return None
    problem = email_problem(address)
    if problem is not None:
        raise Invalid(field, problem, index=index)
    return address
