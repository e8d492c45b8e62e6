"""A rule's actions: the JSON document checked into typed values, and running them on one
matched answer in the caller's transaction.

The document (at least one action)::

    {
      "case": {"priority": "high", "team_id": 2, "assignee_user_id": null, "title": null},
      "email": {"user_ids": [4], "addresses": ["cx-lead@example.com"]},
      "notify": {"endpoint_ids": [3]},
      "sms": {"phones": ["+46701234567"]},
      "tag": ["vip-detractor"],
      "review_request": true,
      "referral_code": true,
      "passive_question": true
    }

``case`` opens a follow-up case (``act.cases.open_case``); ``email`` queues a "rule-notice"
email to users of the organisation or to addresses; ``notify`` posts to the organisation's
webhook endpoints (Slack, Teams or signed JSON: ``act.events.notify_endpoint``); ``sms``
texts the notice to staff phones (``act.sms_sending``, at most once each); ``tag`` labels
the answer. The customer emails go to promoters and passives only, whatever the
conditions say: ``review_request`` (the survey's review link) and ``referral_code`` (a
personal single-use code) to a promoter, one "promoter-email" holding both;
``passive_question`` ("what would make it a 10?") to a passive. None goes to an address
that unsubscribed or to a respondent who said no to being contacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.act import cases, events, sms_sending
from cxpulse.act.rule_conditions import InvalidRule, Problem, band_of
from cxpulse.collect import sms
from cxpulse.collect.links import UNSUBSCRIBE_LINK_DAYS, LinkSigner
from cxpulse.redaction import redact
from cxpulse.store import _values as values
from cxpulse.store import outbox, referral_codes, response_tags
from cxpulse.store.email_addresses import email_problem
from cxpulse.store.errors import Invalid
from cxpulse.store.invitations import is_unsubscribed
from cxpulse.store.models import CASE_PRIORITIES, Rule, Survey, Team, User, WebhookEndpoint
from cxpulse.store.response_tags import MAX_TAG_LENGTH
from cxpulse.store.rule_inputs import AnswerRow
from cxpulse.store.survey_options import parse_options

__all__ = [
    "NOTICE_KIND",
    "PASSIVE_KIND",
    "PROMOTER_KIND",
    "Actions",
    "check_references",
    "parse_actions",
    "run_actions",
]

NOTICE_KIND = "rule-notice"
PROMOTER_KIND = "promoter-email"
PASSIVE_KIND = "passive-email"
KNOWN_KEYS = (
    "case",
    "email",
    "notify",
    "sms",
    "tag",
    "review_request",
    "referral_code",
    "passive_question",
)
MAX_RECIPIENTS = 20
MAX_TAGS = 10
MAX_TITLE = 300


@dataclass(frozen=True)
class CaseAction:
    priority: str = "normal"
    team_id: int | None = None
    assignee_user_id: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class Actions:
    case: CaseAction | None = None
    user_ids: tuple[int, ...] = ()
    addresses: tuple[str, ...] = ()
    endpoint_ids: tuple[int, ...] = ()
    phones: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    review_request: bool = False
    referral_code: bool = False
    passive_question: bool = False
    document: Mapping[str, Any] = field(default_factory=dict)


def _ids(value: object, where: str, problems: list[Problem]) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    out: list[int] = []
    for n, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item < 2**31:
            problems.append(Problem(f"{where}.{n}", "must be an id (a positive whole number)"))
        elif item not in out:
            out.append(item)
    if len(out) > MAX_RECIPIENTS:
        problems.append(Problem(where, f"has {len(out)} ids; at most {MAX_RECIPIENTS}"))
    return out


def _flag(document: Mapping[str, Any], key: str, where: str, problems: list[Problem]) -> bool:
    value = document.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        problems.append(Problem(f"{where}.{key}", "must be true or false"))
        return False
    return value


def _object(value: object, where: str, problems: list[Problem]) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if value is True:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(where, "must be an object"))
        return None
    return value


def _unknown(
    doc: Mapping[str, Any], known: tuple[str, ...], where: str, problems: list[Problem]
) -> None:
    for key in doc:
        if key not in known:
            problems.append(Problem(f"{where}.{key}", f"is not one of {', '.join(known)}"))


def _case(value: object, where: str, problems: list[Problem]) -> CaseAction | None:
    doc = _object(value, where, problems)
    if doc is None:
        return None
    _unknown(doc, ("priority", "team_id", "assignee_user_id", "title"), where, problems)
    priority = doc.get("priority") or "normal"
    if priority not in CASE_PRIORITIES:
        problems.append(
            Problem(f"{where}.priority", f"must be one of {', '.join(CASE_PRIORITIES)}")
        )
        priority = "normal"
    team = _ids(doc.get("team_id"), f"{where}.team_id", problems)
    assignee = _ids(doc.get("assignee_user_id"), f"{where}.assignee_user_id", problems)
    title: str | None = None
    raw = doc.get("title")
    if raw is not None and not isinstance(raw, str):
        problems.append(Problem(f"{where}.title", "must be text"))
    else:
        try:
            title = values.text(f"{where}.title", raw, MAX_TITLE)
        except Invalid as error:
            problems.append(Problem(error.field, error.message))
    return CaseAction(
        priority=str(priority),
        team_id=team[0] if team else None,
        assignee_user_id=assignee[0] if assignee else None,
        title=title,
    )


def _tags(value: object, where: str, problems: list[Problem]) -> list[str]:
    if value is None:
        return []
    given = [value] if isinstance(value, str) else value
    if not isinstance(given, list):
        problems.append(Problem(where, "must be a text or a list of texts"))
        return []
    out: list[str] = []
    for n, item in enumerate(given):
        here = f"{where}.{n}"
        if not isinstance(item, str):
            problems.append(Problem(here, "must be a text"))
            continue
        problem = values.text_problem(item)
        tag = item.strip()
        if problem is not None:
            problems.append(Problem(here, problem))
        elif not tag:
            problems.append(Problem(here, "must not be blank"))
        elif len(tag) > MAX_TAG_LENGTH:
            problems.append(Problem(here, f"is {len(tag)} characters; at most {MAX_TAG_LENGTH}"))
        elif tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        problems.append(Problem(where, f"has {len(out)} tags; at most {MAX_TAGS}"))
    return out


def _phones(value: object, where: str, given: bool, problems: list[Problem]) -> list[str]:
    """The ``sms`` action's ``{"phones": [...]}``: E.164 numbers (the same rule as a
    contact's phone), at most ``MAX_RECIPIENTS``."""
    document = _object(value, where, problems) or {}
    _unknown(document, ("phones",), where, problems)
    raw = document.get("phones") or []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        problems.append(Problem(f"{where}.phones", "must be a list of phone numbers"))
        return []
    phones: list[str] = []
    for n, item in enumerate(raw):
        try:
            number = sms.e164(f"{where}.phones.{n}", item)
        except Invalid as error:
            problems.append(Problem(f"{where}.phones.{n}", error.message))
            continue
        if number not in phones:
            phones.append(number)
    if len(phones) > MAX_RECIPIENTS:
        problems.append(Problem(f"{where}.phones", f"at most {MAX_RECIPIENTS} numbers"))
    if given and not raw:
        problems.append(Problem(f"{where}.phones", "needs at least one phone number"))
    return phones


