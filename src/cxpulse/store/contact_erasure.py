"""Erasing a contact (GDPR art. 17), and the bulk steps that retention shares with it.

Two modes:

- ``anonymise``: each answer keeps what statistics need (survey, score, times, channel,
  touchpoint, language, source, properties that name no one) and loses the rest: the link to
  the contact, the comment, the comment's analysis and theme mentions (they exist to show and
  quote the text; kept without it they would show empty quotes and teach the sentiment model
  from empty strings), the invitation link, the idempotency key (often a ticket or order id)
  and the consent answer. The daily rollups do not move: score, day, channel and touchpoint
  are unchanged. Follow-up cases keep their state, priority and times (the SLA figures) and
  lose their title, resolution reason and every note and email.
- ``delete``: the answers and cases go, the rollups updated in the same transaction.

In both, the contact row, their invitations, the emails queued for those and the inbound
events that created them are deleted, and webhook deliveries and outbox items whose payload
quotes the contact are emptied. Opt-outs (unsubscribes of the address, SMS opt-outs of the
phone) are kept unless asked: they are what stops the organisation writing to the person
again when a later import brings the address back (GDPR art. 21(3)).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, cast, get_args

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from cxpulse import redaction
from cxpulse.store import comment_rollups, rollups
from cxpulse.store.contact_data import case_email_keys, chunks, invitation_email_keys
from cxpulse.store.contacts import get_contact
from cxpulse.store.errors import Invalid
from cxpulse.store.models import (
    AnalysedComment,
    CaseEvent,
    CommentRollup,
    Contact,
    FollowUpCase,
    InboundEvent,
    Invitation,
    OutboxItem,
    ReferralCode,
    Response,
    SmsOptOut,
    ThemeRollup,
    Unsubscribe,
    WebhookDelivery,
)
from cxpulse.store.types import JsonDocument

Mode = Literal["anonymise", "delete"]
MODES: tuple[str, ...] = get_args(Mode)

ANONYMOUS_CASE_TITLE = "Anonymised case"
"""The title of a case whose customer was erased: also how retention knows it is done."""
ERASED_PAYLOAD: dict[str, Any] = {"erased": True}
"""What an outbox item or webhook delivery that quoted an erased contact holds instead."""

IDENTIFYING_WORDS = frozenset(
    {
        # who: names, addresses, numbers that reach the person
        "name", "firstname", "lastname", "fullname", "surname", "naam", "namn",
        "email", "mail", "phone", "mobile", "cell", "tel", "telephone", "telefoon", "telefon",
        "address", "adres", "adress", "street", "postcode", "postal", "zip", "zipcode",
        "postnummer", "birthday", "birthdate", "dob", "ssn", "bsn", "personnummer",
        "passport", "iban", "card", "ip",
        # where they are found in another system: a key into it names them as well
        "customer", "klant", "kund", "user", "username", "account", "login", "member",
        "contact", "external", "order", "ordernummer", "bestelling", "bestelnummer",
        "ticket", "invoice", "booking", "reservation", "tracking", "device", "session",
        "cookie", "kundnummer", "klantnummer",
    }
)  # fmt: skip
"""Words of a property name that say its value identifies a person (``customer_email``,
``orderId``, ``Ticket #``): compared with each word of the name, in any case."""

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def name_words(name: str) -> list[str]:
    """``orderId`` -> order, id; ``customer_e-mail`` -> customer, e, mail."""
    return [word.lower() for word in _WORD.findall(name)]


def identifying_property(name: str, value: object, known: Collection[str] = ()) -> bool:
    """Whether an answer's property would identify its person: its name says so
    (:data:`IDENTIFYING_WORDS`), its value holds personal data by the rules that redact
    comments (``cxpulse.redaction``), or its value is one of ``known`` (the contact's
    address, name, phone, external id; compared in lower case)."""
    if any(word in IDENTIFYING_WORDS for word in name_words(name)):
        return True
    text = "" if value is None else str(value)
    if redaction.redact(text).kinds:
        return True
    return text.strip().lower() in known


def kept_properties(properties: Mapping[str, Any], known: Collection[str] = ()) -> dict[str, Any]:
    """The properties an anonymised answer keeps: segments shared by many people (product,
    plan, region, team, agent)."""
    return {
        name: value
        for name, value in properties.items()
        if not identifying_property(name, value, known)
    }


def known_values(*values: str | None) -> frozenset[str]:
    """A contact's own values, as :func:`identifying_property` compares them."""
    return frozenset(v.strip().lower() for v in values if v and len(v.strip()) >= 3)


@dataclass
class ErasureCounts:
    """What an erasure or a retention batch changed, by kind of record."""

    responses_anonymised: int = 0
    responses_deleted: int = 0
    cases_anonymised: int = 0
    cases_deleted: int = 0
    invitations_deleted: int = 0
    emails_deleted: int = 0
    inbound_events_deleted: int = 0
    referral_codes_unlinked: int = 0
    referral_codes_deleted: int = 0
    opt_outs_deleted: int = 0
    payloads_emptied: int = 0
    contacts_deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def add(self, other: ErasureCounts) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


def check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise Invalid("mode", f"must be one of {', '.join(MODES)}")
    return cast(Mode, mode)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _ids(session: Session, column: Any, *conditions: ColumnElement[bool]) -> list[int]:
    return [int(value) for value in session.scalars(select(column).where(*conditions))]


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# -- answers -----------------------------------------------------------------------------------


def _drop_analyses(session: Session, organisation_id: int, response_ids: Sequence[int]) -> None:
    """Delete the analyses (their mentions cascade) and take them out of the comment and
    theme rollups, as ``comment_analyses.on_response_deleted`` does for one answer."""
    comments, themes = comment_rollups.count_existing(session, response_ids)
    if not comments and not themes:
        return
    for chunk in chunks(response_ids):
        session.execute(
            delete(AnalysedComment).where(
                AnalysedComment.organisation_id == organisation_id,
                AnalysedComment.response_id.in_(chunk),
            )
        )
    _subtract_all(session, _table(CommentRollup), ("survey_id", "day", "score"), comments)
    _subtract_all(
        session,
        _table(ThemeRollup),
        ("survey_id", "theme_id", "day", "score", "sentiment"),
        themes,
    )


def _subtract_all(
    session: Session, table: Table, names: tuple[str, ...], counts: Mapping[Any, int]
) -> None:
    """Subtract many counts in one executemany (a retention batch takes out a thousand keys;
    ``comment_rollups.apply`` runs a statement per key), keys in sorted order like it."""
    if not counts:
        return
    params = [
        {**{f"k_{name}": getattr(key, name) for name in names}, "k_delta": count}
        for key, count in sorted(counts.items())
    ]
    matches = and_(*(table.c[name] == bindparam(f"k_{name}") for name in names))
    updated = session.execute(
        update(table).where(matches).values(count=table.c.count - bindparam("k_delta")), params
    )
    if session.get_bind().dialect.supports_sane_multi_rowcount and _rowcount(updated) != len(
        params
    ):
        raise RuntimeError(f"{table.name} rows are missing: rebuild them to repair it")
    session.execute(
        delete(table).where(matches, table.c.count == 0),
        [{key: value for key, value in row.items() if key != "k_delta"} for row in params],
    )


_ANONYMISE = (
    update(_table(Response))
    .where(_table(Response).c.id == bindparam("response_id"))
    .values(
        contact_id=None,
        comment=None,
        invitation_id=None,
        idempotency_key=None,
        contact_consent=None,
        properties=bindparam("kept", type_=JsonDocument),
    )
)

IDENTIFIED = or_(
    Response.contact_id.is_not(None),
    Response.comment.is_not(None),
    Response.invitation_id.is_not(None),
    Response.idempotency_key.is_not(None),
    Response.contact_consent.is_not(None),
)
"""An answer that anonymising would change whatever its properties."""


def anonymise_responses(session: Session, organisation_id: int, response_ids: Iterable[int]) -> int:
    """Anonymise these answers of the organisation (see the module docstring); the count
    changed. An answer already anonymous is left as it is."""
    updates: list[dict[str, Any]] = []
    for chunk in chunks(response_ids):
        rows = session.execute(
            select(
                Response.id,
                Response.properties,
                IDENTIFIED.label("identified"),
                Contact.email,
                Contact.name,
                Contact.phone,
                Contact.external_id,
            )
            .outerjoin(Contact, Contact.id == Response.contact_id)
            .where(Response.organisation_id == organisation_id, Response.id.in_(chunk))
        ).all()
        for row in rows:
            properties = dict(row.properties or {})
            known = known_values(row.email, row.name, row.phone, row.external_id)
            kept = kept_properties(properties, known)
            if row.identified or kept != properties:
                updates.append({"response_id": row.id, "kept": kept})
    if updates:
        _drop_analyses(session, organisation_id, [item["response_id"] for item in updates])
        session.execute(_ANONYMISE, updates)
    return len(updates)


def delete_responses(session: Session, organisation_id: int, response_ids: Iterable[int]) -> int:
    """Delete these answers of the organisation and take them out of every rollup; the
    count deleted. Their tags, rule matches and theme mentions go with them (the database
    cascades); cases and referral codes lose the link."""
    deleted = 0
    table = _table(Response)
    ids = sorted(set(response_ids))
    _drop_analyses(session, organisation_id, ids)
    deltas: Counter[rollups.RollupKey] = Counter()
    for chunk in chunks(ids):
        gone = session.execute(
            delete(table)
            .where(table.c.organisation_id == organisation_id, table.c.id.in_(chunk))
            .returning(
                table.c.survey_id,
                table.c.submitted_at,
                table.c.channel,
                table.c.touchpoint,
                table.c.score,
            )
        ).all()
        for survey_id, submitted_at, channel, touchpoint, score in gone:
            deltas[
                rollups.key_of(organisation_id, survey_id, submitted_at, channel, touchpoint, score)
            ] -= 1
        deleted += len(gone)
    rollups.apply_deltas(session, deltas)
    return deleted


# -- cases -------------------------------------------------------------------------------------


def anonymise_cases(session: Session, organisation_id: int, case_ids: Iterable[int]) -> int:
    """Empty the cases' title, resolution reason and every note and email of their history;
    their state, priority, team, assignee and times stay (the SLA and closed-loop figures).
    Replies still waiting to be sent are dropped."""
    changed = 0
    for chunk in chunks(case_ids):
        _drop_pending_replies(session, organisation_id, chunk)
        result = session.execute(
            update(FollowUpCase)
            .where(FollowUpCase.organisation_id == organisation_id, FollowUpCase.id.in_(chunk))
            .values(
                title=ANONYMOUS_CASE_TITLE,
                resolution_reason=None,
                contact_id=None,
                resurvey_invitation_id=None,
            )
            .execution_options(synchronize_session=False)
        )
        changed += _rowcount(result)
        session.execute(
            update(CaseEvent)
            .where(CaseEvent.organisation_id == organisation_id, CaseEvent.case_id.in_(chunk))
            .values(body=None, data={}, message_id=None)
            .execution_options(synchronize_session=False)
        )
    return changed


def _drop_pending_replies(session: Session, organisation_id: int, case_ids: list[int]) -> None:
    events = _ids(
        session,
        CaseEvent.id,
        CaseEvent.organisation_id == organisation_id,
        CaseEvent.case_id.in_(case_ids),
    )
    keys = case_email_keys(events)
    for start in range(0, len(keys), 500):
        session.execute(
            delete(OutboxItem)
            .where(
                OutboxItem.organisation_id == organisation_id,
                OutboxItem.dedupe_key.in_(keys[start : start + 500]),
                OutboxItem.state == "pending",
            )
            .execution_options(synchronize_session=False)
        )


def delete_cases(session: Session, organisation_id: int, case_ids: Iterable[int]) -> int:
    """Delete the cases (their history cascades)."""
    deleted = 0
    for chunk in chunks(case_ids):
        _drop_pending_replies(session, organisation_id, chunk)
        result = session.execute(
            delete(FollowUpCase)
            .where(FollowUpCase.organisation_id == organisation_id, FollowUpCase.id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
        deleted += _rowcount(result)
    return deleted


# -- one contact -------------------------------------------------------------------------------


def _quoted_forms(text: str) -> set[str]:
    """How a text appears inside a stored JSON document: as is (PostgreSQL's jsonb), with
    quotes escaped, and with every non-ASCII character escaped (Python's json on SQLite)."""
    return {
        text,
        json.dumps(text, ensure_ascii=False)[1:-1],
        json.dumps(text)[1:-1],
    }


def contact_needles(
    email: str | None,
    phone: str | None,
    external_id: str | None,
    name: str | None,
    comments: Iterable[str],
) -> set[str]:
    """What a stored payload that quotes the contact holds: their address, phone number and
    comments (as written and as shown, redacted) anywhere in it; their external id and name
    as a whole value (``"1234"`` with its quotes), unless the name is long enough to be told
    apart (two words, six letters), so that an id "123" or a name "Ann" does not match every
    payload with those letters."""
    needles: set[str] = set()
    quoted = [c for c in comments if len(c.strip()) >= 8]
    # Events and notices quote a comment as it is shown: with its personal data redacted.
    shown = [redaction.redact(c).text for c in quoted]
    anywhere = [email, *quoted, *(text for text in shown if len(text.strip()) >= 8)]
    whole = [external_id]
    digits = sum(ch.isdigit() for ch in phone or "")
    (anywhere if digits >= 7 else whole).append(phone)
    long_name = bool(name) and " " in str(name).strip() and len(str(name).strip()) >= 6
    (anywhere if long_name else whole).append(name)
    for value in anywhere:
        if value and value.strip():
            needles |= _quoted_forms(value.strip())
    for value in whole:
        if value and value.strip():
            needles |= {json.dumps(value.strip()), json.dumps(value.strip(), ensure_ascii=False)}
    return needles


def _quoting(column: Any, needles: Collection[str]) -> ColumnElement[bool]:
    as_text = sql_cast(column, Text)
    return or_(*(as_text.contains(needle, autoescape=True) for needle in needles))


def _empty_payloads(session: Session, organisation_id: int, needles: set[str]) -> int:
    """Webhook deliveries and outbox items whose payload quotes the contact: pending
    emails are dropped, the others keep their row (the delivery log) without the data."""
    if not needles:
        return 0
    emptied = 0
    for start in range(0, len(sorted(needles)), 20):
        some = sorted(needles)[start : start + 20]
        emptied += _rowcount(
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.organisation_id == organisation_id,
                    _quoting(WebhookDelivery.payload, some),
                )
                .values(payload=ERASED_PAYLOAD, last_error=None)
                .execution_options(synchronize_session=False)
            )
        )
        quoting = (
            OutboxItem.organisation_id == organisation_id,
            _quoting(OutboxItem.payload, some),
        )
        emptied += _rowcount(
            session.execute(
                delete(OutboxItem)
                .where(*quoting, OutboxItem.state == "pending")
                .execution_options(synchronize_session=False)
            )
        )
        emptied += _rowcount(
            session.execute(
                update(OutboxItem)
                .where(*quoting)
                .values(payload=ERASED_PAYLOAD, last_error=None)
                .execution_options(synchronize_session=False)
            )
        )
    return emptied


def erase_contact(
    session: Session,
    organisation_id: int,
    contact_id: int,
    mode: str,
    *,
    keep_opt_outs: bool = True,
) -> ErasureCounts:
    """Erase the contact everywhere, in the caller's transaction (see the module docstring).
    ``NotFound`` unless the contact is the organisation's."""
    chosen = check_mode(mode)
    org = organisation_id
    contact = get_contact(session, org, contact_id)
    email, phone = contact.email, contact.phone
    response_ids = _ids(
        session, Response.id, Response.organisation_id == org, Response.contact_id == contact_id
    )
    comments = session.scalars(
        select(Response.comment).where(
            Response.organisation_id == org,
            Response.contact_id == contact_id,
            Response.comment.is_not(None),
        )
    ).all()
    needles = contact_needles(
        email, phone, contact.external_id, contact.name, [c for c in comments if c]
    )
    counts = ErasureCounts()
    case_ids: set[int] = set(
        _ids(
            session,
            FollowUpCase.id,
            FollowUpCase.organisation_id == org,
            FollowUpCase.contact_id == contact_id,
        )
    )
    for chunk in chunks(response_ids):
        case_ids |= set(
            _ids(
                session,
                FollowUpCase.id,
                FollowUpCase.organisation_id == org,
                FollowUpCase.response_id.in_(chunk),
            )
        )
    code_link = or_(
        ReferralCode.contact_id == contact_id,
        *(ReferralCode.response_id.in_(chunk) for chunk in chunks(response_ids)),
    )
    if chosen == "delete":
        counts.cases_deleted = delete_cases(session, org, case_ids)
        counts.referral_codes_deleted = _rowcount(
            session.execute(
                delete(ReferralCode)
                .where(ReferralCode.organisation_id == org, code_link)
                .execution_options(synchronize_session=False)
            )
        )
        counts.responses_deleted = delete_responses(session, org, response_ids)
    else:
        counts.cases_anonymised = anonymise_cases(session, org, case_ids)
        counts.referral_codes_unlinked = _rowcount(
            session.execute(
                update(ReferralCode)
                .where(ReferralCode.organisation_id == org, code_link)
                .values(contact_id=None, redeemed_reference=None)
                .execution_options(synchronize_session=False)
            )
        )
        counts.responses_anonymised = anonymise_responses(session, org, response_ids)
    invitation_ids = _ids(
        session,
        Invitation.id,
        Invitation.organisation_id == org,
        Invitation.contact_id == contact_id,
    )
    keys = invitation_email_keys(invitation_ids)
    for start in range(0, len(keys), 500):
        counts.emails_deleted += _rowcount(
            session.execute(
                delete(OutboxItem)
                .where(
                    OutboxItem.organisation_id == org,
                    OutboxItem.dedupe_key.in_(keys[start : start + 500]),
                )
                .execution_options(synchronize_session=False)
            )
        )
    for chunk in chunks(invitation_ids):
        counts.inbound_events_deleted += _rowcount(
            session.execute(
                delete(InboundEvent)
                .where(InboundEvent.organisation_id == org, InboundEvent.invitation_id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
        )
        counts.invitations_deleted += _rowcount(
            session.execute(
                delete(Invitation)
                .where(Invitation.organisation_id == org, Invitation.id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
        )
    if not keep_opt_outs:
        counts.opt_outs_deleted = _delete_opt_outs(session, org, email, phone)
    counts.payloads_emptied = _empty_payloads(session, org, needles)
    session.execute(
        delete(Contact)
        .where(Contact.organisation_id == org, Contact.id == contact_id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(contact)
    counts.contacts_deleted = 1
    return counts


def _delete_opt_outs(
    session: Session, organisation_id: int, email: str | None, phone: str | None
) -> int:
    deleted = 0
    if email:
        deleted += _rowcount(
            session.execute(
                delete(Unsubscribe)
                .where(
                    Unsubscribe.organisation_id == organisation_id,
                    func.lower(Unsubscribe.email) == email.strip().lower(),
                )
                .execution_options(synchronize_session=False)
            )
        )
    if phone:
        deleted += _rowcount(
            session.execute(
                delete(SmsOptOut)
                .where(SmsOptOut.organisation_id == organisation_id, SmsOptOut.phone == phone)
                .execution_options(synchronize_session=False)
            )
        )
    return deleted
