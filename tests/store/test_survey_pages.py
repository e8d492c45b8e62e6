"""The reads behind a survey page's links (``cxpulse.store.survey_pages``), on SQLite and
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from cxpulse.store import contacts, survey_pages, surveys
from cxpulse.store.models import Invitation, Organisation, Survey
from cxpulse.store.organisation_settings import Brand

ACME_BRAND = Brand("acme", "Acme", None, has_logo=False)
"""The page reads the branding with the survey: none set."""


def test_a_public_link_finds_the_survey_of_its_organisation_only(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    found = survey_pages.public_survey(session, "acme", "support-csat")
    assert found == survey_pages.PageSurvey(survey, "Acme", ACME_BRAND)
    assert survey_pages.public_survey(session, "globex", "support-csat") is None
    assert survey_pages.public_survey(session, "acme", "nope") is None
    assert survey_pages.public_survey(session, "nope", "support-csat") is None


def test_a_public_link_finds_surveys_whatever_their_status(
    session: Session, org: Organisation
) -> None:
    draft = surveys.create_survey(session, org.id, slug="draft", name="D", metric="csat")
    found = survey_pages.public_survey(session, "acme", "draft")
    assert found is not None
    assert found.survey is draft
    assert found.survey.status == "draft"


def test_a_detached_survey_outlives_its_session(
    session: Session, org: Organisation, survey: Survey
) -> None:
    session.commit()
    found = survey_pages.public_survey(session, "acme", "support-csat", detach=True)
    assert found is not None
    assert inspect(found.survey).detached
    assert found.survey.slug == "support-csat"


def _invite(
    session: Session, organisation: Organisation, survey: Survey, locale: str | None = None
) -> Invitation:
    contact = contacts.create_contact(
        session, organisation.id, email=f"{organisation.slug}@example.com", locale=locale
    )
    invitation = Invitation(
        organisation_id=organisation.id, survey_id=survey.id, contact_id=contact.id
    )
    session.add(invitation)
    session.flush()
    return invitation


def test_a_personal_link_finds_invitation_survey_and_locale(
    session: Session, org: Organisation, survey: Survey
) -> None:
    invitation = _invite(session, org, survey, locale="sv-SE")
    found = survey_pages.invited_survey(session, invitation.id, survey.id)
    assert found == survey_pages.InvitedSurvey(
        invitation, survey_pages.PageSurvey(survey, "Acme", ACME_BRAND), "sv-SE"
    )
    plain = _invite(session, org, survey)
    found_plain = survey_pages.invited_survey(session, plain.id, survey.id)
    assert found_plain is not None
    assert found_plain.contact_locale is None


def test_an_unknown_invitation_or_one_of_another_survey_is_not_found(
    session: Session, org: Organisation, survey: Survey
) -> None:
    invitation = _invite(session, org, survey)
    other = surveys.create_survey(session, org.id, slug="other", name="O", metric="nps")
    assert survey_pages.invited_survey(session, invitation.id, other.id) is None
    assert survey_pages.invited_survey(session, invitation.id + 1000, survey.id) is None


def test_an_invitation_to_a_survey_of_another_organisation_leads_nowhere(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    # Only a damaged database holds one; the page must still not show the other's survey.
    invitation = _invite(session, other_org, survey)
    found = survey_pages.invited_survey(session, invitation.id, survey.id)
    assert found is not None
    assert found.invitation is invitation
    assert found.page is None


def test_detached_invitation_and_survey_outlive_their_session(
    session: Session, org: Organisation, survey: Survey
) -> None:
    invitation = _invite(session, org, survey, locale="de")
    session.commit()
    found = survey_pages.invited_survey(session, invitation.id, survey.id, detach=True)
    assert found is not None
    assert found.page is not None
    assert inspect(found.invitation).detached
    assert inspect(found.page.survey).detached
    assert (found.invitation.survey_id, found.page.survey.slug) == (survey.id, "support-csat")
