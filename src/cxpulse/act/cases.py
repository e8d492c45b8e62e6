"""Follow-up cases: opened by a rule (or a person), assigned, due by an SLA in business hours,
worked to resolution.

A case's life: ``new`` until someone contacts the customer (a state change to ``contacted``
or a first email from the case), then closed as ``resolved`` or ``wont_fix`` with a reason.
A closed case may be reopened (back to ``contacted``). The due time is the SLA to first
contact: the priority's business hours (``act.business_hours``) from the opening, in the
organisation's time zone. Every change is a ``case_event`` and a ``case.updated`` event for
the webhooks (``act.events``), in the caller's transaction; the caller commits.

Every function takes the organisation and finds the case within it, so a case id of
another organisation is ``NotFound``, whoever asks.

One module over 400 lines, by sections: opening, changes, bulk, the re-survey, the
customer's email, settings, reading (the inbox and one case), the worker's sweep. They share
the event and webhook bookkeeping of every change (``case_data``, ``_publish_update``); the
email composing is ``act.case_emails``, the business-hours arithmetic
``act.business_hours``.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cxpulse import redaction
from cxpulse.act import business_hours, case_emails, events, tasks
from cxpulse.act.jobs import REGISTRY, JobRegistry
from cxpulse.collect import invitations
from cxpulse.store import _values as values
from cxpulse.store import cases as store
from cxpulse.store import customer_timeline, loop_settings, outbox, teams
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import (
    CASE_PRIORITIES,
    CASE_STATES,
    CaseEvent,
    Contact,
    FollowUpCase,
    Organisation,
    Response,
    Survey,
    User,
)
from cxpulse.store.outbox import Claimed
from cxpulse.store.types import utc_now

__all__ = [
    "CASE_ROLES",
    "CLOSED_STATES",
    "MAX_BULK",
    "NEXT_STATES",
    "BulkResult",
    "InboundRefused",
    "add_note",
    "assign",
    "bulk_update",
    "case_data",
    "change_state",
    "open_case",
    "receive_email",
    "record_recovery",
    "register",
    "reply",
    "set_priority",
    "sweep_recoveries",
    "update_case",
]

CASE_ROLES = ("owner", "admin", "analyst", "agent")
"""Roles that work cases: an assignee or a team's round-robin pick has one of them."""
CLOSED_STATES = ("resolved", "wont_fix")
MAX_BULK = 500
MAX_TITLE = 300
MAX_TEXT = 10_000
"""A note, a reply or a resolution reason."""
MAX_INBOUND_TEXT = 50_000
NEXT_STATES: dict[str, tuple[str, ...]] = {
    "new": ("contacted", "resolved", "wont_fix"),
    "contacted": ("resolved", "wont_fix"),
    "resolved": ("contacted",),
    "wont_fix": ("contacted",),
}
"""Where a case may go from each state (reopening a closed case makes it ``contacted``)."""


def _now(now: datetime | None) -> datetime:
    return now or utc_now()


def _text(field_name: str, text: str | None, *, required: bool, limit: int = MAX_TEXT) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        if required:
            raise Invalid(field_name, "must not be empty")
        return ""
    problem = values.text_problem(cleaned)
    if problem is not None:
        raise Invalid(field_name, problem)
    if len(cleaned) > limit:
        raise Invalid(field_name, f"must be at most {limit} characters")
    return cleaned


def _priority(priority: str) -> str:
    if priority not in CASE_PRIORITIES:
        raise Invalid("priority", f"must be one of {', '.join(CASE_PRIORITIES)}")
    return priority


def case_data(row: FollowUpCase) -> dict[str, Any]:
    """The case as webhooks carry it (never its reply token)."""

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "id": row.id,
        "survey_id": row.survey_id,
        "response_id": row.response_id,
        "contact_id": row.contact_id,
        "rule_id": row.rule_id,
        "team_id": row.team_id,
        "assignee_user_id": row.assignee_user_id,
        "title": row.title,
        "state": row.state,
        "priority": row.priority,
        "due_at": when(row.due_at),
        "first_contact_at": when(row.first_contact_at),
        "closed_at": when(row.closed_at),
        "resolution_reason": row.resolution_reason,
        "recovery_score": row.recovery_score,
        "created_at": when(row.created_at),
    }


