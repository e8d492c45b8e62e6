"""Shared by the tests of the invitation modules: an active survey, and inviting in one
committed transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.invitation_requests import InvitationRequest
from cxpulse.collect.invitation_scheduling import create_invitations
from cxpulse.store import surveys
from cxpulse.store.models import Invitation, Organisation, Survey


def active_survey(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    with sessions.begin() as session:
        return surveys.create_survey(
            session,
            org.id,
            slug="after-ticket",
            name="After ticket",
            metric="csat",
            status="active",
        )


def invite(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey, *items: InvitationRequest
) -> list[Invitation]:
    with sessions.begin() as session:
        return [t.invitation for t in create_invitations(session, org.id, survey.id, list(items))]
