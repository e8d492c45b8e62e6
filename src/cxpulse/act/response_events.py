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

A batch is read and decided in a read transaction; only the answers with something to
write (a matching rule, an endpoint for their event) take the write lock, ``WRITE_CHUNK`` to
a short transaction on SQLite, a whole batch to one on PostgreSQL. Each answer's rules are
a savepoint: an answer whose actions fail is retried alone, the others are committed. The
chunk's events are stored together at its end (two statements for all, not two per answer).
"""

from __future__ import annotations

import dataclasses
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

__all__ = ["HANDLER", "KIND", "ParsedRule", "answer_of", "decide", "parse_rule", "register"]

logger = logging.getLogger("cxpulse.worker")

WAIT_FOR_ANALYSIS = timedelta(minutes=10)
RETRY_DELAY = timedelta(seconds=20)
BATCH = 500
"""Answers' items claimed at once: as many as the comments a round analyses
(``comment_analysis.DEFAULT_BATCH``), so that under load a worker's rounds run the rules of
as many answers as they analyse comments. With 100, the notices of a soak at 300 answers/s
fell to a quarter of the answers by the end of the load; with 500, to about 40%."""
WRITE_CHUNK = 10
"""Answers whose matches, actions and events are written in one transaction on SQLite: each
holds SQLite's write lock about half a millisecond, and every submission waits while it is
held. PostgreSQL locks rows, not the database: there a whole batch is one transaction."""


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


@dataclass(frozen=True)
class _Plan:
    """What one answer's item will write, decided from what was read."""

    position: int
    row: AnswerRow
    survey: Survey
    rules: list[ParsedRule]
    waiting: bool
    change: int | None
    endpoint_ids: list[int]
    tags: list[str]


def decide(
    row: AnswerRow,
    survey: Survey,
    parsed: Sequence[ParsedRule],
    done: set[tuple[int, int]],
    *,
    now: datetime,
) -> tuple[list[ParsedRule], bool]:
    """The rules that match ``row`` and have not run on it yet, and whether some rule waits
    for the comment's analysis (pure: decided from what was read)."""
    patient = now - row.received_at < WAIT_FOR_ANALYSIS
    answer = answer_of(row, survey)
    waiting = False
    chosen: list[ParsedRule] = []
    for item in parsed:
        rule = item.rule
        if not applies(rule, row) or (rule.id, row.id) in done:
            continue
        unknown = item.conditions.needs_analysis and answer.has_comment and not answer.analysed
        if unknown and patient:
            waiting = True
            continue
        if matches(item.conditions, answer):
            chosen.append(item)
    return chosen, waiting


def _write(
    session: Session,
    plan: _Plan,
    *,
    public_url: str,
    now: datetime,
    links: LinkSigner,
) -> tuple[set[tuple[int, int]], list[str]]:
    """Claim each chosen rule's match and run its actions; the (rule, answer) pairs claimed
    and the tags the actions added."""
    row, survey = plan.row, plan.survey
    claimed: set[tuple[int, int]] = set()
    added: list[str] = []
    for item in plan.rules:
        match_id = rule_matches.claim(session, row.organisation_id, item.rule.id, row.id, now=now)
        if match_id is None:
            continue  # matched before: its actions ran then
        claimed.add((item.rule.id, row.id))
        outcome = run_actions(
            session,
            item.rule,
            item.actions,
            survey,
            row,
            public_url=public_url,
            now=now,
            links=links,
        )
        added.extend(outcome.get("tags", ()))
        rule_matches.set_outcome(session, match_id, outcome)
    return claimed, added


def _publication(
    plan: _Plan, done: set[tuple[int, int]], added: list[str]
) -> events.Publication | None:
    """The answer's event, for its subscribed endpoints (None: none subscribes)."""
    if not plan.endpoint_ids:
        return None
    row = plan.row
    matched = sorted(rule_id for rule_id, answer_id in done if answer_id == row.id)
    # ``change``: the outbox item of a changed answer, whose id names this change in every
    # retry of it.
    return events.Publication(
        row.organisation_id,
        _event_type(plan.change),
        _event_data(row, plan.survey, matched, sorted({*plan.tags, *added})),
        event_id=(
            f"response-{row.id}-created"
            if plan.change is None
            else f"response-{row.id}-{plan.change}"
        ),
        endpoint_ids=plan.endpoint_ids,
    )


def _event_type(change: int | None) -> str:
    return "response.created" if change is None else "response.updated"


