"""The emails that rules queue (``act.rule_actions``), composed when the worker sends them:

- ``rule-notice``: to a user of the organisation (or an address the rule names), saying
  which answer the rule matched; in English, like the signed-in pages; the comment only as
  its redacted text.
- ``promoter-email``: to a promoter, with the survey's review link and/or a personal
  referral code;
- ``passive-email``: to a passive, asking what would make it a 10.

The customer emails are in the answer's language (else the contact's, else the survey's)
where the catalogues translate their words, else English. Checked again at sending time:
nothing goes to an address that unsubscribed meanwhile, to a contact without an address,
or to a respondent who said no to being contacted; a detractor never gets one.
``register`` tells the worker about the three kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from cxpulse import i18n, templating
from cxpulse.act.jobs import REGISTRY, JobHandler, JobRegistry
from cxpulse.act.rule_actions import NOTICE_KIND, PASSIVE_KIND, PROMOTER_KIND, notice_text
from cxpulse.act.rule_conditions import band_of
from cxpulse.collect.automated_email import automated_email
from cxpulse.collect.mailer import Branding, Composed, brand_context
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import rule_inputs
from cxpulse.store import rules as stored_rules
from cxpulse.store.invitations import is_unsubscribed
from cxpulse.store.models import Organisation, Rule, Survey, User
from cxpulse.store.outbox import Claimed
from cxpulse.store.survey_options import parse_options

__all__ = ["register"]


def _message(
    *,
    kind: str,
    item: Claimed,
    smtp: SmtpSettings,
    to_name: str,
    to: str,
    subject: str,
    language: str,
    template: str,
    context: dict[str, Any],
    branding: Branding | None = None,
) -> Composed:
    leave = item.payload.get("unsubscribe_url")
    context = {**context, "subject": subject, "language": language, "unsubscribe_url": leave}
    if branding is not None:
        # A customer's email carries the organisation's look and sender, as invitations do.
        context.update(brand_context(branding, str(context.get("organisation", ""))))
    return automated_email(
        smtp,
        ident=f"<cxpulse.{kind}.{item.id}@{smtp.domain}>",
        subject=subject,
        to=(to_name, to),
        text=templating.render(f"email/{template}.txt", context),
        html=templating.render(f"email/{template}.html", context),
        language=language,
        branding=branding,
        content_language=True,
        # One-click unsubscribe (RFC 8058), as the invitations offer it.
        unsubscribe_url=leave,
    )


def compose_notice(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    """The notice of a matched rule; None when the answer, rule or user is gone."""
    return compose_notices(session, [item], smtp)[0]


def compose_notices(
    session: Session, items: Sequence[Claimed], smtp: SmtpSettings
) -> list[Composed | None]:
    """The notices of a batch, one per item in order, read with three queries for them all
    (rules, answers with their surveys, users) rather than five per notice."""
    rule_ids = {int(item.payload["rule_id"]) for item in items}
    user_ids = {int(item.payload["user_id"]) for item in items if "user_id" in item.payload}
    rules = stored_rules.rules_by_id(session, rule_ids)
    users = stored_rules.users_by_id(session, user_ids)
    inputs = rule_inputs.load(session, {int(item.payload["response_id"]) for item in items})
    return [_notice(item, smtp, rules, users, inputs) for item in items]


def _notice(
    item: Claimed,
    smtp: SmtpSettings,
    rules: Mapping[int, Rule],
    users: Mapping[int, User],
    inputs: rule_inputs.RuleInputs,
) -> Composed | None:
    payload = item.payload
    org = item.organisation_id
    rule = rules.get(int(payload["rule_id"]))
    answer = inputs.answers.get(int(payload["response_id"]))
    if rule is None or rule.organisation_id != org or answer is None:
        return None
    if answer.organisation_id != org:
        return None
    survey = inputs.surveys[answer.survey_id]
    if "user_id" in payload:
        user = users.get(int(payload["user_id"]))
        if user is None or not user.is_active or user.organisation_id != org:
            return None
        to_name, to = user.name or "", user.email
    else:
        to_name, to = "", str(payload["address"])
    subject = f"cxpulse: {rule.name} ({survey.name}, score {answer.score:g})"
    context = {
        "name": to_name,
        "rule": rule.name,
        "survey": survey.name,
        "score": f"{answer.score:g}",
        "text": notice_text(rule, survey, answer),
        "channel": answer.channel,
        "submitted_at": answer.submitted_at.strftime("%Y-%m-%d %H:%M UTC"),
        "link": f"{smtp.public_url}/app/surveys/{survey.id}/responses",
        "rules_url": f"{smtp.public_url}/app/rules/{rule.id}",
    }
    return _message(
        kind=NOTICE_KIND,
        item=item,
        smtp=smtp,
        to_name=to_name,
        to=to,
        subject=subject,
        language="en",
        template="rule_notice",
        context=context,
    )


def _customer(
    session: Session, item: Claimed, band: str, smtp: SmtpSettings
) -> tuple[rule_inputs.AnswerRow, Survey, str, Branding | None] | None:
    """The answer, its survey, the organisation's name and branding, when the respondent may
    still get this email."""
    inputs = rule_inputs.load(session, [int(item.payload["response_id"])])
    answer = inputs.answers.get(int(item.payload["response_id"]))
    if answer is None or answer.organisation_id != item.organisation_id:
        return None
    survey = inputs.surveys[answer.survey_id]
    if band_of(answer.score, survey.metric_spec()) != band:
        return None  # the answer changed since: never to a detractor
    if not answer.contact_email or answer.contact_consent is False:
        return None
    if is_unsubscribed(session, answer.organisation_id, answer.contact_email):
        return None
    organisation = session.get(Organisation, answer.organisation_id)
    if organisation is None:
        return answer, survey, "", None
    return answer, survey, organisation.name, Branding.of(organisation, smtp.public_url)


def _language(answer: rule_inputs.AnswerRow, survey: Survey) -> str:
    return i18n.negotiate(
        invitation=answer.language,
        contact=answer.contact_locale,
        survey_default=survey.default_language,
    )


def _texts(language: str) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """gettext of the emails and of the pages (whose "Write a review" and "Recommend us
    to a friend" these emails share)."""
    emails, _ = i18n.gettext_for("emails", language)
    pages, _ = i18n.gettext_for("pages", language)
    return emails, pages


def compose_promoter(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    found = _customer(session, item, "top", smtp)
    if found is None:
        return None
    answer, survey, organisation, branding = found
    assert answer.contact_email is not None
    options = parse_options(survey.collect_options)
    review_url = options.review_url if item.payload.get("review") else None
    code = item.payload.get("referral_code")
    if not review_url and not code:
        return None
    language = _language(answer, survey)
    emails, pages = _texts(language)
    subject = emails("Thank you for recommending %(organisation)s") % {"organisation": organisation}
    context = {
        "_": emails,
        "pages": pages,
        "name": answer.contact_name,
        "organisation": organisation,
        "review_url": review_url,
        "referral_code": code,
        "referral_url": options.referral_url,
    }
    return _message(
        kind=PROMOTER_KIND,
        item=item,
        smtp=smtp,
        to_name=answer.contact_name or "",
        to=answer.contact_email,
        subject=subject,
        language=language,
        template="promoter",
        context=context,
        branding=branding,
    )


def compose_passive(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    found = _customer(session, item, "middle", smtp)
    if found is None:
        return None
    answer, survey, organisation, branding = found
    assert answer.contact_email is not None
    language = _language(answer, survey)
    emails, pages = _texts(language)
    # "a 10" on the NPS scale; the best answer of any other scale.
    high = survey.scale_high
    subject = emails("What would make it a %(best)s?") % {"best": high}
    context = {
        "_": emails,
        "pages": pages,
        "name": answer.contact_name,
        "organisation": organisation,
        "score": f"{answer.score:g}",
        "high": high,
    }
    return _message(
        kind=PASSIVE_KIND,
        item=item,
        smtp=smtp,
        to_name=answer.contact_name or "",
        to=answer.contact_email,
        subject=subject,
        language=language,
        template="passive",
        context=context,
        branding=branding,
    )


NOTICE_JOB = JobHandler(kind=NOTICE_KIND, compose=compose_notice, compose_batch=compose_notices)
PROMOTER_JOB = JobHandler(kind=PROMOTER_KIND, compose=compose_promoter)
PASSIVE_JOB = JobHandler(kind=PASSIVE_KIND, compose=compose_passive)


def register(registry: JobRegistry = REGISTRY) -> None:
    """Let the outbox worker send the rules' emails (again is harmless)."""
    for handler in (NOTICE_JOB, PROMOTER_JOB, PASSIVE_JOB):
        registry.register(handler)
