"""Everything stored about one contact, read for a data-subject request (GDPR art. 15 and 20).

Each read names the organisation, so another organisation's rows are never found, and follows
the contact's links: their answers (and what was derived from them: analysis, themes, tags,
rule matches, referral codes, cases), their invitations (with the emails queued for them and
the inbound events that created them), and the opt-outs of their address and phone. Rows come
back as plain column mappings; ``act.contact_privacy`` assembles the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, or_, select
from sqlalchemy.orm import Session

from cxpulse.store.contacts import get_contact
from cxpulse.store.models import (
    AnalysedComment,
    CaseEvent,
    Contact,
    FollowUpCase,
    InboundEvent,
    Invitation,
    OutboxItem,
    ReferralCode,
    Response,
    ResponseTag,
    ResponseTheme,
    RuleMatch,
    SmsOptOut,
    Survey,
    TextTheme,
    Unsubscribe,
)

Row = dict[str, Any]
CHUNK = 500
"""Ids per ``IN (...)`` list: well under either database's limit of bound parameters."""

INVITATION_EMAIL_KINDS = ("invitation", "reminder")
"""Outbox kinds whose dedupe key is ``<kind>:<invitation id>``
(``collect.invitation_scheduling``)."""

CASE_EMAIL_KIND = "case-reply"
"""The outbox kind of a reply from a case, keyed ``case-reply:<case event id>``
(``act.case_emails``)."""

SECRET_COLUMNS = frozenset({"reply_token"})
"""Columns left out of an export: a case's reply token lets whoever holds it post to the case."""


@dataclass(frozen=True)
class ContactRecords:
    """The rows of one contact, each table's in id order."""

    contact: Row
    surveys: list[Row]
    responses: list[Row]
    analyses: list[Row]
    themes: list[Row]
    """One per mention: ``response_id``, ``theme_key``, ``theme_name``, ``sentiment``."""
    tags: list[Row]
    rule_matches: list[Row]
    referral_codes: list[Row]
    invitations: list[Row]
    outbox: list[Row]
    """Emails queued for the invitations (``invitation_id`` added from the dedupe key)."""
    inbound_events: list[Row]
    cases: list[Row]
    case_events: list[Row]
    case_emails: list[Row]
    """Replies queued from the cases (``event_id`` added from the dedupe key)."""
    unsubscribes: list[Row]
    sms_opt_outs: list[Row]


def chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _rows(
    session: Session, model: type[Any], *conditions: ColumnElement[bool], order: str = "id"
) -> list[Row]:
    table = _table(model)
    query = select(table).where(*conditions).order_by(table.c[order])
    return [
        {name: value for name, value in row._mapping.items() if name not in SECRET_COLUMNS}
        for row in session.execute(query)
    ]


def _rows_in(
    session: Session,
    model: type[Any],
    organisation_id: int,
    column: str,
    ids: Sequence[int],
    order: str = "id",
) -> list[Row]:
    table = _table(model)
    found: list[Row] = []
    for chunk in chunks(ids):
        found += _rows(
            session,
            model,
            table.c.organisation_id == organisation_id,
            table.c[column].in_(chunk),
            order=order,
        )
    return sorted(found, key=lambda row: row[order])


def contact_records(session: Session, organisation_id: int, contact_id: int) -> ContactRecords:
    """The contact's rows in every table; ``NotFound`` unless the contact is the
    organisation's."""
    get_contact(session, organisation_id, contact_id)
    org = organisation_id
    contact = _rows(session, Contact, Contact.organisation_id == org, Contact.id == contact_id)[0]
    responses = _rows(
        session, Response, Response.organisation_id == org, Response.contact_id == contact_id
    )
    response_ids = [row["id"] for row in responses]
    invitations = _rows(
        session,
        Invitation,
        Invitation.organisation_id == org,
        Invitation.contact_id == contact_id,
    )
    invitation_ids = [row["id"] for row in invitations]
    cases = _cases(session, org, contact_id, response_ids)
    case_events = _rows_in(session, CaseEvent, org, "case_id", [row["id"] for row in cases])
    survey_ids = {row["survey_id"] for row in responses + invitations + cases}
    return ContactRecords(
        contact=contact,
        surveys=_rows_in(session, Survey, org, "id", [s for s in survey_ids if s is not None]),
        responses=responses,
        analyses=_rows_in(
            session, AnalysedComment, org, "response_id", response_ids, order="response_id"
        ),
        themes=_themes(session, org, response_ids),
        tags=_rows_in(session, ResponseTag, org, "response_id", response_ids),
        rule_matches=_rows_in(session, RuleMatch, org, "response_id", response_ids),
        referral_codes=_referral_codes(session, org, contact_id, response_ids),
        invitations=invitations,
        outbox=invitation_emails(session, org, invitation_ids),
        inbound_events=_rows_in(session, InboundEvent, org, "invitation_id", invitation_ids),
        cases=cases,
        case_events=case_events,
        case_emails=_keyed_items(
            session, org, case_email_keys(row["id"] for row in case_events), "event_id"
        ),
        unsubscribes=_unsubscribes(session, org, contact["email"]),
        sms_opt_outs=_sms_opt_outs(session, org, contact["phone"]),
    )