def parse_actions(document: object, prefix: str = "actions") -> Actions:
    """Check an actions document; ``InvalidRule`` naming every problem's field."""
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise InvalidRule([Problem(prefix, "must be an object")])
    problems: list[Problem] = []
    _unknown(document, KNOWN_KEYS, prefix, problems)
    stored: dict[str, Any] = {}
    case = _case(document.get("case"), f"{prefix}.case", problems)
    if case is not None:
        stored["case"] = {
            k: v
            for k, v in (
                ("priority", case.priority),
                ("team_id", case.team_id),
                ("assignee_user_id", case.assignee_user_id),
                ("title", case.title),
            )
            if v is not None
        }
    email = _object(document.get("email"), f"{prefix}.email", problems) or {}
    _unknown(email, ("user_ids", "addresses"), f"{prefix}.email", problems)
    user_ids = _ids(email.get("user_ids"), f"{prefix}.email.user_ids", problems)
    addresses: list[str] = []
    raw_addresses = email.get("addresses") or []
    if isinstance(raw_addresses, str):
        raw_addresses = [raw_addresses]
    if not isinstance(raw_addresses, list):
        problems.append(Problem(f"{prefix}.email.addresses", "must be a list of addresses"))
        raw_addresses = []
    for n, address in enumerate(raw_addresses):
        here = f"{prefix}.email.addresses.{n}"
        problem = email_problem(address) if isinstance(address, str) else "must be text"
        if problem is not None:
            problems.append(Problem(here, problem))
        elif address.strip() not in addresses:
            addresses.append(address.strip())
    if len(addresses) + len(user_ids) > MAX_RECIPIENTS:
        problems.append(Problem(f"{prefix}.email", f"at most {MAX_RECIPIENTS} recipients"))
    if "email" in document and not (email.get("user_ids") or raw_addresses):
        problems.append(Problem(f"{prefix}.email", "needs user_ids or addresses"))
    if user_ids or addresses:
        stored["email"] = {"user_ids": user_ids, "addresses": addresses}
    notify = _object(document.get("notify"), f"{prefix}.notify", problems) or {}
    _unknown(notify, ("endpoint_ids",), f"{prefix}.notify", problems)
    endpoint_ids = _ids(notify.get("endpoint_ids"), f"{prefix}.notify.endpoint_ids", problems)
    if "notify" in document and not endpoint_ids:
        problems.append(Problem(f"{prefix}.notify.endpoint_ids", "needs at least one endpoint"))
    if endpoint_ids:
        stored["notify"] = {"endpoint_ids": endpoint_ids}
    phones = _phones(document.get("sms"), f"{prefix}.sms", "sms" in document, problems)
    if phones:
        stored["sms"] = {"phones": phones}
    tags = _tags(document.get("tag"), f"{prefix}.tag", problems)
    if tags:
        stored["tag"] = tags
    flags = {
        key: _flag(document, key, prefix, problems)
        for key in ("review_request", "referral_code", "passive_question")
    }
    stored.update({key: True for key, on in flags.items() if on})
    if not problems and not stored:
        problems.append(Problem(prefix, "choose at least one action"))
    if problems:
        raise InvalidRule(problems)
    return Actions(
        case=case,
        user_ids=tuple(user_ids),
        addresses=tuple(addresses),
        endpoint_ids=tuple(endpoint_ids),
        phones=tuple(phones),
        tags=tuple(tags),
        document=stored,
        **flags,
    )


