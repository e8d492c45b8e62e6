"""Changing an organisation's settings through the store: every field checked first, every
refused field reported at once, nothing written then; what changed returned for the audit;
the branding read without the logo's bytes."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import organisation_settings as settings
from cxpulse.store.models import Organisation
from cxpulse.store.organisation_settings import InvalidSettings, SettingsChange

from .logo_samples import SVG, png


def test_a_change_writes_the_fields_sent_and_says_what_changed(
    session: Session, org: Organisation
) -> None:
    logo = png(120, 40)
    details = settings.apply_change(
        session,
        org.id,
        SettingsChange(
            name="Acme Ltd",
            default_language="sv",
            industry="",
            sender_name="Acme Support",
            reply_to="Help@Acme.Example",
            accent_colour="#AA0000",
            logo=logo,
        ),
    )
    assert details["name"] == {"from": "Acme", "to": "Acme Ltd"}
    assert details["industry"] == {"from": "Retail", "to": None}
    assert details["reply_to"] == {"from": None, "to": "help@acme.example"}
    assert details["logo"] == {
        "from": None,
        "to": "image/png",
        "bytes": len(logo),
        "pixels": "120x40",
    }
    assert (org.default_language, org.sender_name, org.accent_colour) == (
        "sv",
        "Acme Support",
        "#aa0000",
    )
    assert (org.logo, org.logo_type) == (logo, "image/png")
    # The same again changes nothing; a field not sent is left alone.
    assert settings.apply_change(session, org.id, SettingsChange(name="Acme Ltd")) == {}
    assert settings.apply_change(session, org.id, SettingsChange(remove_logo=True)) == {
        "logo": {"from": "image/png", "to": None}
    }
    assert org.logo is None
    assert org.logo_type is None


def test_every_refused_field_is_reported_and_nothing_is_written(
    session: Session, org: Organisation
) -> None:
    with pytest.raises(InvalidSettings) as refused:
        settings.apply_change(
            session,
            org.id,
            SettingsChange(
                name="Fine name",
                default_language="xx",
                reply_to="not-an-address",
                accent_colour="blue",
                sender_name="A\nB",
                logo=SVG,
            ),
        )
    assert set(refused.value.problems) == {
        "default_language",
        "reply_to",
        "accent_colour",
        "sender_name",
        "logo",
    }
    assert "needs exactly one @" in refused.value.problems["reply_to"]
    assert org.name == "Acme"


def test_the_branding_is_read_by_slug_or_id_and_the_logo_by_slug(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    assert settings.brand_of(session, "acme") == settings.Brand("acme", "Acme", None, False)
    assert settings.logo_of(session, "acme") is None
    logo = png(10, 10)
    settings.apply_change(session, org.id, SettingsChange(accent_colour="#123456", logo=logo))
    assert settings.brand_by_id(session, org.id) == settings.Brand("acme", "Acme", "#123456", True)
    stored = settings.logo_of(session, "acme")
    assert stored is not None
    assert (stored.data, stored.media_type) == (logo, "image/png")
    assert stored.version == settings.logo_version(logo)
    assert settings.logo_of(session, "globex") is None
    assert settings.brand_of(session, "nobody") is None


def test_redaction_goes_through_its_own_rule(session: Session, org: Organisation) -> None:
    details = settings.apply_change(session, org.id, SettingsChange(redact_comments=True))
    assert details == {"redact_comments": {"from": False, "to": True}}
    assert org.redact_comments is True
