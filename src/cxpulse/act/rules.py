"""Rules of an organisation: create, change and delete them with every value checked, and
"test this rule" on the last answers of its scope.

Conditions and actions are checked by ``act.rule_conditions`` and ``act.rule_actions``;
here they are also checked against the organisation (the survey, the theme keys of its
taxonomy, the users, team and endpoints the actions name). Every problem is reported with
its field, all at once (``InvalidRule``), so a form can show each next to its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.act.response_events import answer_of
from cxpulse.act.rule_actions import check_references, parse_actions
from cxpulse.act.rule_conditions import (
    Conditions,
    InvalidRule,
    Problem,
    band_of,
    matches,
    parse_conditions,
)
from cxpulse.redaction import redact
from cxpulse.store import _values as values
from cxpulse.store import rule_inputs
from cxpulse.store import rules as store
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Rule, Survey, TextTheme

__all__ = [
    "TRIAL_LIMIT",
    "MatchedAnswer",
    "TrialResult",
    "create_rule",
    "delete_rule",
    "get_rule",
    "list_rules",
    "try_rule",
    "update_rule",
]

TRIAL_LIMIT = 1000
SAMPLE = 20
MAX_NAME = 200

get_rule = store.get_rule
list_rules = store.list_rules


@dataclass(frozen=True)
class Checked:
    name: str
    survey_id: int | None
    conditions: dict[str, Any]
    actions: dict[str, Any]


def _check(
    session: Session,
    organisation_id: int,
    *,
    name: object,
    survey_id: object,
    conditions: object,
    actions: object,
) -> Checked:
    problems: list[Problem] = []
    checked_name = ""
    if not isinstance(name, str):
        problems.append(Problem("name", "is required"))
    else:
        try:
            checked_name = values.required_text("name", name, MAX_NAME)
        except Invalid as error:
            problems.append(Problem("name", error.message))
    checked_survey: int | None = None
    if survey_id is not None:
        if isinstance(survey_id, bool) or not isinstance(survey_id, int):
            problems.append(Problem("survey_id", "must be a survey's id"))
        elif not session.scalar(
            select(Survey.id).where(
                Survey.organisation_id == organisation_id, Survey.id == survey_id
            )
        ):
            problems.append(Problem("survey_id", "no such survey"))
        else:
            checked_survey = survey_id
    parsed_conditions: Conditions | None = None
    try:
        parsed_conditions = parse_conditions(conditions)
    except InvalidRule as error:
        problems.extend(error.problems)
    if parsed_conditions is not None and parsed_conditions.themes:
        known = set(
            session.scalars(
                select(TextTheme.key).where(
                    TextTheme.organisation_id == organisation_id,
                    TextTheme.key.in_(sorted(parsed_conditions.themes)),
                )
            )
        )
        listed = isinstance(conditions, Mapping) and isinstance(conditions.get("theme"), list)
        for n, key in enumerate(parsed_conditions.document.get("theme", [])):
            if key not in known:
                where = f"conditions.theme.{n}" if listed else "conditions.theme"
                problems.append(Problem(where, f"{key!r} is not a theme of the taxonomy"))
    checked_actions: dict[str, Any] = {}
    try:
        parsed_actions = parse_actions(actions)
        check_references(session, organisation_id, parsed_actions)
        checked_actions = dict(parsed_actions.document)
    except InvalidRule as error:
        problems.extend(error.problems)
    if problems:
        raise InvalidRule(problems)
    assert parsed_conditions is not None
    return Checked(checked_name, checked_survey, dict(parsed_conditions.document), checked_actions)


def create_rule(
    session: Session,
    organisation_id: int,
    *,
    name: object,
    survey_id: object = None,
    conditions: object = None,
    actions: object = None,
    enabled: bool = True,
) -> Rule:
    """A new rule, run after the organisation's others."""
    checked = _check(
        session,
        organisation_id,
        name=name,
        survey_id=survey_id,
        conditions=conditions,
        actions=actions,
    )
    if store.count_rules(session, organisation_id) >= store.MAX_RULES:
        raise InvalidRule([Problem("name", f"an organisation has at most {store.MAX_RULES} rules")])
    rule = Rule(
        organisation_id=organisation_id,
        survey_id=checked.survey_id,
        name=checked.name,
        enabled=bool(enabled),
        position=store.next_position(session, organisation_id),
        conditions=checked.conditions,
        actions=checked.actions,
    )
    return store.add_rule(session, rule)


def update_rule(session: Session, organisation_id: int, rule_id: int, **changes: Any) -> Rule:
    """Change the given fields (name, survey_id, conditions, actions, enabled, position)."""
    rule = store.get_rule(session, organisation_id, rule_id)
    merged = {
        "name": rule.name,
        "survey_id": rule.survey_id,
        "conditions": rule.conditions,
        "actions": rule.actions,
    }
    merged.update({k: v for k, v in changes.items() if k in merged})
    checked = _check(session, organisation_id, **merged)
    rule.name = checked.name
    rule.survey_id = checked.survey_id
    rule.conditions = checked.conditions
    rule.actions = checked.actions
    if "enabled" in changes and changes["enabled"] is not None:
        rule.enabled = bool(changes["enabled"])
    if "position" in changes and changes["position"] is not None:
        position = changes["position"]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < 10**6:
            raise InvalidRule([Problem("position", "must be a whole number from 0")])
        rule.position = position
    session.flush()
    return rule


def delete_rule(session: Session, organisation_id: int, rule_id: int) -> None:
    store.delete_rule(session, organisation_id, rule_id)


@dataclass(frozen=True)
class MatchedAnswer:
    response_id: int
    survey_id: int
    submitted_at: datetime
    score: float
    band: str
    comment: str | None
    """Redacted (``cxpulse.redaction``), never the stored text."""


@dataclass(frozen=True)
class TrialResult:
    evaluated: int
    """Answers looked at: the scope's last ``TRIAL_LIMIT`` (fewer when it has fewer)."""
    matched: int
    response_ids: list[int]
    sample: list[MatchedAnswer]
    not_analysed: int
    """Answers with a comment not analysed yet: judged without themes and sentiment."""


def try_rule(
    session: Session,
    organisation_id: int,
    *,
    survey_id: object = None,
    conditions: Mapping[str, Any] | object = None,
    limit: int = TRIAL_LIMIT,
) -> TrialResult:
    """Which of the scope's last ``limit`` answers the conditions match, newest first.
    Evaluation only: no match is recorded and no action runs."""
    checked = _check(
        session,
        organisation_id,
        name="test",
        survey_id=survey_id,
        conditions=conditions,
        actions={"tag": ["test"]},
    )
    parsed = parse_conditions(checked.conditions)
    inputs = rule_inputs.latest(session, organisation_id, checked.survey_id, limit)
    ids: list[int] = []
    sample: list[MatchedAnswer] = []
    not_analysed = 0
    for row in inputs.answers.values():
        survey = inputs.surveys[row.survey_id]
        if row.comment and not row.analysed:
            not_analysed += 1
        if not matches(parsed, answer_of(row, survey)):
            continue
        ids.append(row.id)
        if len(sample) < SAMPLE:
            sample.append(
                MatchedAnswer(
                    response_id=row.id,
                    survey_id=row.survey_id,
                    submitted_at=row.submitted_at,
                    score=row.score,
                    band=band_of(row.score, survey.metric_spec()),
                    comment=redact(row.comment).text if row.comment else None,
                )
            )
    return TrialResult(len(inputs.answers), len(ids), ids, sample, not_analysed)
