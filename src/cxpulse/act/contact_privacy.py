"""A contact's data-subject requests: the export of everything held about them (GDPR art. 15
and 20) and their erasure (art. 17), each recorded in the audit log without the data itself.

The document is assembled here from the rows ``store.contact_data`` reads (pure), grouped the
way a person reads it: their answers, each with what was derived from it; their invitations,
each with its emails; their follow-up cases, each with its history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.store import audit, contact_data, contact_erasure, contacts
from cxpulse.store.contact_data import ContactRecords, Row
from cxpulse.store.contact_erasure import ErasureCounts
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation
from cxpulse.store.types import utc_now

FORMAT = "cxpulse.contact-data/1"
"""Names the document's layout, so that a reader can tell a later one."""

ENTITY = "contact"
EXPORT_ACTION = "export"
ERASE_ACTION = "erase"


def plain(value: Any) -> Any:
    """A value as JSON holds it: times in ISO 8601, mappings and sequences walked."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _by(rows: Iterable[Row], key: str) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _without(row: Row, *names: str) -> Row:
    return {key: value for key, value in row.items() if key not in names}


def document(
    records: ContactRecords, *, organisation: Mapping[str, Any], exported_at: datetime
) -> dict[str, Any]:
    """The export of one contact's records as a JSON-ready document."""
    surveys = {row["id"]: {k: row[k] for k in ("id", "slug", "name")} for row in records.surveys}
    analyses = {row["response_id"]: row for row in records.analyses}
    themes = _by(records.themes, "response_id")
    tags = _by(records.tags, "response_id")
    matches = _by(records.rule_matches, "response_id")
    emails = _by(records.outbox, "invitation_id")
    inbound = _by(records.inbound_events, "invitation_id")
    events = _by(records.case_events, "case_id")
    replies = _by(records.case_emails, "event_id")
    answers = [
        {
            **_without(row, "organisation_id"),
            "survey": surveys.get(row["survey_id"]),
            "analysis": _analysis(analyses.get(row["id"])),
            "themes": [_without(t, "response_id") for t in themes.get(row["id"], [])],
            "tags": [t["tag"] for t in tags.get(row["id"], [])],
            "rule_matches": [
                _without(m, "organisation_id", "response_id") for m in matches.get(row["id"], [])
            ],
        }
        for row in records.responses
    ]
    invitations = [
        {
            **_without(row, "organisation_id"),
            "survey": surveys.get(row["survey_id"]),
            "emails": [
                _without(e, "organisation_id", "invitation_id") for e in emails.get(row["id"], [])
            ],
            "inbound_events": [
                _without(e, "organisation_id", "invitation_id") for e in inbound.get(row["id"], [])
            ],
        }
        for row in records.invitations
    ]
    cases = [
        {
            **_without(row, "organisation_id"),
            "events": [
                {
                    **_without(e, "organisation_id", "case_id"),
                    "emails": [
                        _without(r, "organisation_id", "event_id") for r in replies.get(e["id"], [])
                    ],
                }
                for e in events.get(row["id"], [])
            ],
        }
        for row in records.cases
    ]
    exported: dict[str, Any] = plain(
        {
            "format": FORMAT,
            "exported_at": exported_at,
            "organisation": dict(organisation),
            "contact": _without(records.contact, "organisation_id"),
            "answers": answers,
            "invitations": invitations,
            "cases": cases,
            "referral_codes": [_without(r, "organisation_id") for r in records.referral_codes],
            "unsubscribes": [_without(r, "organisation_id") for r in records.unsubscribes],
            "sms_opt_outs": [_without(r, "organisation_id") for r in records.sms_opt_outs],
        }
    )
    return exported


def _analysis(row: Row | None) -> Row | None:
    if row is None:
        return None
    return _without(row, "organisation_id", "response_id", "survey_id", "submitted_at", "score")


def export_contact(session: Session, organisation_id: int, contact_id: int) -> dict[str, Any]:
    """Everything held about the contact (reads only: ``record_export`` logs it)."""
    records = contact_data.contact_records(session, organisation_id, contact_id)
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None
    return document(
        records,
        organisation={"id": organisation.id, "name": organisation.name},
        exported_at=utc_now(),
    )


def record_export(session: Session, organisation_id: int, contact_id: int, *, actor: str) -> None:
    """The audit entry of an export: who, when, which contact (never the data)."""
    audit.record(
        session,
        organisation_id,
        actor=actor,
        action=EXPORT_ACTION,
        entity=ENTITY,
        entity_id=contact_id,
    )


def confirms(confirmation: str, contact_id: int, email: str | None) -> bool:
    """Whether the confirmation repeats the contact's id or e-mail address (any case)."""
    given = confirmation.strip()
    if given == str(contact_id):
        return True
    return bool(email) and given.lower() == str(email).strip().lower()


@dataclass(frozen=True)
class Erasure:
    contact_id: int
    mode: str
    counts: ErasureCounts
    already_erased: bool = False
    """The contact was erased before: nothing left to do (the counts are zero)."""


def _earlier_erasure(session: Session, organisation_id: int, contact_id: int) -> str | None:
    """The mode of an earlier erasure of this contact, from the audit log."""
    for entry in audit.list_entries(
        session, organisation_id, entity=ENTITY, entity_id=contact_id, limit=20
    ):
        if entry.action == ERASE_ACTION:
            return str(entry.details.get("mode", ""))
    return None


def erase_contact(
    session: Session,
    organisation_id: int,
    contact_id: int,
    *,
    mode: str,
    confirmation: str,
    actor: str,
    keep_opt_outs: bool = True,
) -> Erasure:
    """Erase the contact (``store.contact_erasure``) in the caller's transaction, once the
    confirmation repeats their id or address, and record it with the counts. Erasing an
    erased contact again changes nothing and says so."""
    chosen = contact_erasure.check_mode(mode)
    try:
        contact = contacts.get_contact(session, organisation_id, contact_id)
    except NotFound:
        earlier = _earlier_erasure(session, organisation_id, contact_id)
        if earlier is None:
            raise
        if not confirms(confirmation, contact_id, None):
            raise Invalid("confirm", "must repeat the contact's id") from None
        return Erasure(contact_id, earlier, ErasureCounts(), already_erased=True)
    if not confirms(confirmation, contact_id, contact.email):
        raise Invalid("confirm", "must repeat the contact's id or e-mail address")
    counts = contact_erasure.erase_contact(
        session, organisation_id, contact_id, chosen, keep_opt_outs=keep_opt_outs
    )
    audit.record(
        session,
        organisation_id,
        actor=actor,
        action=ERASE_ACTION,
        entity=ENTITY,
        entity_id=contact_id,
        details={"mode": chosen, "keep_opt_outs": keep_opt_outs, **counts.as_dict()},
    )
    return Erasure(contact_id, chosen, counts)
