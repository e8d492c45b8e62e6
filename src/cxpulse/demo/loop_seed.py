"""The demo shop's closed loop: a team, four rules, the follow-up cases of the last
``LOOP_DAYS`` days worked as a team would have worked them, and one alert scan.

The rules are judged on the answers of the period as the worker would have judged them when
each arrived (``act.rule_conditions``), and their actions are done through the stages that do
them, with the clock of that moment: the match is recorded a minute or two after the answer,
a case opened then (``act.cases.open_case``, so its due time is the real SLA in business
hours), contacted, noted and closed hours later (``change_state``, ``add_note``), never
after ``now``. No rule emails anyone: the demo's customers are made up, so the actions are
cases and tags only. The alert scan (``act.alert_runner``) runs once over the seeded
answers; it raises what its detector finds, often nothing.

Idempotent: the team and the rules are found by name, a match already recorded is skipped
(its actions ran), and the scan runs only in the run that opened cases. Deterministic for a
given ``seed`` and ``now``: each answer's outcome is drawn from its own generator.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from cxpulse.act import alert_runner, business_hours, cases
from cxpulse.act.response_events import answer_of
from cxpulse.act.rule_actions import parse_actions
from cxpulse.act.rule_conditions import matches, parse_conditions
from cxpulse.act.rules import create_rule, list_rules
from cxpulse.store import (
    accounts,
    loop_settings,
    response_tags,
    rule_inputs,
    rule_matches,
    surveys,
    teams,
)
from cxpulse.store import cases as case_store
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Rule
from cxpulse.store.rule_inputs import AnswerRow

__all__ = ["LOOP_DAYS", "TEAM_NAME", "LoopSummary", "seed_loop"]

LOOP_DAYS: Final = 30
"""The loop began this many days before ``now``: the dashboard's headline period, so its
closed-loop rate counts every unhappy answer the team could have followed up."""
TEAM_NAME: Final = "Customer care"
SUPPORT: Final = "support-csat"
"""The survey whose neutral answers with a comment get a case too (``SECOND_LOOK``)."""
_ANSWERS_READ: Final = 2000
"""Newest answers read for the period (the demo has about 800 in 30 days)."""

CALL_BACK: Final = "Unhappy customers get a call back"
SECOND_LOOK: Final = "Neutral support answers with a comment: take a look"
CHURN_RISK: Final = "Unhappy paying customers: churn risk"
REVIEW: Final = "Promoters: ask for a review"


@dataclass(frozen=True)
class _RulePlan:
    name: str
    conditions: dict[str, Any]
    actions: dict[str, Any]
    survey_id: int | None = None


def _rule_plans(team_id: int, support_survey_id: int | None) -> list[_RulePlan]:
    plans = [
        _RulePlan(
            CALL_BACK,
            {"band": ["bottom"]},
            {"case": {"priority": "high", "team_id": team_id}},
        ),
        _RulePlan(
            CHURN_RISK,
            {"band": ["bottom"], "segments": {"contact:plan": ["pro", "enterprise"]}},
            {"tag": ["churn-risk"]},
        ),
        _RulePlan(
            REVIEW,
            {"band": ["top"], "comment": "present"},
            {"tag": ["review-request"]},
        ),
    ]
    if support_survey_id is not None:
        plans.append(
            _RulePlan(
                SECOND_LOOK,
                {"band": ["middle"], "comment": "present"},
                {"case": {"priority": "normal", "team_id": team_id}},
                support_survey_id,
            )
        )
    return plans


_CONTACT_NOTES: Final = (
    "Called the customer and apologised; they explained what went wrong.",
    "Reached the customer by phone. They would like us to check the order history.",
    "Left a voicemail and sent a short email; the customer called back within the hour.",
    "Spoke with the customer: the problem is known, we promised an answer by tomorrow.",
)
_RESOLUTIONS: Final = (
    "Refund issued for the order.",
    "Replacement sent with express delivery.",
    "Invoice corrected and the double charge returned.",
    "Delivery rebooked with the carrier for a time that suits the customer.",
    "Explained the new returns process step by step; the return is on its way.",
    "Apologised and sent a discount code for the next order.",
)
_RESOLVED_NOTES: Final = (
    "The customer thanked us for calling; nothing more to do.",
    "Checked a day later: the customer confirmed it is sorted.",
    "Passed the root cause on to the operations lead.",
)
_WONT_FIX: Final = (
    "The customer did not answer after two calls and an email.",
    "The customer asked us not to follow up.",
    "Duplicate of a case already handled for the same order.",
    "Outside our control: the carrier's delay was already refunded.",
)
_WONT_FIX_NOTES: Final = (
    "Closed without a fix; reopen if the customer gets in touch.",
    "Logged for the monthly review of cases we could not solve.",
)


@dataclass(frozen=True)
class LoopSummary:
    """What a run of ``seed_loop`` made."""

    team_id: int
    rule_ids: list[int]
    rules_added: int
    matches_added: int
    cases_added: int
    alerts_raised: int


def seed_loop(
    session: Session, organisation_id: int, *, now: datetime, seed: int = 7
) -> LoopSummary:
    """Write the demo's closed loop into the caller's transaction (see the module)."""
    workers = [
        user
        for user in accounts.list_users(session, organisation_id)
        if user.is_active and user.role in cases.CASE_ROLES
    ]
    team_id, _ = _team(session, organisation_id, [user.id for user in workers])
    rules, rules_added = _rules(session, organisation_id, team_id)
    settings = loop_settings.get_settings(session, organisation_id)
    calendar = business_hours.calendar_from(settings.business_hours, settings.timezone)

    inputs = rule_inputs.latest(session, organisation_id, None, _ANSWERS_READ)
    start = now - timedelta(days=LOOP_DAYS)
    answers = sorted(
        (row for row in inputs.answers.values() if start <= row.submitted_at <= now),
        key=lambda row: (row.submitted_at, row.id),
    )
    judged = [(rule, parse_conditions(rule.conditions)) for rule in rules]
    matches_added = 0
    opened: list[int] = []
    for row in answers:
        survey = inputs.surveys[row.survey_id]
        answer = answer_of(row, survey)
        for rule, conditions in judged:
            if rule.survey_id not in (None, row.survey_id) or not matches(conditions, answer):
                continue
            # Each answer's draws are its own (what happens to one case does not change the
            # next), keyed by what the demo drew: a database may number the rows otherwise.
            drawn = f"{seed}:loop:{rule.name}:{survey.slug}:{row.submitted_at.isoformat()}"
            rng = random.Random(drawn)  # noqa: S311 (demo data, not secrets)
            # The worker takes an answer within a minute or two of its arrival.
            moment = min(row.submitted_at + timedelta(seconds=rng.randint(20, 150)), now)
            match_id = rule_matches.claim(session, organisation_id, rule.id, row.id, now=moment)
            if match_id is None:
                continue  # matched in an earlier run: its actions were done then
            matches_added += 1
            outcome = _act(session, rule, row, survey.name, moment)
            rule_matches.set_outcome(session, match_id, outcome)
            case_id = outcome.get("case_id")
            if isinstance(case_id, int):
                opened.append(case_id)
                _work(session, organisation_id, case_id, moment, now, calendar, rng)
    raised = 0
    if opened:
        raised = len(alert_runner.scan_organisation(session, organisation_id, now).raised)
    return LoopSummary(
        team_id=team_id,
        rule_ids=[rule.id for rule in rules],
        rules_added=rules_added,
        matches_added=matches_added,
        cases_added=len(opened),
        alerts_raised=raised,
    )


def _team(session: Session, organisation_id: int, member_ids: list[int]) -> tuple[int, bool]:
    found = next(
        (t for t in teams.list_teams(session, organisation_id) if t.name == TEAM_NAME), None
    )
    created = found is None
    team = found or teams.create_team(session, organisation_id, TEAM_NAME)
    for user_id in member_ids:
        teams.add_member(session, organisation_id, team.id, user_id)
    return team.id, created


def _rules(session: Session, organisation_id: int, team_id: int) -> tuple[list[Rule], int]:
    existing = {rule.name: rule for rule in list_rules(session, organisation_id)}
    try:
        support: int | None = surveys.get_survey_by_slug(session, organisation_id, SUPPORT).id
    except NotFound:
        support = None
    found: list[Rule] = []
    added = 0
    for plan in _rule_plans(team_id, support):
        rule = existing.get(plan.name)
        if rule is None:
            rule = create_rule(
                session,
                organisation_id,
                name=plan.name,
                survey_id=plan.survey_id,
                conditions=plan.conditions,
                actions=plan.actions,
            )
            added += 1
        if rule.enabled:
            found.append(rule)
    return found, added


def _act(
    session: Session, rule: Rule, row: AnswerRow, survey_name: str, moment: datetime
) -> dict[str, Any]:
    """The rule's tag and case actions for one answer, as ``act.rule_actions`` does them but
    at ``moment`` (a rule of the demo has no other action)."""
    actions = parse_actions(rule.actions)
    outcome: dict[str, Any] = {}
    if actions.tags:
        outcome["tags"] = response_tags.add_tags(session, row.organisation_id, row.id, actions.tags)
    if actions.case is not None:
        outcome["case_id"] = cases.open_case(
            session,
            row.organisation_id,
            response_id=row.id,
            rule_id=rule.id,
            title=f"{rule.name}: {survey_name}, score {row.score:g}"[: cases.MAX_TITLE],
            priority=actions.case.priority,
            team_id=actions.case.team_id,
            assignee_user_id=actions.case.assignee_user_id,
            now=moment,
        )
    return outcome


def _business_delay(rng: random.Random, median_hours: float, spread: float) -> float:
    return rng.lognormvariate(math.log(median_hours), spread)


def _work(
    session: Session,
    organisation_id: int,
    case_id: int,
    opened: datetime,
    now: datetime,
    calendar: business_hours.Calendar,
    rng: random.Random,
) -> None:
    """The case's life up to ``now``: most are contacted within the working day and closed
    a few business hours later; a few are forgotten (overdue once their SLA passes) or
    closed without contact. Every draw is made whatever the case's age, so one case's fate
    does not shift the next one's."""
    author = case_store.get_case(session, organisation_id, case_id).assignee_user_id
    fate = rng.random()
    contact_at = business_hours.add_business_hours(calendar, opened, _business_delay(rng, 3.0, 1.0))
    close_at = business_hours.add_business_hours(
        calendar, contact_at, _business_delay(rng, 6.0, 0.9)
    )
    contact_note = rng.choice(_CONTACT_NOTES)
    resolved = rng.random() < 0.82
    reason = rng.choice(_RESOLUTIONS if resolved else _WONT_FIX)
    closing_note = rng.choice(_RESOLVED_NOTES if resolved else _WONT_FIX_NOTES)
    waiting = rng.random() < 0.1
    if fate < 0.04:
        return  # forgotten: still new, overdue once its due time passes
    if fate < 0.08:
        if contact_at <= now:
            cases.change_state(
                session,
                organisation_id,
                case_id,
                "wont_fix",
                author_user_id=author,
                resolution_reason=rng.choice(_WONT_FIX[:2]),
                now=contact_at,
            )
        return
    if contact_at > now:
        return
    cases.change_state(
        session, organisation_id, case_id, "contacted", author_user_id=author, now=contact_at
    )
    cases.add_note(
        session,
        organisation_id,
        case_id,
        contact_note,
        author_user_id=author,
        now=contact_at + timedelta(minutes=3),
    )
    if waiting:
        # Waiting for the customer's answer: still open after days.
        close_at = business_hours.add_business_hours(calendar, close_at, 40.0)
    if close_at > now:
        return
    cases.add_note(
        session,
        organisation_id,
        case_id,
        closing_note,
        author_user_id=author,
        now=close_at,
    )
    cases.change_state(
        session,
        organisation_id,
        case_id,
        "resolved" if resolved else "wont_fix",
        author_user_id=author,
        resolution_reason=reason,
        now=close_at,
    )
