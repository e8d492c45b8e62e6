"""The rows a respondent's survey page is built from: the survey behind a public link
(organisation and survey slugs) or behind a personal link (an invitation).

These reads cross no caller's organisation check: the link itself is the permission, so
each query ties the survey to the organisation the link names (or the invitation belongs
to) and a survey of another organisation is never found. Judging what is found (closed,
withdrawn, of another survey) is left to the page, which words the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cxpulse.store.models import Contact, Invitation, Organisation, Survey
from cxpulse.store.organisation_settings import Brand


@dataclass(frozen=True)
class PageSurvey:
    """A survey and the name and branding of its organisation, which the page shows."""

    survey: Survey
    organisation_name: str
    brand: Brand | None = None


@dataclass(frozen=True)
class InvitedSurvey:
    """What a personal link leads to."""

    invitation: Invitation
    page: PageSurvey | None
    """``None`` when the invitation's survey is gone or belongs to another organisation."""
    contact_locale: str | None
    """The invited contact's locale, which chooses the page's language before the survey's."""


def _with_organisation_name() -> Select[Survey, str, str, str | None, str | None]:
    # The branding comes in the same read: a survey page costs no extra query for it.
    return select(
        Survey,
        Organisation.name,
        Organisation.slug,
        Organisation.accent_colour,
        Organisation.logo_type,
    ).join(Organisation, Organisation.id == Survey.organisation_id)


def _page(
    survey: Survey, name: str, slug: str, accent: str | None, logo_type: str | None
) -> PageSurvey:
    return PageSurvey(survey, name, Brand(slug, name, accent, logo_type is not None))


def public_survey(
    session: Session, organisation_slug: str, survey_slug: str, *, detach: bool = False
) -> PageSurvey | None:
    """The survey ``survey_slug`` of the organisation ``organisation_slug``, whatever its
    status. ``detach``: the survey is taken out of the session, to be used after it closes."""
    row = session.execute(
        _with_organisation_name().where(
            Organisation.slug == organisation_slug, Survey.slug == survey_slug
        )
    ).one_or_none()
    if row is None:
        return None
    page = _page(*row)
    if detach:
        session.expunge(page.survey)
    return page


def invited_survey(
    session: Session, invitation_id: int, survey_id: int, *, detach: bool = False
) -> InvitedSurvey | None:
    """The invitation ``invitation_id`` with its survey and contact's locale; ``None`` when
    there is no such invitation or it is not for ``survey_id`` (the survey its link names).
    ``detach``: the invitation and survey are taken out of the session, as above."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.survey_id != survey_id:
        return None
    row = session.execute(
        _with_organisation_name().where(
            Survey.id == invitation.survey_id,
            Survey.organisation_id == invitation.organisation_id,
        )
    ).one_or_none()
    locale = session.scalar(
        select(Contact.locale).where(
            Contact.id == invitation.contact_id,
            Contact.organisation_id == invitation.organisation_id,
        )
    )
    page = None
    if row is not None:
        page = _page(*row)
        if detach:
            session.expunge(page.survey)
    if detach:
        session.expunge(invitation)
    return InvitedSurvey(invitation, page, locale)
