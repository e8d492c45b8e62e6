"""Rules through API v1: what happens when an answer arrives (conditions and actions), and
"test this rule" on the last 1,000 answers of its scope.

Reading needs ``surveys:read``; making, changing, deleting and testing a rule need
``rules:write`` (testing reads answers' scores and redacted comments across a scope).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status

from cxpulse.act import rules
from cxpulse.act.rule_conditions import InvalidRule
from cxpulse.store import rule_matches
from cxpulse.web import audit
from cxpulse.web.access import CanReadSurveys, Principal, require
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import problems
from cxpulse.web.rule_schemas import (
    DraftTest,
    RuleCreate,
    RuleList,
    RuleOut,
    RuleUpdate,
    TrialOut,
    rule_errors,
    rule_out,
    trial_out,
)
from cxpulse.web.schemas import MAX_SMALL_ID

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])

CanWriteRules = Annotated[Principal, Depends(require(Permission.RULES_WRITE))]
RuleId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The rule's id.")]


@router.get(
    "",
    operation_id="listRules",
    summary="List the organisation's rules in running order",
    response_model=RuleList,
    responses=problems(),
)
def list_rules(caller: CanReadSurveys, session: DbSession) -> RuleList:
    org = caller.organisation_id
    counts = rule_matches.counts_by_rule(session, org)
    return RuleList(
        items=[rule_out(r, counts.get(r.id, 0)) for r in rules.list_rules(session, org)]
    )


@router.post(
    "",
    operation_id="createRule",
    summary="Make a rule",
    description="The rule runs on every answer that arrives after it, after the "
    "organisation's other rules.",
    status_code=status.HTTP_201_CREATED,
    response_model=RuleOut,
    responses=problems(),
)
def create_rule(body: RuleCreate, caller: CanWriteRules, session: DbSession) -> RuleOut:
    try:
        rule = rules.create_rule(session, caller.organisation_id, **body.model_dump())
    except InvalidRule as error:
        raise rule_errors(error) from None
    audit.record(session, caller, "create", "rule", rule.id, {"name": rule.name})
    session.commit()
    return rule_out(rule)


@router.post(
    "/test",
    operation_id="testDraftRule",
    summary="Test conditions on the last 1,000 answers",
    description="Which of the scope's last 1,000 answers the conditions match; nothing is "
    "recorded and no action runs.",
    response_model=TrialOut,
    responses=problems(),
)
def test_draft(body: DraftTest, caller: CanWriteRules, session: DbSession) -> TrialOut:
    try:
        result = rules.try_rule(
            session, caller.organisation_id, survey_id=body.survey_id, conditions=body.conditions
        )
    except InvalidRule as error:
        raise rule_errors(error) from None
    return trial_out(result)


@router.get(
    "/{rule_id}",
    operation_id="getRule",
    summary="Get a rule",
    response_model=RuleOut,
    responses=problems(404),
)
def get_rule(rule_id: RuleId, caller: CanReadSurveys, session: DbSession) -> RuleOut:
    org = caller.organisation_id
    rule = rules.get_rule(session, org, rule_id)
    return rule_out(rule, rule_matches.counts_by_rule(session, org).get(rule.id, 0))


@router.patch(
    "/{rule_id}",
    operation_id="updateRule",
    summary="Change a rule",
    response_model=RuleOut,
    responses=problems(404),
)
def update_rule(
    rule_id: RuleId, body: RuleUpdate, caller: CanWriteRules, session: DbSession
) -> RuleOut:
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    try:
        rule = rules.update_rule(session, caller.organisation_id, rule_id, **changes)
    except InvalidRule as error:
        raise rule_errors(error) from None
    audit.record(session, caller, "update", "rule", rule.id, {"fields": sorted(changes)})
    session.commit()
    counts = rule_matches.counts_by_rule(session, caller.organisation_id)
    return rule_out(rule, counts.get(rule.id, 0))


@router.delete(
    "/{rule_id}",
    operation_id="deleteRule",
    summary="Delete a rule",
    description="Its matches go with it; the cases it opened stay.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_rule(rule_id: RuleId, caller: CanWriteRules, session: DbSession) -> Response:
    rules.delete_rule(session, caller.organisation_id, rule_id)
    audit.record(session, caller, "delete", "rule", rule_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{rule_id}/test",
    operation_id="testRule",
    summary="Test a saved rule on the last 1,000 answers of its scope",
    description="Which answers it would have matched; nothing is recorded and no action runs.",
    response_model=TrialOut,
    responses=problems(404),
)
def test_rule(rule_id: RuleId, caller: CanWriteRules, session: DbSession) -> TrialOut:
    org = caller.organisation_id
    rule = rules.get_rule(session, org, rule_id)
    try:
        result = rules.try_rule(session, org, survey_id=rule.survey_id, conditions=rule.conditions)
    except InvalidRule as error:
        raise rule_errors(error) from None
    return trial_out(result)
