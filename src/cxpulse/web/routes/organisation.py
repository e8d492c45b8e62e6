"""The caller's organisation and its settings: anyone may read them, owners and admins
change them (the rules are ``collect.organisation_changes``', shared with ``/app/settings``)."""

from __future__ import annotations

from fastapi import APIRouter

from cxpulse.collect.organisation_changes import InvalidSettings, change_settings
from cxpulse.store import accounts
from cxpulse.web import audit
from cxpulse.web.access import CanManageUsers, CanReadSurveys
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors, field_error
from cxpulse.web.organisation_schemas import OrganisationSettings, OrganisationUpdate
from cxpulse.web.routes.common import problems

router = APIRouter(prefix="/api/v1/organisation", tags=["organisation"])


@router.get(
    "",
    operation_id="getOrganisation",
    summary="Get the organisation's settings",
    response_model=OrganisationSettings,
    responses=problems(),
)
def get_organisation(caller: CanReadSurveys, session: DbSession) -> OrganisationSettings:
    return OrganisationSettings.of(accounts.get_organisation(session, caller.organisation_id))


@router.patch(
    "",
    operation_id="updateOrganisation",
    summary="Change the organisation's settings",
    description="`throttle_days`: the least days between two invitations to one contact, "
    "across all surveys, for surveys without their own; 0 turns throttling off. "
    "Invitations made already keep their status. "
    "`redact_comments`: store comments with personal data replaced; turning it on also "
    "redacts the comments stored before, in the background. "
    "Branding (`accent_colour`, `logo`) shows on survey pages, the widget and emails; "
    "`sender_name` and `reply_to` address the emails. Every refused field is listed in "
    "the 422. docs/settings.md describes each setting.",
    response_model=OrganisationSettings,
    responses=problems(),
)
def update_organisation(
    body: OrganisationUpdate, caller: CanManageUsers, session: DbSession
) -> OrganisationSettings:
    organisation_id = caller.organisation_id
    try:
        # null means "leave as is", as for the other settings that cannot be empty (updateUser).
        details = change_settings(
            session, organisation_id, body.change(), throttle_days=body.throttle_days
        )
    except InvalidSettings as refused:
        session.rollback()
        raise FieldErrors(
            [field_error(["body", field], message) for field, message in refused.problems.items()]
        ) from None
    if details:
        audit.record(session, caller, "update", "organisation", organisation_id, details)
        session.commit()
    return OrganisationSettings.of(accounts.get_organisation(session, organisation_id))