def _publish_update(session: Session, row: FollowUpCase, changes: Collection[str]) -> None:
    events.publish(
        session,
        row.organisation_id,
        "case.updated",
        {"case": case_data(row), "changes": sorted(changes)},
    )


def _due(session: Session, organisation_id: int, priority: str, opened_at: datetime) -> datetime:
    settings = loop_settings.get_settings(session, organisation_id)
    calendar = business_hours.calendar_from(settings.business_hours, settings.timezone)
    sla = business_hours.sla_hours_from(settings.sla_hours)
    return business_hours.due_at(calendar, sla, priority, opened_at)


def _worker(session: Session, organisation_id: int, user_id: int) -> User:
    """A user who may work cases: active, of the organisation, in a role that works them."""
    user = session.get(User, user_id)
    if user is None or user.organisation_id != organisation_id:
        raise Invalid("assignee_user_id", "no such user in the organisation")
    if not user.is_active or user.role not in CASE_ROLES:
        raise Invalid("assignee_user_id", "the user cannot work cases (inactive or a viewer)")
    return user


def _default_title(survey: Survey | None, answer: Response) -> str:
    name = survey.name if survey is not None else "Survey"
    return f"{name}: score {answer.score:g}"[:MAX_TITLE]


# -- opening -----------------------------------------------------------------------------------


def open_case(
    session: Session,
    organisation_id: int,
    *,
    response_id: int | None,
    rule_id: int | None = None,
    title: str | None = None,
    priority: str = "normal",
    team_id: int | None = None,
    assignee_user_id: int | None = None,
    author_user_id: int | None = None,
    now: datetime | None = None,
) -> int | None:
    """Open a case for an answer in the caller's transaction, unless the answer has one
    already; the new case's id, or None when it existed.

    Without an assignee the case goes round-robin to the team's next member. A case opened
    by a rule (``rule_id``) whose team or assignee is gone is opened anyway, unassigned, and
    its ``created`` event says why; a person's request with a wrong team or assignee is
    ``Invalid``."""
    moment = _now(now)
    _priority(priority)
    if response_id is None:
        raise Invalid("response_id", "a case follows up one answer")
    answer = session.get(Response, response_id)
    if answer is None or answer.organisation_id != organisation_id:
        raise NotFound("response", response_id)
    if store.case_for_response(session, organisation_id, response_id) is not None:
        return None
    survey = session.get(Survey, answer.survey_id)
    chosen_title = _text("title", title, required=False, limit=MAX_TITLE) or _default_title(
        survey, answer
    )
    notes: list[str] = []
    if team_id is not None:
        try:
            teams.get_team(session, organisation_id, team_id)
        except NotFound:
            if rule_id is None:
                raise Invalid("team_id", "no such team in the organisation") from None
            notes.append(f"team {team_id} no longer exists")
            team_id = None
    if assignee_user_id is not None:
        try:
            _worker(session, organisation_id, assignee_user_id)
        except Invalid as error:
            if rule_id is None:
                raise
            notes.append(f"user {assignee_user_id}: {error.message}")
            assignee_user_id = None
    if assignee_user_id is None and team_id is not None:
        assignee_user_id = teams.next_assignee(session, organisation_id, team_id, roles=CASE_ROLES)
    row = FollowUpCase(
        organisation_id=organisation_id,
        survey_id=answer.survey_id,
        response_id=answer.id,
        contact_id=answer.contact_id,
        rule_id=rule_id,
        team_id=team_id,
        assignee_user_id=assignee_user_id,
        title=chosen_title,
        state="new",
        priority=priority,
        due_at=_due(session, organisation_id, priority, moment),
        reply_token=secrets.token_urlsafe(24),
        created_at=moment,
        updated_at=moment,
    )
    if store.insert_case(session, row) is None:
        return None
    data: dict[str, Any] = {
        "rule_id": rule_id,
        "team_id": team_id,
        "assignee_user_id": assignee_user_id,
        "priority": priority,
        "due_at": row.due_at.isoformat() if row.due_at else None,
    }
    if notes:
        data["notes"] = notes
    store.add_event(session, row, "created", author_user_id=author_user_id, data=data, at=moment)
    events.publish(session, organisation_id, "case.created", {"case": case_data(row)})
    return row.id


# -- changes -----------------------------------------------------------------------------------


