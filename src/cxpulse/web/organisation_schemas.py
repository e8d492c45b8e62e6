"""The bodies of ``GET`` and ``PATCH /api/v1/organisation``: the organisation's settings,
branding and email sender included.

Only the shapes are checked here (types, lengths); the rules (an ACSI industry, a language
cxpulse speaks, a ``#rrggbb`` colour, one email rule, a PNG, JPEG or WebP logo) are the
store's (``store.organisation_settings``), which the settings page applies too, so both
refuse a value with the same words.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from cxpulse.store import logo_images
from cxpulse.store import organisation_checks as checks
from cxpulse.store.models import Organisation
from cxpulse.store.organisation_settings import SettingsChange, logo_version
from cxpulse.web.errors import FieldErrors
from cxpulse.web.schemas import Body

OrganisationThrottleDays = Annotated[int, Field(strict=True, ge=0, le=3650)]
MAX_LOGO_TEXT = (logo_images.MAX_LOGO_BYTES * 4) // 3 + 8
"""The longest base64 text of a logo of the largest size allowed (a little room for padding)."""


class OrganisationSettings(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    slug: str
    name: str
    throttle_days: int = Field(
        description="Least days between two invitations to one contact, across all surveys, "
        "unless a survey sets its own; 0: no throttling."
    )
    redact_comments: bool = Field(
        description="Comments are stored with personal data (e-mail addresses, phone, card "
        "and personal id numbers, IBANs) replaced, not only shown so."
    )
    default_language: str = Field(
        description="The language new surveys start in and emails fall back to."
    )
    industry: str | None = Field(
        description="The ACSI industry the dashboard and the monthly report compare CSAT with."
    )
    sender_name: str | None = Field(
        description="The name emails come from (the address is the server's "
        "CXPULSE_MAIL_FROM); null: the organisation's name."
    )
    reply_to: str | None = Field(description="Where customers' replies to emails go.")
    accent_colour: str | None = Field(
        description="#rrggbb of buttons and links on survey pages, the widget and emails."
    )
    accent_contrast: float | None = Field(
        description="The accent colour's WCAG contrast ratio with white text and the white "
        "page (the lower of the two), rounded to 2 decimals."
    )
    accent_warning: str | None = Field(
        description="Why the accent colour is hard to read (contrast below 4.5:1), or null."
    )
    logo_url: str | None = Field(
        description="Path of the logo (public, cached: its `v` changes with the logo)."
    )
    logo_type: str | None = Field(description="image/png, image/jpeg or image/webp.")

    @classmethod
    def of(cls, organisation: Organisation) -> OrganisationSettings:
        colour = organisation.accent_colour
        measured = checks.contrast(colour) if colour else None
        logo_url = None
        if organisation.logo and organisation.logo_type:
            version = logo_version(organisation.logo)
            logo_url = f"/brand/{organisation.slug}/logo?v={version}"
        return cls(
            id=organisation.id,
            slug=organisation.slug,
            name=organisation.name,
            throttle_days=organisation.throttle_days,
            redact_comments=organisation.redact_comments,
            default_language=organisation.default_language,
            industry=organisation.industry,
            sender_name=organisation.sender_name,
            reply_to=organisation.reply_to,
            accent_colour=colour,
            accent_contrast=round(min(measured.with_white_text, measured.on_background), 2)
            if measured
            else None,
            accent_warning=measured.warning if measured else None,
            logo_url=logo_url,
            logo_type=organisation.logo_type if logo_url else None,
        )


_CLEARS = "An empty text clears it; not sent, or null: unchanged."


class OrganisationUpdate(Body):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")
    throttle_days: OrganisationThrottleDays | None = Field(
        None,
        description="0 to 3650; 0 turns throttling off for surveys without their own. "
        "Not sent, or null: unchanged.",
    )
    redact_comments: StrictBool | None = Field(
        None,
        description="true: comments are stored redacted from now on, and those stored before "
        "are redacted in the background; false: new comments are stored as written (those "
        "redacted stay so). Not sent, or null: unchanged.",
    )
    name: StrictStr | None = Field(
        None, max_length=checks.MAX_NAME_LENGTH, description="Not sent, or null: unchanged."
    )
    default_language: StrictStr | None = Field(
        None,
        max_length=35,
        description="One of en, sv, nl, mk, de, fr, es, pt. Not sent, or null: unchanged.",
    )
    industry: StrictStr | None = Field(
        None,
        max_length=checks.MAX_INDUSTRY_LENGTH,
        description="An ACSI industry name, as `cxpulse benchmark` lists them. " + _CLEARS,
    )
    sender_name: StrictStr | None = Field(
        None,
        max_length=checks.MAX_SENDER_NAME_LENGTH,
        description="One line; emails come from it with the server's address. " + _CLEARS,
    )
    reply_to: StrictStr | None = Field(
        None, max_length=320, description="An email address. " + _CLEARS
    )
    accent_colour: StrictStr | None = Field(
        None,
        max_length=20,
        description="#rrggbb. A contrast below 4.5:1 with white is accepted, and "
        "`accent_warning` says so. " + _CLEARS,
    )
    logo: StrictStr | None = Field(
        None,
        max_length=MAX_LOGO_TEXT,
        description="The logo, base64: a PNG, JPEG or WebP image of at most 200 kB and 600 x "
        "200 pixels (SVG is refused). An empty text removes it; not sent, or null: unchanged.",
    )

    def change(self) -> SettingsChange:
        """The change to apply; a 422 on ``logo`` when it is not base64."""
        logo = None
        if self.logo:
            try:
                logo = base64.b64decode(self.logo, validate=True)
            except (binascii.Error, ValueError):
                raise FieldErrors.one(["body", "logo"], "must be base64 text") from None
        return SettingsChange(
            name=self.name,
            default_language=self.default_language,
            industry=self.industry,
            redact_comments=self.redact_comments,
            sender_name=self.sender_name,
            reply_to=self.reply_to,
            accent_colour=self.accent_colour,
            logo=logo,
            remove_logo=self.logo == "",
        )
