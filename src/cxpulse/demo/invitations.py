"""The demo's email invitations: the story behind its email answers, so that response rates
(invited, sent, answered, throttled) have something to show.

Every email-channel answer of the last ``MONTHS`` months becomes the answer to an invitation
sent a few hours to two days before it; about twice as many invitations went unanswered, and
a few were throttled or failed. Made once, when the survey's responses are generated.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.store import demo_data
from cxpulse.store.models import Invitation

MONTHS = 6
UNANSWERED_PER_ANSWER = 2.0
THROTTLED_SHARE = 0.04
FAILED_SHARE = 0.01


def seed_invitations(
    session: Session,
    organisation_id: int,
    survey_id: int,
    contact_ids: list[int],
    end: datetime,
    rng: random.Random,
) -> int:
    """Invitations of one survey (whose responses are stored); returns how many were made."""
    since = end - timedelta(days=30 * MONTHS)
    answered = demo_data.email_answers(session, organisation_id, survey_id, since)
    invitations: list[Invitation] = []
    links: list[tuple[int, Invitation]] = []
    for answer in answered:
        sent = answer.submitted_at - timedelta(minutes=rng.uniform(20, 48 * 60))
        invitation = _sent(organisation_id, survey_id, answer.contact_id, sent)
        invitations.append(invitation)
        links.append((answer.response_id, invitation))
    span = (end - since).total_seconds()
    for _ in range(round(len(answered) * UNANSWERED_PER_ANSWER)):
        moment = since + timedelta(seconds=rng.uniform(0, span))
        contact_id = rng.choice(contact_ids)
        roll = rng.random()
        if roll < THROTTLED_SHARE:
            invitations.append(
                Invitation(
                    organisation_id=organisation_id,
                    survey_id=survey_id,
                    contact_id=contact_id,
                    status="throttled",
                    reason="surveyed in the last 30 days",
                    send_at=moment,
                    created_at=moment,
                )
            )
        elif roll < THROTTLED_SHARE + FAILED_SHARE:
            invitations.append(
                Invitation(
                    organisation_id=organisation_id,
                    survey_id=survey_id,
                    contact_id=contact_id,
                    status="failed",
                    reason="550 mailbox unavailable",
                    send_at=moment,
                    created_at=moment,
                )
            )
        else:
            invitations.append(_sent(organisation_id, survey_id, contact_id, moment))
    session.add_all(invitations)
    session.flush()
    demo_data.link_responses(session, [(response_id, inv.id) for response_id, inv in links])
    return len(invitations)


def _sent(organisation_id: int, survey_id: int, contact_id: int, moment: datetime) -> Invitation:
    return Invitation(
        organisation_id=organisation_id,
        survey_id=survey_id,
        contact_id=contact_id,
        status="sent",
        send_at=moment,
        sent_at=moment,
        created_at=moment,
        expires_at=moment + timedelta(days=30),
    )