def _set_state(
    session: Session,
    row: FollowUpCase,
    state: str,
    *,
    author_user_id: int | None,
    reason: str | None,
    moment: datetime,
) -> bool:
    if state not in CASE_STATES:
        raise Invalid("state", f"must be one of {', '.join(CASE_STATES)}")
    if state == row.state:
        return False
    if state not in NEXT_STATES[row.state]:
        raise Invalid("state", f"a {row.state} case cannot become {state}")
    closing = state in CLOSED_STATES
    cleaned = _text("resolution_reason", reason, required=closing)
    previous = row.state
    row.state = state
    if state == "contacted" and row.first_contact_at is None:
        row.first_contact_at = moment
    if closing:
        row.closed_at = moment
        row.resolution_reason = cleaned
    else:
        row.closed_at = None
        row.resolution_reason = None
    row.updated_at = moment
    data: dict[str, Any] = {"from": previous, "to": state}
    if closing:
        data["reason"] = cleaned
    store.add_event(session, row, "state", author_user_id=author_user_id, data=data, at=moment)
    return True


def _set_assignee(
    session: Session,
    row: FollowUpCase,
    user_id: int | None,
    *,
    author_user_id: int | None,
    moment: datetime,
) -> bool:
    if user_id is not None:
        _worker(session, row.organisation_id, user_id)
    if user_id == row.assignee_user_id:
        return False
    data = {"from": row.assignee_user_id, "to": user_id}
    row.assignee_user_id = user_id
    row.updated_at = moment
    store.add_event(session, row, "assigned", author_user_id=author_user_id, data=data, at=moment)
    return True


def _set_team(
    session: Session,
    row: FollowUpCase,
    team_id: int | None,
    *,
    author_user_id: int | None,
    moment: datetime,
) -> bool:
    if team_id is not None:
        try:
            teams.get_team(session, row.organisation_id, team_id)
        except NotFound:
            raise Invalid("team_id", "no such team in the organisation") from None
    if team_id == row.team_id:
        return False
    data = {"team_from": row.team_id, "team_to": team_id}
    row.team_id = team_id
    row.updated_at = moment
    store.add_event(session, row, "assigned", author_user_id=author_user_id, data=data, at=moment)
    return True


def _set_priority(
    session: Session,
    row: FollowUpCase,
    priority: str,
    *,
    author_user_id: int | None,
    moment: datetime,
) -> bool:
    _priority(priority)
    if priority == row.priority:
        return False
    data: dict[str, Any] = {"from": row.priority, "to": priority}
    row.priority = priority
    if row.state == "new":
        # The SLA is to first contact: a new case's due time follows its new priority,
        # counted from when it was opened.
        row.due_at = _due(session, row.organisation_id, priority, row.created_at)
        data["due_at"] = row.due_at.isoformat()
    row.updated_at = moment
    store.add_event(session, row, "priority", author_user_id=author_user_id, data=data, at=moment)
    return True


_UNSET: Any = object()


def update_case(
    session: Session,
    organisation_id: int,
    case_id: int,
    *,
    author_user_id: int | None,
    state: str | None = None,
    resolution_reason: str | None = None,
    resurvey: bool = False,
    assignee_user_id: int | None = _UNSET,
    team_id: int | None = _UNSET,
    priority: str | None = None,
    now: datetime | None = None,
) -> FollowUpCase:
    """Change what is given (assignee and team may be set to None); one ``case.updated``
    event for all of it. ``resurvey`` with ``state="resolved"`` invites the customer to the
    same survey again to measure the recovery."""
    moment = _now(now)
    row = store.get_case(session, organisation_id, case_id)
    changed: list[str] = []
    if priority is not None and _set_priority(
        session, row, priority, author_user_id=author_user_id, moment=moment
    ):
        changed.append("priority")
    if team_id is not _UNSET and _set_team(
        session, row, team_id, author_user_id=author_user_id, moment=moment
    ):
        changed.append("team")
    if assignee_user_id is not _UNSET and _set_assignee(
        session, row, assignee_user_id, author_user_id=author_user_id, moment=moment
    ):
        changed.append("assignee")
    if resurvey and state != "resolved":
        raise Invalid("resurvey", "a re-survey follows a resolution: set state to resolved")
    if state is not None and _set_state(
        session,
        row,
        state,
        author_user_id=author_user_id,
        reason=resolution_reason,
        moment=moment,
    ):
        changed.append("state")
        if resurvey:
            _queue_resurvey(session, row, author_user_id=author_user_id, moment=moment)
    if changed:
        _publish_update(session, row, changed)
    return row


