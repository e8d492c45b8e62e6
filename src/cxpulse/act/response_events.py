"""What happens when an answer arrives: the worker's ``response-event`` task.

Every door that stores a new answer (the API, one by one or in batches, the survey page,
the one-click email, the widget) queues one ``response-event`` outbox item in the same
transaction (``store.response_events``). This handler takes them in batches: it loads the
answers and their organisations' enabled rules in a few queries, records each rule that
matches (``rule_matches``: once per rule and answer, so a retried item does nothing
twice), runs its actions (``act.rule_actions``) and publishes ``response.created`` to the
organisation's webhooks (one event id per answer, so a retry is deduplicated).

A rule about themes or sentiment needs the comment analysed (``act.comment_analysis``,
usually seconds after the answer): until then the item is retried after ``RETRY_DELAY``,
while the other rules run at once. After ``WAIT_FOR_ANALYSIS`` the rule is decided on what
is known: a comment still not analysed mentions no theme and has no sentiment.

Each answer's work is a savepoint of the batch's one transaction: an answer whose actions
fail is retried alone, the others are committed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.act import events, rule_emails
from cxpulse.act.jobs import REGISTRY, JobRegistry
from cxpulse.act.rule_actions import Actions, parse_actions, run_actions
from cxpulse.act.rule_conditions import Answer, Conditions, band_of, matches, parse_conditions
from cxpulse.act.tasks import TASKS, Done, Outcome, Retry, TaskContext, TaskHandler, TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.redaction import redact
from cxpulse.store import response_tags, rule_inputs, rule_matches, webhooks
from cxpulse.store import rules as store
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Rule, Survey
from cxpulse.store.outbox import Claimed
from cxpulse.store.response_events import KIND
from cxpulse.store.rule_inputs import AnswerRow

__all__ = ["HANDLER", "KIND", "ParsedRule", "answer_of", "parse_rule", "register"]

logger = logging.getLogger("cxpulse.worker")

WAIT_FOR_ANALYSIS = timedelta(minutes=10)
RETRY_DELAY = timedelta(seconds=20)
BATCH = 100


@dataclass(frozen=True)
class ParsedRule:
    rule: Rule
    conditions: Conditions
    actions: Actions


def parse_rule(rule: Rule) -> ParsedRule | None:
    """The stored rule's documents checked again (they were when saved); None, logged, when
    they no longer pass (a rule is never half-run)."""
    try:
        return ParsedRule(rule, parse_conditions(rule.conditions), parse_actions(rule.actions))
    except Invalid as error:
        logger.warning("rule %s is skipped: %s", rule.id, error)
        return None


def answer_of(row: AnswerRow, survey: Survey) -> Answer:
    """What the conditions look at: the stored answer, its contact's attributes and its
    comment's analysis, as dimensions named like the filters'."""
    segments: dict[str, str] = {}
    for name in ("channel", "touchpoint", "language", "source"):
        value = getattr(row, name)
        if value is not None:
            segments[name] = str(value)
    segments.update({f"property:{k}": str(v) for k, v in row.properties.items() if v is not None})
    segments.update(
        {f"contact:{k}": str(v) for k, v in row.contact_attributes.items() if v is not None}
    )
    return Answer(
        score=row.score,
        spec=survey.metric_spec(),
        has_comment=bool(row.comment),
        analysed=row.analysed,
        sentiment=row.sentiment,
        themes=row.themes,
        segments=segments,
        contact_consent=row.contact_consent,
    )


def applies(rule: Rule, row: AnswerRow) -> bool:
    return rule.organisation_id == row.organisation_id and rule.survey_id in (None, row.survey_id)


def _event_data(
    row: AnswerRow, survey: Survey, matched: list[int], tags: list[str]
) -> dict[str, Any]:
    return {
        "id": row.id,
        "survey_id": row.survey_id,
        "contact_id": row.contact_id,
        "score": row.score,
        "band": band_of(row.score, survey.metric_spec()),
        # Redacted, like every comment cxpulse shows or exports.
        "comment": redact(row.comment).text if row.comment else None,
        "language": row.language,
        "channel": row.channel,
        "touchpoint": row.touchpoint,
        "properties": row.properties,
        "submitted_at": row.submitted_at.isoformat(),
        "matched_rule_ids": matched,
        "tags": tags,
    }


def _handle(
    session: Session,
    row: AnswerRow,
    survey: Survey,
    parsed: list[ParsedRule],
    done: set[tuple[int, int]],
    *,
    public_url: str,
    now: datetime,
    links: LinkSigner,
    change: int | None = None,
) -> bool:
    """Run the rules of one answer; True while some rule waits for the comment's analysis."""
    patient = now - row.received_at < WAIT_FOR_ANALYSIS
    answer = answer_of(row, survey)
    waiting = False
    for item in parsed:
        rule = item.rule
        if not applies(rule, row) or (rule.id, row.id) in done:
            continue
        unknown = item.conditions.needs_analysis and answer.has_comment and not answer.analysed
        if unknown and patient:
            waiting = True
            continue
        if not matches(item.conditions, answer):
            continue
        match_id = rule_matches.claim(session, row.organisation_id, rule.id, row.id, now=now)
        if match_id is None:
            continue  # matched before: its actions ran then
        done.add((rule.id, row.id))
        outcome = run_actions(
            session, rule, item.actions, survey, row, public_url=public_url, now=now, links=links
        )
        rule_matches.set_outcome(session, match_id, outcome)
    matched = sorted(rule_id for rule_id, response_id in done if response_id == row.id)
    tags = response_tags.tags_of(session, row.organisation_id, [row.id]).get(row.id, [])
    # ``change``: the outbox item of a changed answer, whose id names this change in every
    # retry of it.
    events.publish(
        session,
        row.organisation_id,
        "response.created" if change is None else "response.updated",
        _event_data(row, survey, matched, tags),
        event_id=f"response-{row.id}-created" if change is None else f"response-{row.id}-{change}",
    )
    return waiting


