"""The caller's organisation and its settings: anyone may read them, owners and admins
change them."""

from __future__ import annotations

from fastapi import APIRouter

from cxpulse.collect import invitations as triggers
from cxpulse.store import accounts, comment_analyses
from cxpulse.web import audit
from cxpulse.web.access import CanManageUsers, CanReadSurveys
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import problems
from cxpulse.web.schemas import OrganisationSettings, OrganisationUpdate

router = APIRouter(prefix="/api/v1/organisation", tags=["organisation"])


@router.get(
    "",
    operation_id="getOrganisation",
    summary="Get the organisation's settings",
    response_model=OrganisationSettings,
    responses=problems(),
)
def get_organisation(caller: CanReadSurveys, session: DbSession) -> OrganisationSettings:
    organisation = accounts.get_organisation(session, caller.organisation_id)
    return OrganisationSettings.model_validate(organisation)


@router.patch(
    "",
    operation_id="updateOrganisation",
    summary="Change the organisation's settings",
    description="`throttle_days`: the least days between two invitations to one contact, "
    "across all surveys, for surveys without their own; 0 turns throttling off. "
    "Invitations made already keep their status. "
    "`redact_comments`: store comments with personal data replaced; turning it on also "
    "redacts the comments stored before, in the background.",
    response_model=OrganisationSettings,
    responses=problems(),
)
def update_organisation(
    body: OrganisationUpdate, caller: CanManageUsers, session: DbSession
) -> OrganisationSettings:
    details: dict[str, object] = {}
    # null means "leave as is", as for the other settings that cannot be empty (updateUser).
    if body.throttle_days is not None:
        previous = triggers.set_organisation_throttle(
            session, caller.organisation_id, body.throttle_days
        )
        details["throttle_days"] = {"from": previous, "to": body.throttle_days}
    organisation = accounts.get_organisation(session, caller.organisation_id)
    if body.redact_comments is not None and body.redact_comments != organisation.redact_comments:
        details["redact_comments"] = {
            "from": organisation.redact_comments,
            "to": body.redact_comments,
        }
        comment_analyses.set_redact_comments(session, organisation.id, body.redact_comments)
    if details:
        audit.record(session, caller, "update", "organisation", organisation.id, details)
        session.commit()
    return OrganisationSettings.model_validate(organisation)