def change_state(
    session: Session,
    organisation_id: int,
    case_id: int,
    state: str,
    *,
    author_user_id: int | None,
    resolution_reason: str | None = None,
    resurvey: bool = False,
    now: datetime | None = None,
) -> FollowUpCase:
    return update_case(
        session,
        organisation_id,
        case_id,
        author_user_id=author_user_id,
        state=state,
        resolution_reason=resolution_reason,
        resurvey=resurvey,
        now=now,
    )


def assign(
    session: Session,
    organisation_id: int,
    case_id: int,
    user_id: int | None,
    *,
    author_user_id: int | None,
    now: datetime | None = None,
) -> FollowUpCase:
    return update_case(
        session,
        organisation_id,
        case_id,
        author_user_id=author_user_id,
        assignee_user_id=user_id,
        now=now,
    )


def set_priority(
    session: Session,
    organisation_id: int,
    case_id: int,
    priority: str,
    *,
    author_user_id: int | None,
    now: datetime | None = None,
) -> FollowUpCase:
    return update_case(
        session,
        organisation_id,
        case_id,
        author_user_id=author_user_id,
        priority=priority,
        now=now,
    )


def add_note(
    session: Session,
    organisation_id: int,
    case_id: int,
    body: str,
    *,
    author_user_id: int | None,
    now: datetime | None = None,
) -> FollowUpCase:
    """An internal note (never sent to the customer)."""
    moment = _now(now)
    row = store.get_case(session, organisation_id, case_id)
    text = _text("body", body, required=True)
    store.add_event(session, row, "note", author_user_id=author_user_id, body=text, at=moment)
    row.updated_at = moment
    _publish_update(session, row, ["note"])
    return row


def reply(
    session: Session,
    organisation_id: int,
    case_id: int,
    body: str,
    *,
    author_user_id: int | None,
    mail_domain: str,
    subject: str | None = None,
    now: datetime | None = None,
) -> FollowUpCase:
    """Email the customer from the case (queued in the outbox, sent by the worker). The first
    email is the first contact: a new case becomes ``contacted``. Refused when the customer
    has no address or said they do not want to be contacted."""
    moment = _now(now)
    row = store.get_case(session, organisation_id, case_id)
    text = _text("body", body, required=True)
    chosen_subject = _text("subject", subject, required=False, limit=200)
    contact = session.get(Contact, row.contact_id) if row.contact_id is not None else None
    if contact is None or not contact.email:
        raise Invalid("contact", "the customer has no email address to reply to")
    answer = session.get(Response, row.response_id) if row.response_id is not None else None
    if answer is not None and answer.contact_consent is False:
        raise Invalid("contact", "the customer asked not to be contacted")
    author = session.get(User, author_user_id) if author_user_id is not None else None
    survey = session.get(Survey, row.survey_id) if row.survey_id is not None else None
    data: dict[str, Any] = {
        "to": contact.email,
        "subject": chosen_subject or None,
        "sender_name": (author.name if author is not None else None),
        "language": (answer.language if answer is not None and answer.language else None)
        or (survey.default_language if survey is not None else "en"),
    }
    event = store.add_event(
        session,
        row,
        "email_out",
        author_user_id=author_user_id,
        body=text,
        data=data,
        message_id=case_emails.new_message_id(row.id, mail_domain),
        at=moment,
    )
    case_emails.enqueue_reply(session, row, event)
    changed = ["email_out"]
    if row.state == "new" and _set_state(
        session, row, "contacted", author_user_id=author_user_id, reason=None, moment=moment
    ):
        changed.append("state")
    if row.first_contact_at is None:
        row.first_contact_at = moment
    row.updated_at = moment
    _publish_update(session, row, changed)
    return row


# -- bulk --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    updated: list[int] = field(default_factory=list)
    """The cases changed."""
    unchanged: list[int] = field(default_factory=list)
    """Cases already as asked."""
    missing: list[int] = field(default_factory=list)
    """Ids that are no case of the organisation."""