def check_references(session: Session, organisation_id: int, actions: Actions) -> None:
    """``InvalidRule`` when the actions name a team, user or endpoint that is not the
    organisation's (the same words whether it is missing or another's)."""
    problems: list[Problem] = []

    def mine(model: Any, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        return set(
            session.scalars(
                select(model.id).where(model.organisation_id == organisation_id, model.id.in_(ids))
            )
        )

    users = [*actions.user_ids]
    if actions.case and actions.case.assignee_user_id:
        users.append(actions.case.assignee_user_id)
    known_users = mine(User, users)
    for n, user_id in enumerate(actions.user_ids):
        if user_id not in known_users:
            problems.append(Problem(f"actions.email.user_ids.{n}", "no such user"))
    if actions.case and actions.case.assignee_user_id not in (None, *known_users):
        problems.append(Problem("actions.case.assignee_user_id", "no such user"))
    team_id = actions.case.team_id if actions.case else None
    if team_id is not None and not mine(Team, [team_id]):
        problems.append(Problem("actions.case.team_id", "no such team"))
    known_endpoints = mine(WebhookEndpoint, list(actions.endpoint_ids))
    for n, endpoint_id in enumerate(actions.endpoint_ids):
        if endpoint_id not in known_endpoints:
            problems.append(Problem(f"actions.notify.endpoint_ids.{n}", "no such endpoint"))
    if problems:
        raise InvalidRule(problems)


def _customer_skip(session: Session, answer: AnswerRow) -> str | None:
    """Why the respondent may not be emailed, or None."""
    if answer.contact_id is None or not answer.contact_email:
        return "no address"
    if answer.contact_consent is False:
        return "declined to be contacted"
    if is_unsubscribed(session, answer.organisation_id, answer.contact_email):
        return "unsubscribed"
    return None


def notice_text(rule: Rule, survey: Survey, answer: AnswerRow) -> str:
    """The notification's words: never the comment as stored, only its redacted text."""
    comment = redact(answer.comment).text if answer.comment else "(no comment)"
    return f"{survey.name}: score {answer.score:g}. {comment}"


def run_actions(
    session: Session,
    rule: Rule,
    actions: Actions,
    survey: Survey,
    answer: AnswerRow,
    *,
    public_url: str,
    now: datetime,
    links: LinkSigner | None = None,
) -> dict[str, Any]:
    """Do what the rule says for ``answer``, in the caller's transaction; what each action
    did, to be stored on the match. ``links`` signs the unsubscribe link of a customer email
    whose answer came through an invitation."""
    org = answer.organisation_id
    outcome: dict[str, Any] = {}
    key = f"{rule.id}:{answer.id}"
    band = band_of(answer.score, survey.metric_spec())
    if actions.tags:
        outcome["tags"] = response_tags.add_tags(session, org, answer.id, actions.tags)
    if actions.case is not None:
        outcome["case_id"] = cases.open_case(
            session,
            org,
            response_id=answer.id,
            rule_id=rule.id,
            # The case's own limit; a rule's and a survey's names are 200 characters each.
            title=(actions.case.title or f"{rule.name}, score {answer.score:g}")[:MAX_TITLE],
            priority=actions.case.priority,
            team_id=actions.case.team_id,
            assignee_user_id=actions.case.assignee_user_id,
        )
    recipients = [("user_id", u) for u in actions.user_ids] + [
        ("address", a) for a in actions.addresses
    ]
    queued = 0
    for kind, who in recipients:
        payload = {"rule_id": rule.id, "response_id": answer.id, kind: who}
        if outbox.enqueue(session, org, NOTICE_KIND, f"{NOTICE_KIND}:{key}:{kind}:{who}", payload):
            queued += 1
    if recipients:
        outcome["notices"] = queued
    texted = 0
    for phone in actions.phones:
        text = f"{rule.name}: {notice_text(rule, survey, answer)}"
        if sms_sending.queue_sms(session, org, phone, text, dedupe_key=f"{key}:{phone}"):
            texted += 1
    if actions.phones:
        outcome["texted"] = texted
    link = f"{public_url}/app/surveys/{survey.id}/responses"
    for endpoint_id in actions.endpoint_ids:
        sent = events.notify_endpoint(
            session,
            org,
            endpoint_id,
            title=f"{rule.name}: {survey.name}",
            text=notice_text(rule, survey, answer),
            link=link,
            data={"rule_id": rule.id, "response_id": answer.id, "score": answer.score},
            event_id=f"rule-{rule.id}-resp-{answer.id}-ep-{endpoint_id}",
        )
        if sent:
            outcome.setdefault("notified", []).append(endpoint_id)
    leave = _unsubscribe_url(links, public_url, survey, answer)
    if actions.review_request or actions.referral_code:
        outcome.update(_promoter(session, actions, survey, answer, band, leave))
    if actions.passive_question:
        outcome.update(_passive(session, survey, answer, band, leave))
    return outcome


def _unsubscribe_url(
    links: LinkSigner | None, public_url: str, survey: Survey, answer: AnswerRow
) -> str | None:
    """The invitation's unsubscribe link (the one its emails carry), when the answer came
    through one; other answers have no link to sign, and their emails carry none."""
    if links is None or answer.invitation_id is None:
        return None
    token = links.issue("unsubscribe", answer.invitation_id, survey.id, days=UNSUBSCRIBE_LINK_DAYS)
    return f"{public_url}/u/{token}"


def _promoter(
    session: Session,
    actions: Actions,
    survey: Survey,
    answer: AnswerRow,
    band: str,
    unsubscribe_url: str | None,
) -> dict[str, Any]:
    # Only promoters: a referral code or review request to an unhappy customer is wasted,
    # and worse, whatever the rule's conditions say.
    if band != "top":
        return {"promoter_email": "skipped: not a promoter"}
    skip = _customer_skip(session, answer)
    if skip is not None:
        return {"promoter_email": f"skipped: {skip}"}
    review = actions.review_request and bool(parse_options(survey.collect_options).review_url)
    code = None
    if actions.referral_code:
        code = referral_codes.issue(
            session,
            answer.organisation_id,
            response_id=answer.id,
            survey_id=survey.id,
            contact_id=answer.contact_id,
        )
    if not review and code is None:
        return {"promoter_email": "skipped: the survey has no review link"}
    payload = {
        "response_id": answer.id,
        "review": review,
        "referral_code": code,
        "unsubscribe_url": unsubscribe_url,
    }
    queued = outbox.enqueue(
        session, answer.organisation_id, PROMOTER_KIND, f"{PROMOTER_KIND}:{answer.id}", payload
    )
    out: dict[str, Any] = {"promoter_email": "queued" if queued else "queued before"}
    if code is not None:
        out["referral_code"] = code
    return out


def _passive(
    session: Session, survey: Survey, answer: AnswerRow, band: str, unsubscribe_url: str | None
) -> dict[str, Any]:
    if band != "middle":
        return {"passive_email": "skipped: not a passive"}
    skip = _customer_skip(session, answer)
    if skip is not None:
        return {"passive_email": f"skipped: {skip}"}
    queued = outbox.enqueue(
        session,
        answer.organisation_id,
        PASSIVE_KIND,
        f"{PASSIVE_KIND}:{answer.id}",
        {"response_id": answer.id, "unsubscribe_url": unsubscribe_url},
    )
    return {"passive_email": "queued" if queued else "queued before"}
