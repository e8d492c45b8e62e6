"""Changing an organisation's settings and reading its branding: the one place the settings
page (``/app/settings``) and ``PATCH /api/v1/organisation`` write them through.

``apply_change`` checks every field of a ``SettingsChange`` first (``organisation_checks``,
``email_addresses``, ``logo_images``) and reports every refused field at once
(``InvalidSettings``), so a form can show each message by its field; only then does it write.
It returns what changed, ``{"field": {"from": old, "to": new}}``, for the audit log. The
throttle is collect's rule (``collect.invitation_throttling``); ``collect.organisation_changes``
applies both.

The branding is read without the logo's bytes where they are not needed (``brand_of``), and
the logo alone by the organisation's slug for ``/brand/{slug}/logo`` (``logo_of``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cxpulse.store import comment_analyses, email_addresses, logo_images
from cxpulse.store import organisation_checks as checks
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation


class InvalidSettings(Invalid):
    """One or more refused fields: ``problems`` maps each field to its message."""

    def __init__(self, problems: dict[str, str]) -> None:
        field, message = next(iter(problems.items()))
        super().__init__(field, message)
        self.problems = problems


@dataclass(frozen=True)
class SettingsChange:
    """The settings to change; None leaves a field as it is. An empty text clears an optional
    field (industry, sender name, reply-to, accent colour); ``remove_logo`` removes the logo
    (a new ``logo`` wins over it)."""

    name: str | None = None
    default_language: str | None = None
    industry: str | None = None
    redact_comments: bool | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    accent_colour: str | None = None
    logo: bytes | None = None
    remove_logo: bool = False


_TEXT_FIELDS = ("name", "default_language", "industry", "sender_name", "reply_to", "accent_colour")


def _checked(change: SettingsChange) -> tuple[dict[str, object], logo_images.Logo | None]:
    """The new values of the fields that are sent, checked; ``InvalidSettings`` otherwise."""
    rules = {
        "name": checks.name,
        "default_language": checks.language,
        "industry": checks.industry,
        "sender_name": checks.sender_name,
        "reply_to": lambda value: email_addresses.email("reply_to", value),
        "accent_colour": checks.accent_colour,
    }
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    for field in _TEXT_FIELDS:
        given = getattr(change, field)
        if given is None:
            continue
        try:
            values[field] = rules[field](given)
        except Invalid as error:
            problems[field] = error.message
    logo = None
    if change.logo is not None:
        try:
            logo = logo_images.check_logo(change.logo)
        except Invalid as error:
            problems["logo"] = error.message
    if problems:
        raise InvalidSettings(problems)
    return values, logo


def apply_change(
    session: Session, organisation_id: int, change: SettingsChange
) -> dict[str, dict[str, object]]:
    """Write ``change`` (every field checked first); what changed, for the audit log."""
    values, logo = _checked(change)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation", organisation_id)
    details: dict[str, dict[str, object]] = {}
    for field, new in values.items():
        old = getattr(organisation, field)
        if old != new:
            details[field] = {"from": old, "to": new}
            setattr(organisation, field, new)
    if change.redact_comments is not None and change.redact_comments != (
        organisation.redact_comments
    ):
        details["redact_comments"] = {
            "from": organisation.redact_comments,
            "to": change.redact_comments,
        }
        comment_analyses.set_redact_comments(session, organisation_id, change.redact_comments)
    if logo is not None:
        details["logo"] = {
            "from": organisation.logo_type,
            "to": logo.media_type,
            "bytes": len(logo.data),
            "pixels": f"{logo.width}x{logo.height}",
        }
        organisation.logo, organisation.logo_type = logo.data, logo.media_type
    elif change.remove_logo and organisation.logo is not None:
        details["logo"] = {"from": organisation.logo_type, "to": None}
        organisation.logo = organisation.logo_type = None
    session.flush()
    return details


# -- reading the branding ----------------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    """What pages need of an organisation's branding, without the logo's bytes."""

    slug: str
    name: str
    accent_colour: str | None
    has_logo: bool


def _brand(session: Session, condition: ColumnElement[bool]) -> Brand | None:
    row = session.execute(
        select(
            Organisation.slug,
            Organisation.name,
            Organisation.accent_colour,
            Organisation.logo_type,
        ).where(condition)
    ).first()
    if row is None:
        return None
    return Brand(row.slug, row.name, row.accent_colour, row.logo_type is not None)


def brand_of(session: Session, slug: str) -> Brand | None:
    """The branding of the organisation ``slug``; None when there is no such organisation."""
    return _brand(session, Organisation.slug == slug)


def brand_by_id(session: Session, organisation_id: int) -> Brand | None:
    """The branding of organisation ``organisation_id`` (for survey pages, which know the
    survey's organisation by id); None when there is none."""
    return _brand(session, Organisation.id == organisation_id)


@dataclass(frozen=True)
class StoredLogo:
    data: bytes
    media_type: str

    @property
    def version(self) -> str:
        """A short hash of the bytes: changes with the logo (ETags, ``?v=`` in URLs)."""
        return logo_version(self.data)


def logo_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def logo_of(session: Session, slug: str) -> StoredLogo | None:
    """The logo of the organisation ``slug``; None when it has none (or does not exist)."""
    row = session.execute(
        select(Organisation.logo, Organisation.logo_type).where(Organisation.slug == slug)
    ).first()
    if row is None or row.logo is None or row.logo_type not in logo_images.TYPES:
        return None
    return StoredLogo(bytes(row.logo), row.logo_type)