def bulk_update(
    session: Session,
    organisation_id: int,
    case_ids: Collection[int],
    *,
    author_user_id: int | None,
    state: str | None = None,
    resolution_reason: str | None = None,
    assignee_user_id: int | None = _UNSET,
    priority: str | None = None,
    now: datetime | None = None,
) -> BulkResult:
    """The same change on up to ``MAX_BULK`` cases, all or nothing: the first case that
    refuses it (a closed case cannot become ``new``) makes the whole call ``Invalid``
    naming its index, and the caller rolls back."""
    wanted = list(dict.fromkeys(case_ids))
    if not wanted:
        raise Invalid("case_ids", "choose at least one case")
    if len(wanted) > MAX_BULK:
        raise Invalid("case_ids", f"at most {MAX_BULK} cases at once")
    if state is None and priority is None and assignee_user_id is _UNSET:
        raise Invalid("state", "say what to change: state, assignee or priority")
    moment = _now(now)
    found = {row.id: row for row in store.get_cases(session, organisation_id, wanted)}
    result = BulkResult(missing=[case_id for case_id in wanted if case_id not in found])
    for index, case_id in enumerate(wanted):
        row = found.get(case_id)
        if row is None:
            continue
        before = row.updated_at
        try:
            update_case(
                session,
                organisation_id,
                case_id,
                author_user_id=author_user_id,
                state=state,
                resolution_reason=resolution_reason,
                assignee_user_id=assignee_user_id,
                priority=priority,
                now=moment,
            )
        except Invalid as error:
            raise Invalid(error.field, f"case {case_id}: {error.message}", index=index) from None
        (result.updated if row.updated_at != before else result.unchanged).append(case_id)
    return result


# -- the re-survey after resolution ------------------------------------------------------------


def _queue_resurvey(
    session: Session, row: FollowUpCase, *, author_user_id: int | None, moment: datetime
) -> None:
    """Invite the customer to the case's survey again. The organisation's throttle (one
    invitation per N days) would usually refuse it, since the customer answered days ago:
    for this one invitation it is bypassed, and the invitation's reason says so. An
    unsubscribed address is never invited."""
    if row.contact_id is None or row.survey_id is None:
        raise Invalid("resurvey", "the case has no customer to survey again")
    contact = session.get(Contact, row.contact_id)
    if contact is None or not contact.email:
        raise Invalid("resurvey", "the customer has no email address")
    request = invitations.InvitationRequest(
        contact_id=row.contact_id,
        idempotency_key=f"case-resurvey:{row.id}",
        properties={"case_id": str(row.id)},
    )
    (made,) = invitations.create_invitations(
        session, row.organisation_id, row.survey_id, [request], now=moment
    )
    invitation = made.invitation
    if invitation.status == "throttled":
        invitation.status = "scheduled"
        invitation.reason = (
            f"re-survey after case {row.id}: the throttle is bypassed for this contact once"
        )
        outbox.enqueue(
            session,
            row.organisation_id,
            invitations.INVITATION_KIND,
            invitations.outbox_key(invitations.INVITATION_KIND, invitation.id),
            {"invitation_id": invitation.id},
            available_at=invitation.send_at,
        )
    row.resurvey_invitation_id = invitation.id
    store.add_event(
        session,
        row,
        "resurvey",
        author_user_id=author_user_id,
        data={
            "invitation_id": invitation.id,
            "status": invitation.status,
            "reason": invitation.reason,
        },
        at=moment,
    )


def record_recovery(session: Session, response: Response) -> int | None:
    """When ``response`` answers a case's re-survey, record its score on the case as the
    recovery score (first answer wins); the case's id, or None when it is no re-survey.
    Called in the transaction that handles the new answer (the rules' task)."""
    if response.invitation_id is None:
        return None
    row = store.case_by_resurvey_invitation(
        session, response.organisation_id, response.invitation_id
    )
    if row is None or row.recovery_score is not None:
        return None
    row.recovery_score = response.score
    row.updated_at = utc_now()
    store.add_event(
        session,
        row,
        "resurvey",
        data={"response_id": response.id, "recovery_score": response.score},
    )
    _publish_update(session, row, ["recovery_score"])
    return row.id


# -- the customer's answer by email ------------------------------------------------------------


