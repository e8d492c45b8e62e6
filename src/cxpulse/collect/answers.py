"""A respondent's answer from a survey page: checked, then stored or updated.

One answer per form and per invitation: the first submit stores a response, a later one
(a double click, a changed mind on the comment step, the email link clicked again) updates
that same response, keeps the rollups equal to a recount (``responses.update_response``
moves the count between rollup keys) and writes an audit-log entry of what changed.

- Public link: the form token's nonce is the response's idempotency key (``page:<nonce>``),
  so the same form sent twice is one response.
- Personal link: the invitation's response is found by ``invitation_id`` (unique), and its
  idempotency key is ``invitation:<id>``, so that two first submits racing on PostgreSQL
  end as one insert and one update.

After a low score a personal link also asks "may we contact you about this?" when the survey's
``contact_consent`` option is on: the answer is stored in ``Response.contact_consent`` (true or
false; ``None`` when not asked). A score outside the bottom band clears it: the consent was
about that low score. A form that did not ask (the one-click post, a public link, a survey
that does not ask) leaves it as it was; a forged ``contact_ok`` field is ignored.

``parse_answer`` is pure; problems carry an English message id and its parameters, which
the page translates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.metrics import MetricSpec
from cxpulse.store import _values as values
from cxpulse.store import audit, responses
from cxpulse.store.models import MAX_COMMENT_LENGTH, Invitation, Response, Survey

REASONS_PROPERTY = "reasons"
REASONS_SEPARATOR = "; "
MAX_SCORE_TEXT = 8


class AnswerProblem(ValueError):
    """An answer that cannot be stored: ``message`` is an English message id of the pages
    catalog, ``params`` its ``%(name)`` values."""

    def __init__(self, field: str, message: str, **params: int | str) -> None:
        super().__init__(message % params if params else message)
        self.field = field
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Answer:
    score: int
    comment: str | None
    comment_given: bool
    """False when the form had no comment field (the one-click post): keep the stored one."""
    reasons: tuple[str, ...]
    reasons_given: bool
    """False when the form did not show the reasons: keep the stored ones."""
    consent: bool | None = None
    """May the organisation contact the respondent about this low score; None: not asked."""
    consent_given: bool = False
    """True when the form asked (and the score is low): store ``consent``."""


def _one(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    found = form.get(name)
    return found[-1] if found else None


def parse_score(text: str | None, spec: MetricSpec) -> int:
    scale = spec.scale
    problem = AnswerProblem(
        "score",
        "Please choose an answer from %(low)d to %(high)d.",
        low=scale.low,
        high=scale.high,
    )
    if text is None or not 0 < len(text.strip()) <= MAX_SCORE_TEXT:
        raise problem
    cleaned = text.strip()
    if not (cleaned.isascii() and cleaned.lstrip("-").isdigit()):
        raise problem
    value = int(cleaned)
    if not scale.contains(value):
        raise problem
    return value


def is_low(score: float, spec: MetricSpec) -> bool:
    return score <= spec.thresholds.bottom_max


def is_top(score: float, spec: MetricSpec) -> bool:
    return score >= spec.thresholds.top_min


CONSENT_SHOWN = "consent_shown"
"""The form field that says the consent question was on the page."""
CONSENT_FIELD = "contact_ok"
"""The checkbox of the consent question; ticked it sends ``yes``."""


def parse_answer(
    form: Mapping[str, Sequence[str]],
    spec: MetricSpec,
    offered_reasons: Sequence[str],
    *,
    consent_offered: bool = False,
) -> Answer:
    """The answer in a submitted form; raises ``AnswerProblem`` naming the field.

    Reasons count only after a low score, and only those the page offered; so does the
    consent, and only when the page could offer it (``consent_offered``).
    """
    score = parse_score(_one(form, "score"), spec)
    comment_text = _one(form, "comment")
    comment: str | None = None
    if comment_text is not None:
        # The store's rule of text (``store._values``): the API and the widget refuse the
        # same characters; here the respondent is told which one, to remove it.
        found = values.refused_character(comment_text)
        if found is not None:
            raise AnswerProblem(
                "comment",
                "Your comment holds a character that cannot be stored (%(character)s at "
                "position %(position)d). Please remove it and send again.",
                character=found[0],
                position=found[1],
            )
        comment = comment_text.strip() or None
        if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
            raise AnswerProblem(
                "comment",
                "Your comment is %(length)d characters long; at most %(limit)d fit.",
                length=len(comment),
                limit=MAX_COMMENT_LENGTH,
            )
    reasons_given = _one(form, "reasons_shown") is not None
    chosen: list[str] = []
    if is_low(score, spec):
        for reason in form.get("reasons", ()):
            if reason not in offered_reasons:
                raise AnswerProblem("reasons", "Please choose reasons from the list.")
            if reason not in chosen:
                chosen.append(reason)
    consent_given = (
        consent_offered and is_low(score, spec) and _one(form, CONSENT_SHOWN) is not None
    )
    return Answer(
        score=score,
        comment=comment,
        comment_given=comment_text is not None,
        reasons=tuple(chosen),
        reasons_given=reasons_given,
        consent=(_one(form, CONSENT_FIELD) == "yes") if consent_given else None,
        consent_given=consent_given,
    )


def _consent_change(answer: Answer, spec: MetricSpec) -> bool | values.Unset | None:
    """What an answer does to the stored consent: set it, clear it, or leave it."""
    if not is_low(answer.score, spec):
        return None
    if answer.consent_given:
        return answer.consent
    return values.UNSET


def _properties(base: Mapping[str, Any], answer: Answer, spec: MetricSpec) -> dict[str, str]:
    properties = {str(k): str(v) for k, v in base.items() if k != REASONS_PROPERTY}
    if answer.reasons and is_low(answer.score, spec):
        properties[REASONS_PROPERTY] = REASONS_SEPARATOR.join(answer.reasons)
    return properties


@dataclass(frozen=True)
class Recorded:
    response_id: int
    score: float
    created: bool
    consent: bool | None = None
    """The consent stored with the response (the thank-you page words what happens next)."""


def _update(
    session: Session,
    response: Response,
    answer: Answer,
    language: str,
    spec: MetricSpec,
    base_properties: Mapping[str, Any],
    actor: str,
) -> Recorded:
    # Lock the row and read it afresh: another request may have changed it since this
    # session loaded it, and the rollup key moved from must be the one stored now.
    session.refresh(response, with_for_update=True)
    before_score = response.score
    before_comment = response.comment
    before_reasons = response.properties.get(REASONS_PROPERTY)
    before_consent = response.contact_consent
    if answer.reasons_given or not is_low(answer.score, spec):
        properties = _properties(base_properties, answer, spec)
    else:
        properties = dict(response.properties)
    comment = answer.comment if answer.comment_given else before_comment
    updated = responses.update_response(
        session,
        response.organisation_id,
        response.id,
        score=float(answer.score),
        comment=comment,
        language=language,
        properties=properties,
        contact_consent=_consent_change(answer, spec),
    )
    after_reasons = updated.properties.get(REASONS_PROPERTY)
    consent_change = (
        {"contact_consent": {"before": before_consent, "after": updated.contact_consent}}
        if before_consent != updated.contact_consent
        else {}
    )
    details = {
        "score": {"before": before_score, "after": updated.score},
        "comment_changed": before_comment != updated.comment,
        "reasons": {"before": before_reasons, "after": after_reasons},
    }
    audit_change(session, updated, actor, details | consent_change)
    return Recorded(updated.id, updated.score, created=False, consent=updated.contact_consent)


def audit_change(
    session: Session, response: Response, actor: str, details: Mapping[str, Any]
) -> None:
    """The audit entry of an answer sent again that changed ``response``: ``details`` says
    what changed, never with the comment's text (it is the respondent's, and may hold
    personal data)."""
    audit.record(
        session,
        response.organisation_id,
        actor=actor,
        action="update",
        entity="response",
        entity_id=response.id,
        details=details,
    )


def add_answer(
    session: Session, survey: Survey, answer: Answer, *, language: str, **fields: Any
) -> tuple[Response, bool]:
    """A first answer of a personal or unsigned link stored as a new response of ``survey``
    with its score and comment (``fields``: the rest of ``responses.add_response``'s, such
    as the channel, the properties and the idempotency key); the response stored before
    under that key, with ``False``, when there is one."""
    return responses.add_response(
        session,
        survey.organisation_id,
        survey.id,
        float(answer.score),
        comment=answer.comment,
        language=language,
        **fields,
    )


def public_item(
    survey: Survey, answer: Answer, *, language: str, form_nonce: str
) -> responses.NewResponse:
    """The response a public-link answer stores: the web server hands it to the group
    writer of submissions, like an API submission."""
    return responses.NewResponse(
        survey_id=survey.id,
        score=float(answer.score),
        comment=answer.comment,
        language=language,
        channel="web",
        source="web",
        properties=_properties({}, answer, survey.metric_spec()),
        idempotency_key=f"page:{form_nonce}",
    )


def update_public(
    session: Session, survey: Survey, response_id: int, answer: Answer, *, language: str
) -> Recorded:
    """The same form sent again: change the response it stored."""
    response = responses.get_response(session, survey.organisation_id, response_id)
    return _update(session, response, answer, language, survey.metric_spec(), {}, "respondent:web")


def record_public(
    session: Session, survey: Survey, answer: Answer, *, language: str, form_nonce: str
) -> Recorded:
    """Store (or, for the same form sent again, update) an answer from the public link."""
    item = public_item(survey, answer, language=language, form_nonce=form_nonce)
    ((response, created),) = responses.add_responses(session, survey.organisation_id, [item])
    if created:
        return Recorded(response.id, response.score, created=True)
    return update_public(session, survey, response.id, answer, language=language)


def record_personal(
    session: Session, survey: Survey, invitation: Invitation, answer: Answer, *, language: str
) -> Recorded:
    """Store the invitation's response, or update it when there is one already."""
    spec = survey.metric_spec()
    actor = f"invitation:{invitation.id}"
    existing = responses.find_by_invitation(
        session, survey.organisation_id, invitation.id, lock=True
    )
    if existing is not None:
        return _update(session, existing, answer, language, spec, invitation.properties, actor)
    response, created = add_answer(
        session,
        survey,
        answer,
        language=language,
        channel=invitation.channel or "email",
        source="email",
        properties=_properties(invitation.properties, answer, spec),
        idempotency_key=f"invitation:{invitation.id}",
        contact_id=invitation.contact_id,
        invitation_id=invitation.id,
    )
    if created:
        if answer.consent_given:
            # The insert path carries no consent (``NewResponse`` has no such field): set in
            # the same transaction, so it is stored with the answer or not at all.
            response = responses.update_response(
                session, survey.organisation_id, response.id, contact_consent=answer.consent
            )
        return Recorded(response.id, response.score, created=True, consent=answer.consent)
    # Another request stored the first answer meanwhile: this one is the change.
    return _update(session, response, answer, language, spec, invitation.properties, actor)