def run(context: TaskContext, items: Sequence[Claimed]) -> list[Outcome]:
    """The batch's answers, each Done, or Retry while waiting for an analysis or after an
    error of its own.

    On SQLite every submission waits while a writer holds the database's one write lock, so
    the batch is read and decided first in a read transaction (answers, rules, matches
    recorded, webhook endpoints, tags), and only the answers that have something to write
    (a rule that matches, an endpoint for their event) are written, ``WRITE_CHUNK`` per
    short transaction. A rule's match is claimed in the write (``rule_matches.claim``), so
    a decision taken on a read that another worker overtook does nothing twice."""
    now = context.clock()
    outcomes: dict[int, Outcome] = {}
    plans: list[_Plan] = []
    with context.read_sessions() as session:
        chunk = WRITE_CHUNK if session.get_bind().dialect.name == "sqlite" else BATCH
        organisations = {item.organisation_id for item in items}
        by_org = {
            org: [p for rule in found if (p := parse_rule(rule)) is not None]
            for org, found in store.enabled_rules(session, organisations).items()
        }
        endpoints = {
            (org, kind): webhooks.subscribed(session, org, kind)
            for org in organisations
            for kind in ("response.created", "response.updated")
        }
        busy = {
            org
            for org in organisations
            if by_org.get(org) or any(endpoints[(org, kind)] for kind in _KINDS)
        }
        # Most answers belong to organisations without rules or webhooks: they are done
        # without reading their answers or writing anything.
        wanted = {_response_id(item) for item in items if item.organisation_id in busy}
        inputs = rule_inputs.load(session, wanted)
        rule_ids = {p.rule.id for found in by_org.values() for p in found}
        done = rule_matches.matched_pairs(session, rule_ids, inputs.answers)
        for position, item in enumerate(items):
            if item.organisation_id not in busy:
                outcomes[position] = Done("no rules or webhooks")
                continue
            row = inputs.answers.get(_response_id(item))
            if row is None or row.organisation_id != item.organisation_id:
                outcomes[position] = Done("the answer was deleted")
                continue
            survey = inputs.surveys[row.survey_id]
            chosen, waiting = decide(
                row, survey, by_org.get(row.organisation_id, []), done, now=now
            )
            change = item.id if item.payload.get("updated") else None
            subscribed = endpoints[(row.organisation_id, _event_type(change))]
            if not chosen and not subscribed:
                outcomes[position] = _settled(waiting)
                continue
            plans.append(_Plan(position, row, survey, chosen, waiting, change, subscribed, []))
        tags = _tags_before(session, [plan.row for plan in plans if plan.endpoint_ids])
    for start in range(0, len(plans), chunk):
        with context.sessions.begin() as session:
            publications: list[events.Publication] = []
            for plan in plans[start : start + chunk]:
                plan = dataclasses.replace(plan, tags=tags.get(plan.row.id, []))
                try:
                    claimed: set[tuple[int, int]] = set()
                    added: list[str] = []
                    if plan.rules:
                        # A savepoint per answer with rules: one whose actions fail is
                        # undone and retried alone, the rest of the chunk goes on.
                        with session.begin_nested():
                            claimed, added = _write(
                                session,
                                plan,
                                public_url=context.smtp.public_url,
                                now=now,
                                links=context.links,
                            )
                    publication = _publication(plan, done | claimed, added)
                except Exception as error:
                    # The savepoint undid this answer's matches: a retry runs them again.
                    logger.exception("the rules of response %s failed", plan.row.id)
                    outcomes[plan.position] = Retry(f"{type(error).__name__}: {error}")
                    continue
                if publication is not None:
                    publications.append(publication)
                done |= claimed
                outcomes[plan.position] = _settled(plan.waiting)
            # The chunk's events in two statements: the commit stores them with the matches
            # that they report, or neither (then every item of the batch is retried).
            events.publish_many(session, publications)
    return [outcomes[position] for position in range(len(items))]


_KINDS = ("response.created", "response.updated")


def _response_id(item: Claimed) -> int:
    return int(item.payload.get("response_id", 0))


def _settled(waiting: bool) -> Outcome:
    if waiting:
        return Retry("waiting for the comment's analysis", delay=RETRY_DELAY)
    return Done()


def _tags_before(session: Session, rows: Sequence[AnswerRow]) -> dict[int, list[str]]:
    """The answers' tags as read, organisation by organisation (each query is scoped)."""
    found: dict[int, list[str]] = {}
    by_org: dict[int, list[int]] = {}
    for row in rows:
        by_org.setdefault(row.organisation_id, []).append(row.id)
    for org, ids in by_org.items():
        found.update(response_tags.tags_of(session, org, ids))
    return found


HANDLER = TaskHandler(kind=KIND, run=run, batch=BATCH, max_attempts=60)


def register(registry: TaskRegistry = TASKS, jobs: JobRegistry = REGISTRY) -> None:
    """Let the worker run the rules of new answers and send the emails they queue (again
    is harmless)."""
    registry.register(HANDLER)
    rule_emails.register(jobs)