class InboundRefused(Exception):
    """An inbound email that belongs to no case: ``status`` 404 (no case has the address's
    token) or 403 (the token is right but the email answers no message of the case)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Received:
    case_id: int
    organisation_id: int
    duplicate: bool


def receive_email(
    session: Session,
    *,
    sender: str,
    to: str,
    subject: str | None,
    text: str | None,
    message_id: str | None,
    in_reply_to: str | None,
    references: str | None = None,
    now: datetime | None = None,
) -> Received:
    """Record a customer's email on its case (an ``email_in`` event), when the To (or Cc)
    address carries the case's reply token and In-Reply-To or References names an email
    of the case. The same Message-ID twice is recorded once."""
    moment = _now(now)
    tokens = case_emails.tokens_in(to)
    row = next(
        (found for token in tokens if (found := store.case_by_reply_token(session, token))),
        None,
    )
    if row is None:
        raise InboundRefused(404, "no case has this reply address")
    threads = case_emails.thread_ids(in_reply_to) + case_emails.thread_ids(references)
    if not store.has_message(session, row.id, threads, "email_out"):
        raise InboundRefused(403, "the email does not answer a message of this case")
    idents = case_emails.thread_ids(message_id)
    ident = idents[0] if idents else None
    if ident is not None and store.has_message(session, row.id, [ident], "email_in"):
        return Received(row.id, row.organisation_id, duplicate=True)
    body = (text or "").strip()[:MAX_INBOUND_TEXT]
    organisation = session.get(Organisation, row.organisation_id)
    if organisation is not None and organisation.redact_comments:
        body = redaction.redact(body).text
    store.add_event(
        session,
        row,
        "email_in",
        body=body,
        data={
            "from": case_emails.sender_of(sender),
            "subject": (subject or "").strip()[:300],
        },
        message_id=ident,
        at=moment,
    )
    row.updated_at = moment
    _publish_update(session, row, ["email_in"])
    return Received(row.id, row.organisation_id, duplicate=False)


def settings_view(session: Session, organisation_id: int) -> Mapping[str, Any]:
    """The organisation's SLA and business hours as they apply (defaults filled in)."""
    settings = loop_settings.get_settings(session, organisation_id)
    calendar = business_hours.calendar_from(settings.business_hours, settings.timezone)
    return {
        "timezone": settings.timezone,
        "business_hours": calendar.to_document(),
        "sla_hours": business_hours.sla_hours_from(settings.sla_hours),
    }


def update_settings(
    session: Session,
    organisation_id: int,
    *,
    timezone: str | None = None,
    business_hours_document: Mapping[str, object] | None = None,
    sla_hours: Mapping[str, object] | None = None,
) -> Mapping[str, Any]:
    """Check and save the SLA, business hours and time zone (only those given); open cases
    keep their due times."""
    current = loop_settings.get_settings(session, organisation_id)
    zone = business_hours.check_timezone(timezone) if timezone is not None else current.timezone
    changes: dict[str, Any] = {"timezone": zone}
    if business_hours_document is not None:
        calendar = business_hours.calendar_from(business_hours_document, zone)
        changes["business_hours"] = calendar.to_document()
    if sla_hours is not None:
        business_hours.sla_hours_from(sla_hours)
        # The priorities not given keep their hours.
        merged = {**(current.sla_hours or {}), **sla_hours}
        changes["sla_hours"] = {name: float(value) for name, value in merged.items()}
    loop_settings.update_settings(session, organisation_id, **changes)
    return settings_view(session, organisation_id)


# -- reading: the inbox and one case -----------------------------------------------------------

VIEWS = ("all", "mine", "team", "overdue")
"""The inbox's tabs: every case, the caller's, their teams', the overdue ones."""


