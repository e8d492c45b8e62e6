"""Answers through an unsigned link: the "ticket solved" email of a helpdesk (Zendesk, or any
tool that fills ``{ticket}``-style placeholders) links to ``/t/{organisation}/{survey}``
with ``?score=N&ticket=...&agent=...&customer=...``.

Nobody signed those links, so anyone who knows the address can send an answer with any
ticket, agent or customer: each answer is stored with ``Response.unverified`` set, so that
reports and exports can tell it apart (or leave it out), and the web door limits how many
come from one address. The placeholders become the response's ``properties`` through the
same rules as every door (``store._values.text_mapping``); a placeholder the helpdesk left
unfilled (``{{ticket.id}}``, ``{agent}``) is dropped rather than stored as if it were a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy.orm import Session

from cxpulse.collect.answers import (
    REASONS_PROPERTY,
    REASONS_SEPARATOR,
    Answer,
    Recorded,
    add_answer,
    audit_change,
    is_low,
)
from cxpulse.store import _values as values
from cxpulse.store import responses
from cxpulse.store.models import Survey

PLACEHOLDER_FIELDS = ("ticket", "agent", "customer")
"""The query parameters stored as properties, in this order."""
ACTOR = "respondent:unsigned"
"""Who the audit log says changed an unsigned answer sent again."""
CHANNEL = "email"
SOURCE = "email"

# ``{{ticket.id}}`` (Liquid, Zendesk), ``{ticket}`` (our generic template), ``%ticket%``,
# ``[ticket]``, ``$ticket``: what a helpdesk sends when it did not fill the placeholder in.
_UNFILLED = re.compile(r"\{\{.*\}\}|\{[\w.]+\}|%[\w.]+%|\[[\w.]+\]|\$[\w.]+")


def placeholders(query: Mapping[str, str]) -> dict[str, str]:
    """The ticket, agent and customer of a link's query, checked by the rules of properties;
    raises ``Invalid`` naming the field (``properties.ticket``) for a value that cannot be
    stored. Blank and unfilled ones are left out."""
    found: dict[str, str] = {}
    for name in PLACEHOLDER_FIELDS:
        given = query.get(name)
        if given is None:
            continue
        cleaned = given.strip()
        if cleaned and not _UNFILLED.fullmatch(cleaned):
            found[name] = cleaned
    return values.text_mapping("properties", found)


def _properties(found: Mapping[str, str], answer: Answer, survey: Survey) -> dict[str, str]:
    properties = dict(found)
    if answer.reasons and is_low(answer.score, survey.metric_spec()):
        properties[REASONS_PROPERTY] = REASONS_SEPARATOR.join(answer.reasons)
    return properties


def record_unsigned(
    session: Session,
    survey: Survey,
    answer: Answer,
    *,
    language: str,
    form_nonce: str,
    found: Mapping[str, str],
) -> Recorded:
    """Store an unverified answer with its placeholders as properties; the same form sent
    again (a double click, survey.js's early post) changes the answer it stored."""
    properties = _properties(found, answer, survey)
    stored, created = add_answer(
        session,
        survey,
        answer,
        language=language,
        channel=CHANNEL,
        source=SOURCE,
        properties=properties,
        idempotency_key=f"unsigned:{form_nonce}",
        unverified=True,
    )
    if created:
        return Recorded(stored.id, stored.score, created=True)
    before = stored.score
    updated = responses.update_response(
        session,
        survey.organisation_id,
        stored.id,
        score=float(answer.score),
        comment=answer.comment if answer.comment_given else values.UNSET,
        language=language,
        properties=properties,
    )
    audit_change(session, updated, ACTOR, {"score": {"before": before, "after": updated.score}})
    return Recorded(updated.id, updated.score, created=False)