def run(context: TaskContext, items: Sequence[Claimed]) -> list[Outcome]:
    """The batch's answers, each Done, or Retry while waiting for an analysis or after an
    error of its own."""
    now = context.clock()
    idle = _organisations_without_work({item.organisation_id for item in items}, context)
    if idle:
        # Most answers belong to organisations without rules or webhooks: they are done
        # without taking the write lock that the submissions need.
        busy = [item for item in items if item.organisation_id not in idle]
        outcomes_of: dict[int, Outcome] = {}
        if busy:
            outcomes_of = {
                item.id: outcome
                for item, outcome in zip(busy, _run(context, busy, now), strict=True)
            }
        return [outcomes_of.get(item.id, Done("no rules or webhooks")) for item in items]
    return _run(context, items, now)


def _organisations_without_work(organisations: set[int], context: TaskContext) -> set[int]:
    """The organisations with no enabled rule and no endpoint for answers' events."""
    with context.read_sessions() as session:
        found = store.enabled_rules(session, organisations)
        with_rules = {organisation for organisation, rules in found.items() if rules}
        return {
            organisation
            for organisation in organisations - with_rules
            if not any(
                webhooks.subscribed(session, organisation, kind)
                for kind in ("response.created", "response.updated")
            )
        }


def _run(context: TaskContext, items: Sequence[Claimed], now: datetime) -> list[Outcome]:
    wanted = {int(item.payload.get("response_id", 0)) for item in items}
    outcomes: list[Outcome] = []
    with context.sessions.begin() as session:
        inputs = rule_inputs.load(session, wanted)
        orgs = {row.organisation_id for row in inputs.answers.values()}
        by_org = {
            org: [p for rule in found if (p := parse_rule(rule)) is not None]
            for org, found in store.enabled_rules(session, orgs).items()
        }
        rule_ids = {p.rule.id for found in by_org.values() for p in found}
        done = rule_matches.matched_pairs(session, rule_ids, inputs.answers)
        for item in items:
            row = inputs.answers.get(int(item.payload.get("response_id", 0)))
            if row is None or row.organisation_id != item.organisation_id:
                outcomes.append(Done("the answer was deleted"))
                continue
            try:
                with session.begin_nested():
                    waiting = _handle(
                        session,
                        row,
                        inputs.surveys[row.survey_id],
                        by_org.get(row.organisation_id, []),
                        done,
                        public_url=context.smtp.public_url,
                        now=now,
                        links=context.links,
                        change=item.id if item.payload.get("updated") else None,
                    )
            except Exception as error:
                logger.exception("the rules of response %s failed", row.id)
                # The savepoint undid its matches; forget them so a retry runs them again.
                done -= {pair for pair in done if pair[1] == row.id}
                done |= rule_matches.matched_pairs(session, rule_ids, [row.id])
                outcomes.append(Retry(f"{type(error).__name__}: {error}"))
                continue
            if waiting:
                outcomes.append(Retry("waiting for the comment's analysis", delay=RETRY_DELAY))
            else:
                outcomes.append(Done())
    return outcomes


HANDLER = TaskHandler(kind=KIND, run=run, batch=BATCH, max_attempts=60)


def register(registry: TaskRegistry = TASKS, jobs: JobRegistry = REGISTRY) -> None:
    """Let the worker run the rules of new answers and send the emails they queue (again
    is harmless)."""
    registry.register(HANDLER)
    rule_emails.register(jobs)