def inbox_filter(
    session: Session,
    organisation_id: int,
    view: str,
    *,
    user_id: int | None,
    states: tuple[str, ...] = (),
    priority: str | None = None,
    survey_id: int | None = None,
    now: datetime | None = None,
) -> store.CaseFilter:
    """The filter of an inbox tab; ``mine`` and ``team`` need a signed-in user."""
    if view not in VIEWS:
        raise Invalid("view", f"must be one of {', '.join(VIEWS)}")
    for state in states:
        if state not in CASE_STATES:
            raise Invalid("state", f"must be one of {', '.join(CASE_STATES)}")
    if priority is not None:
        _priority(priority)
    common: dict[str, Any] = {"states": states, "priority": priority, "survey_id": survey_id}
    if view in ("mine", "team") and user_id is None:
        raise Invalid("view", f"{view} needs a signed-in user, not an API key")
    if view == "mine":
        return store.CaseFilter(assignee_user_id=user_id, **common)
    if view == "team":
        assert user_id is not None
        mine = tuple(teams.team_ids_of_user(session, organisation_id, user_id))
        return store.CaseFilter(team_ids=mine, **common)
    if view == "overdue":
        return store.CaseFilter(overdue_at=_now(now), **common)
    return store.CaseFilter(**common)


def is_overdue(row: FollowUpCase, now: datetime | None = None) -> bool:
    return row.state == "new" and row.due_at is not None and row.due_at < _now(now)


def _shown(text: str | None) -> str | None:
    """Free text as people see it: personal data replaced (``cxpulse.redaction``)."""
    return redaction.redact(text).text if text else text


@dataclass(frozen=True)
class CaseDetail:
    """One case with what its page shows."""

    case: FollowUpCase
    answer: Response | None
    answer_comment: str | None
    """The answer's comment with personal data replaced."""
    history: list[CaseEvent]
    timeline: list[customer_timeline.TimelineEntry]
    """The customer's timeline, texts redacted (``store.customer_timeline.TimelineEntry``)."""
    contact: Contact | None
    consent: bool | None


def case_detail(session: Session, organisation_id: int, case_id: int) -> CaseDetail:
    row = store.get_case(session, organisation_id, case_id)
    answer = session.get(Response, row.response_id) if row.response_id is not None else None
    contact = session.get(Contact, row.contact_id) if row.contact_id is not None else None
    timeline: list[customer_timeline.TimelineEntry] = []
    if contact is not None:
        timeline = [
            replace(entry, text=_shown(entry.text))
            for entry in customer_timeline.timeline(session, organisation_id, contact.id)
        ]
    return CaseDetail(
        case=row,
        answer=answer,
        answer_comment=_shown(answer.comment) if answer is not None else None,
        history=list(store.events(session, organisation_id, case_id)),
        timeline=timeline,
        contact=contact,
        consent=answer.contact_consent if answer is not None else None,
    )


# -- the worker's sweep of answered re-surveys -------------------------------------------------

RECOVERY_KIND = "case-recovery"
"""An outbox task: record the recovery scores of re-surveys answered since the last sweep."""


def sweep_recoveries(session: Session, *, limit: int = 500) -> int:
    """Record the score of every answered re-survey on its case, in the caller's
    transaction; the count recorded. ``record_recovery`` does the same for one answer when
    its caller handles new answers; either way the first answer wins."""
    recorded = 0
    for _, response_id in store.answered_resurveys(session, limit=limit):
        answer = session.get(Response, response_id)
        if answer is not None and record_recovery(session, answer) is not None:
            recorded += 1
    return recorded


def _queue_sweep(session: Session, now: datetime) -> int:
    """Queue one sweep when a re-survey waits to be recorded (about once a minute)."""
    waiting = store.answered_resurveys(session, limit=1)
    if not waiting:
        return 0
    case_row = session.get(FollowUpCase, waiting[0][0])
    assert case_row is not None
    key = f"{RECOVERY_KIND}:{now.astimezone(UTC):%Y-%m-%dT%H:%M}"
    return int(outbox.enqueue(session, case_row.organisation_id, RECOVERY_KIND, key, {}))


def _run_sweep(context: tasks.TaskContext, items: Sequence[Claimed]) -> list[tasks.Outcome]:
    with context.sessions.begin() as session:
        recorded = sweep_recoveries(session)
    return [tasks.Done(f"{recorded} recovery scores recorded") for _ in items]


RECOVERY_TASK = tasks.TaskHandler(
    kind=RECOVERY_KIND, run=_run_sweep, batch=10, enqueue_due=_queue_sweep
)


def register(registry: tasks.TaskRegistry = tasks.TASKS, jobs: JobRegistry = REGISTRY) -> None:
    """Let the worker send case replies and record recovery scores (idempotent)."""
    case_emails.register(jobs)
    registry.register(RECOVERY_TASK)
