"""A person with a record of every kind a contact can have, for the privacy tests: answers
with comments, identifying properties, analyses, themes, tags and rule matches; a referral
code; invitations with their emails and the inbound event that made one; a follow-up case
with notes and emails; opt-outs of the address and phone; a webhook delivery quoting them.
And the checks those tests share: every text column of every table searched for a value, and
the rollups against a recount."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from cxpulse.store import comment_rollups, contacts, outbox, responses, rollups
from cxpulse.store.comment_analyses import NewAnalysis, NewMention, write_analyses
from cxpulse.store.models import (
    Base,
    CaseEvent,
    FollowUpCase,
    InboundEndpoint,
    InboundEvent,
    Invitation,
    ReferralCode,
    ResponseTag,
    Rule,
    RuleMatch,
    SmsOptOut,
    TextTheme,
    Unsubscribe,
    WebhookDelivery,
    WebhookEndpoint,
)

MOMENT = datetime(2024, 3, 1, 12, tzinfo=UTC)


@dataclass
class Person:
    contact_id: int
    email: str
    name: str
    phone: str
    external_id: str
    order: str
    comments: list[str]
    response_ids: list[int] = field(default_factory=list)
    invitation_ids: list[int] = field(default_factory=list)
    case_id: int = 0
    code: str = ""

    def secrets(self) -> list[str]:
        """What must be found nowhere once the person is erased."""
        return [self.email, self.name, self.phone, self.external_id, self.order, *self.comments]


def _theme(session: Session, organisation_id: int, key: str) -> TextTheme:
    found = session.scalar(
        select(TextTheme).where(TextTheme.organisation_id == organisation_id, TextTheme.key == key)
    )
    if found is None:
        found = TextTheme(
            organisation_id=organisation_id, key=key, name=key.title(), origin="custom"
        )
        session.add(found)
        session.flush()
    return found


def build_person(
    session: Session,
    organisation_id: int,
    survey_id: int,
    slug: str,
    *,
    at: datetime = MOMENT,
) -> Person:
    """A person ``slug`` (``Anna Lindqvist-<slug>``, ``<slug>@example.se``) with a record of
    every kind, answers from ``at`` on, one a day."""
    person = Person(
        contact_id=0,
        email=f"{slug}@example.se",
        name=f"Anna Lindqvist-{slug}",
        phone=f"+4670{sum(map(ord, slug)) * 7919 % 10_000_000:07d}",
        external_id=f"crm-{slug}",
        order=f"ORD-{slug}-778",
        comments=[
            f"The parcel for {slug} came late, call me on 070-123 45 67 ({slug}-1)",
            f"Lovely staff, thanks from Anna Lindqvist-{slug}",
            f"Too slow refund, my address is {slug}@example.se",
        ],
    )
    contact = contacts.create_contact(
        session,
        organisation_id,
        external_id=person.external_id,
        email=person.email,
        name=person.name,
        attributes={"plan": "pro", "vip": "yes"},
    )
    contact.phone = person.phone
    person.contact_id = contact.id
    stored = responses.add_responses(
        session,
        organisation_id,
        [
            responses.NewResponse(
                survey_id=survey_id,
                score=float(score),
                submitted_at=at + timedelta(days=n),
                channel="email",
                touchpoint="after delivery",
                comment=comment,
                properties={
                    "order_id": person.order,
                    "product": "Shoes",
                    "contact_note": person.name,
                    "reference": person.email.upper(),
                    "region": "Skåne",
                },
                contact_id=contact.id,
                idempotency_key=f"zendesk-{slug}-{n}",
            )
            for n, (score, comment) in enumerate(zip((1, 5, 2), person.comments, strict=True))
        ],
    )
    answers = [response for response, _ in stored]
    person.response_ids = [answer.id for answer in answers]
    delivery = _theme(session, organisation_id, "delivery")
    write_analyses(
        session,
        organisation_id,
        "test.1",
        [
            NewAnalysis(
                response_id=answer.id,
                comment=str(answer.comment),
                score=answer.score,
                language="en",
                sentiment="negative" if answer.score < 3 else "positive",
                sentiment_source="score",
                redacted_comment=str(answer.comment).replace(person.email, "[email]"),
                mentions=(NewMention(delivery.id, "negative"),),
            )
            for answer in answers
        ],
    )
    rule = Rule(organisation_id=organisation_id, name=f"unhappy {slug}", conditions={}, actions={})
    session.add(rule)
    session.flush()
    first = answers[0]
    session.add_all(
        [
            ResponseTag(organisation_id=organisation_id, response_id=first.id, tag="unhappy"),
            RuleMatch(
                organisation_id=organisation_id,
                rule_id=rule.id,
                response_id=first.id,
                outcome={"case": True},
            ),
        ]
    )
    person.code = f"REF-{slug}"[:32]
    session.add(
        ReferralCode(
            organisation_id=organisation_id,
            survey_id=survey_id,
            response_id=answers[1].id,
            contact_id=contact.id,
            code=person.code,
            redeemed_reference=person.order,
        )
    )
    endpoint = InboundEndpoint(
        organisation_id=organisation_id,
        survey_id=survey_id,
        name=f"helpdesk {slug}",
        token=secrets.token_hex(8),
        secret="s",
    )
    session.add(endpoint)
    session.flush()
    for n in range(2):
        invitation = Invitation(
            organisation_id=organisation_id,
            survey_id=survey_id,
            contact_id=contact.id,
            status="sent" if n == 0 else "scheduled",
            properties={"ticket": f"T-{slug}-{n}", "order_id": person.order},
            send_at=at,
        )
        session.add(invitation)
        session.flush()
        person.invitation_ids.append(invitation.id)
        outbox.enqueue(session, organisation_id, "invitation", f"invitation:{invitation.id}", {
            "invitation_id": invitation.id
        })  # fmt: skip
        outbox.enqueue(session, organisation_id, "reminder", f"reminder:{invitation.id}", {
            "invitation_id": invitation.id
        })  # fmt: skip
    session.add(
        InboundEvent(
            organisation_id=organisation_id,
            endpoint_id=endpoint.id,
            source_event_id=f"ticket-{slug}-solved",
            outcome=f"invited {person.email}",
            invitation_id=person.invitation_ids[0],
        )
    )
    case = FollowUpCase(
        organisation_id=organisation_id,
        survey_id=survey_id,
        response_id=first.id,
        contact_id=contact.id,
        rule_id=rule.id,
        title=f"{person.name} gave 1",
        resolution_reason=f"Refunded {person.order}",
        reply_token=secrets.token_hex(16),
        state="resolved",
        created_at=at,
    )
    session.add(case)
    session.flush()
    person.case_id = case.id
    reply = CaseEvent(
        organisation_id=organisation_id,
        case_id=case.id,
        kind="email_out",
        body=f"Dear {person.name}, sorry about {person.order}",
        data={"to": person.email},
        message_id=f"<case-{slug}@example.se>",
    )
    session.add_all(
        [
            CaseEvent(
                organisation_id=organisation_id,
                case_id=case.id,
                kind="note",
                body=f"Called {person.name} on {person.phone}",
            ),
            reply,
        ]
    )
    session.flush()
    outbox.enqueue(
        session,
        organisation_id,
        "case-reply",
        f"case-reply:{reply.id}",
        {"case_id": case.id, "event_id": reply.id},
    )
    session.add_all(
        [
            Unsubscribe(organisation_id=organisation_id, email=person.email, source="link"),
            SmsOptOut(organisation_id=organisation_id, phone=person.phone, keyword="STOP"),
        ]
    )
    hook = WebhookEndpoint(
        organisation_id=organisation_id, url="https://hooks.example/x", secret="whsec_x"
    )
    session.add(hook)
    session.flush()
    session.add(
        WebhookDelivery(
            organisation_id=organisation_id,
            endpoint_id=hook.id,
            event_id=f"msg_{slug}",
            event_type="response.created",
            payload={
                "comment": person.comments[2],
                "contact": {"email": person.email, "name": person.name},
            },
        )
    )
    session.flush()
    return person


def text_columns() -> list[Any]:
    """Every column of every table that can hold text (JSON documents included)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if (
                isinstance(column.type, String | Text | JSON)
                or "JSON" in type(column.type).__name__
            ):
                found.append(column)
    return found


def places_holding(session: Session, needles: list[str]) -> list[str]:
    """``table.column`` for each needle found in any text column (JSON read as Python
    values, so escapes do not hide a value)."""
    hits = []
    for column in text_columns():
        for value in session.scalars(select(column).where(column.is_not(None))):
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            for needle in needles:
                if needle.lower() in text.lower():
                    hits.append(f"{column.table.name}.{column.name}: {needle}")
    return sorted(set(hits))


def rollups_match(session: Session, organisation_id: int) -> None:
    assert rollups.stored(session, organisation_id) == rollups.recount(session, organisation_id)
    assert comment_rollups.stored(session, organisation_id) == comment_rollups.recount(
        session, organisation_id
    )