def _cases(
    session: Session, organisation_id: int, contact_id: int, response_ids: Sequence[int]
) -> list[Row]:
    """Cases of the contact, and cases of their answers (a case opened before the answer
    was linked to the contact names only the answer)."""
    linked = _rows(
        session,
        FollowUpCase,
        FollowUpCase.organisation_id == organisation_id,
        FollowUpCase.contact_id == contact_id,
    )
    by_answer = _rows_in(session, FollowUpCase, organisation_id, "response_id", response_ids)
    merged = {row["id"]: row for row in linked + by_answer}
    return [merged[key] for key in sorted(merged)]


def _referral_codes(
    session: Session, organisation_id: int, contact_id: int, response_ids: Sequence[int]
) -> list[Row]:
    linked = _rows(
        session,
        ReferralCode,
        ReferralCode.organisation_id == organisation_id,
        ReferralCode.contact_id == contact_id,
    )
    by_answer = _rows_in(session, ReferralCode, organisation_id, "response_id", response_ids)
    merged = {row["id"]: row for row in linked + by_answer}
    return [merged[key] for key in sorted(merged)]


def _themes(session: Session, organisation_id: int, response_ids: Sequence[int]) -> list[Row]:
    found: list[Row] = []
    for chunk in chunks(response_ids):
        query = (
            select(
                ResponseTheme.response_id,
                TextTheme.key.label("theme_key"),
                TextTheme.name.label("theme_name"),
                ResponseTheme.sentiment,
            )
            .join(TextTheme, TextTheme.id == ResponseTheme.theme_id)
            .where(
                ResponseTheme.organisation_id == organisation_id,
                ResponseTheme.response_id.in_(chunk),
            )
        )
        found += [dict(row._mapping) for row in session.execute(query)]
    return sorted(found, key=lambda row: (row["response_id"], row["theme_key"]))


def invitation_email_keys(invitation_ids: Iterable[int]) -> list[str]:
    """The dedupe keys of the outbox items that send or remind of these invitations."""
    return [
        f"{kind}:{key}" for key in sorted(set(invitation_ids)) for kind in INVITATION_EMAIL_KINDS
    ]


def case_email_keys(event_ids: Iterable[int]) -> list[str]:
    """The dedupe keys of the replies queued for these case events."""
    return [f"{CASE_EMAIL_KIND}:{key}" for key in sorted(set(event_ids))]


def _keyed_items(
    session: Session, organisation_id: int, keys: Sequence[str], id_name: str
) -> list[Row]:
    """The outbox items with these dedupe keys, each with the id its key ends in."""
    found: list[Row] = []
    for start in range(0, len(keys), CHUNK):
        found += _rows(
            session,
            OutboxItem,
            OutboxItem.organisation_id == organisation_id,
            OutboxItem.dedupe_key.in_(keys[start : start + CHUNK]),
        )
    for row in found:
        row[id_name] = int(str(row["dedupe_key"]).rpartition(":")[2])
    return sorted(found, key=lambda row: row["id"])


def invitation_emails(
    session: Session, organisation_id: int, invitation_ids: Sequence[int]
) -> list[Row]:
    return _keyed_items(
        session, organisation_id, invitation_email_keys(invitation_ids), "invitation_id"
    )


def _unsubscribes(session: Session, organisation_id: int, email: str | None) -> list[Row]:
    if not email:
        return []
    return _rows(
        session,
        Unsubscribe,
        Unsubscribe.organisation_id == organisation_id,
        func.lower(Unsubscribe.email) == email.strip().lower(),
    )


def _sms_opt_outs(session: Session, organisation_id: int, phone: str | None) -> list[Row]:
    if not phone:
        return []
    return _rows(
        session,
        SmsOptOut,
        SmsOptOut.organisation_id == organisation_id,
        SmsOptOut.phone == phone,
    )


def contact_ids_with_email(session: Session, organisation_id: int, email: str) -> list[int]:
    """Contacts of the organisation with this address (any spelling of its case)."""
    return list(
        session.scalars(
            select(Contact.id)
            .where(
                Contact.organisation_id == organisation_id,
                or_(Contact.email == email, func.lower(Contact.email) == email.strip().lower()),
            )
            .order_by(Contact.id)
        )
    )
