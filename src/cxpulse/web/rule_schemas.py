"""Request and response bodies of the rules API (``web/routes/rules_api.py``) and the
referral-code redemption (``web/routes/referral_codes.py``).

Conditions and actions are JSON objects checked by the act stage (``act.rule_conditions``,
``act.rule_actions``), which names every problem's field; ``rule_errors`` turns those into
the API's 422 answer, one entry per field (``["body", "conditions", "band", 0]``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool

from cxpulse.act.rule_conditions import InvalidRule
from cxpulse.act.rules import TrialResult
from cxpulse.store.models import Rule
from cxpulse.web.errors import FieldErrors, field_error
from cxpulse.web.schemas import MAX_SMALL_ID, Body, Name200

SurveyRef = Annotated[int, Field(strict=True, ge=1, le=MAX_SMALL_ID)]
Document = Annotated[dict[str, Any], Field(max_length=20)]

CONDITIONS_HELP = (
    "All must hold; a list means any of. Keys: band (detractor, passive, promoter, "
    "dissatisfied, neutral, satisfied, hard, easy, bottom, middle, top), score "
    "({min, max}), theme (theme keys), sentiment (negative, neutral, positive), comment "
    "(present, absent), segments ({channel | touchpoint | language | source | "
    "property:<name> | contact:<name>: values, matched in any case}), contact_consent "
    "(true, false). Empty: every answer."
)
ACTIONS_HELP = (
    "At least one: case ({priority, team_id, assignee_user_id, title}), email ({user_ids, "
    "addresses}), notify ({endpoint_ids}), tag (labels), review_request, referral_code "
    "(promoters only), passive_question (passives only)."
)


class RuleCreate(Body):
    name: Name200 = Field(examples=["VIP detractors"])
    survey_id: SurveyRef | None = Field(None, description="None: every survey.")
    enabled: StrictBool = True
    conditions: Document = Field(
        default_factory=dict,
        description=CONDITIONS_HELP,
        examples=[{"band": "detractor", "segments": {"contact:vip": "yes"}}],
    )
    actions: Document = Field(
        description=ACTIONS_HELP,
        examples=[{"case": {"priority": "high"}, "tag": ["vip-detractor"]}],
    )


class RuleUpdate(Body):
    """Only the fields sent change."""

    name: Name200 | None = None
    survey_id: SurveyRef | None = None
    enabled: StrictBool | None = None
    position: Annotated[int, Field(strict=True, ge=0, le=999_999)] | None = None
    conditions: Document | None = Field(None, description=CONDITIONS_HELP)
    actions: Document | None = Field(None, description=ACTIONS_HELP)


class RuleOut(BaseModel):
    id: int
    name: str
    survey_id: int | None
    enabled: bool
    position: int
    conditions: dict[str, Any]
    actions: dict[str, Any]
    matched: int = Field(description="Answers this rule has matched since it was made.")
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    items: list[RuleOut]


class DraftTest(Body):
    survey_id: SurveyRef | None = Field(None, description="None: every survey.")
    conditions: Document = Field(default_factory=dict, description=CONDITIONS_HELP)


class MatchedOut(BaseModel):
    response_id: int
    survey_id: int
    submitted_at: datetime
    score: float
    band: str
    comment: str | None = Field(description="Redacted: personal data replaced.")


class TrialOut(BaseModel):
    evaluated: int = Field(description="Answers looked at: the scope's last 1,000 at most.")
    matched: int
    response_ids: list[int]
    sample: list[MatchedOut] = Field(description="The newest 20 matched answers.")
    not_analysed: int = Field(
        description="Answers whose comment is not analysed yet: judged without themes and "
        "sentiment."
    )


class RedeemIn(Body):
    reference: Name200 = Field(
        description="What it was redeemed on, such as an order id.", examples=["order-10422"]
    )


class RedeemOut(BaseModel):
    code: str
    response_id: int | None
    survey_id: int | None
    contact_id: int | None
    redeemed_at: datetime
    reference: str


def rule_out(rule: Rule, matched: int = 0) -> RuleOut:
    return RuleOut(
        id=rule.id,
        name=rule.name,
        survey_id=rule.survey_id,
        enabled=rule.enabled,
        position=rule.position,
        conditions=dict(rule.conditions or {}),
        actions=dict(rule.actions or {}),
        matched=matched,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def trial_out(result: TrialResult) -> TrialOut:
    return TrialOut(
        evaluated=result.evaluated,
        matched=result.matched,
        response_ids=result.response_ids,
        sample=[MatchedOut(**vars(m)) for m in result.sample],
        not_analysed=result.not_analysed,
    )


def rule_errors(error: InvalidRule) -> FieldErrors:
    """Every problem of a rule on its own field, under ``body``."""
    return FieldErrors(
        [
            field_error(
                ["body", *(int(p) if p.isdigit() else p for p in problem.field.split("."))],
                problem.message,
            )
            for problem in error.problems
        ]
    )
