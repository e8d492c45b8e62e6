"""Rule rows of one organisation: read, add, change, reorder and delete ``models.Rule``.

The documents a rule holds (conditions, actions) are checked by ``act.rule_conditions`` and
``act.rule_actions`` before they get here. Rules run in ``position`` order, then by id.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store import scoped
from cxpulse.store.models import Rule, Survey, Team, TextTheme, User, WebhookEndpoint

MAX_RULES = 200
"""Rules per organisation: each answer is checked against every enabled one."""


def get_rule(session: Session, organisation_id: int, rule_id: int) -> Rule:
    return scoped.get_one(
        session, Rule, organisation_id, Rule.id == rule_id, entity="rule", key=rule_id
    )


def rules_by_id(session: Session, rule_ids: Collection[int]) -> dict[int, Rule]:
    """The rules of ``rule_ids`` that still exist, of any organisation (the caller checks
    each against the item that named it)."""
    if not rule_ids:
        return {}
    return {r.id: r for r in session.scalars(select(Rule).where(Rule.id.in_(sorted(rule_ids))))}


def users_by_id(session: Session, user_ids: Collection[int]) -> dict[int, User]:
    """The users of ``user_ids`` that still exist (a rule's notice names its recipients by
    id; the caller checks organisation and activity)."""
    if not user_ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(sorted(user_ids))))}


def list_rules(session: Session, organisation_id: int, survey_id: int | None = None) -> list[Rule]:
    """The organisation's rules in running order; with ``survey_id``, those that apply to
    that survey (its own and the organisation-wide ones)."""
    query = select(Rule).where(Rule.organisation_id == organisation_id)
    if survey_id is not None:
        query = query.where((Rule.survey_id == survey_id) | Rule.survey_id.is_(None))
    return list(session.scalars(query.order_by(Rule.position, Rule.id)))


def count_rules(session: Session, organisation_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Rule).where(Rule.organisation_id == organisation_id)
        )
        or 0
    )


def next_position(session: Session, organisation_id: int) -> int:
    """One after the last rule's, so that a new rule runs last."""
    last = session.scalar(
        select(func.max(Rule.position)).where(Rule.organisation_id == organisation_id)
    )
    return 0 if last is None else int(last) + 1


def add_rule(session: Session, rule: Rule) -> Rule:
    """Store a rule checked by its caller; its id is set on return."""
    session.add(rule)
    session.flush()
    return rule


def delete_rule(session: Session, organisation_id: int, rule_id: int) -> None:
    session.delete(get_rule(session, organisation_id, rule_id))
    session.flush()


def enabled_rules(session: Session, organisation_ids: Collection[int]) -> dict[int, list[Rule]]:
    """Per organisation, its enabled rules in running order (one query for a batch)."""
    found: dict[int, list[Rule]] = {org: [] for org in organisation_ids}
    if not found:
        return found
    rows = session.scalars(
        select(Rule)
        .where(Rule.organisation_id.in_(sorted(found)), Rule.enabled.is_(True))
        .order_by(Rule.organisation_id, Rule.position, Rule.id)
    )
    for rule in rows:
        found[rule.organisation_id].append(rule)
    return found


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


@dataclass(frozen=True)
class RuleChoices:
    """What a rule's form offers to pick from in the organisation."""

    surveys: list[Choice]
    themes: list[tuple[str, str]]
    """(key, name) of the active themes."""
    users: list[Choice]
    teams: list[Choice]
    endpoints: list[Choice]


def choices(session: Session, organisation_id: int) -> RuleChoices:
    org = organisation_id
    return RuleChoices(
        surveys=[
            Choice(i, n)
            for i, n in session.execute(
                select(Survey.id, Survey.name)
                .where(Survey.organisation_id == org)
                .order_by(Survey.name, Survey.id)
            )
        ],
        themes=[
            (k, n)
            for k, n in session.execute(
                select(TextTheme.key, TextTheme.name)
                .where(TextTheme.organisation_id == org, TextTheme.is_active.is_(True))
                .order_by(TextTheme.name)
            )
        ],
        users=[
            Choice(i, f"{n} ({e})" if n else e)
            for i, n, e in session.execute(
                select(User.id, User.name, User.email)
                .where(User.organisation_id == org, User.is_active.is_(True))
                .order_by(User.name, User.email)
            )
        ],
        teams=[
            Choice(i, n)
            for i, n in session.execute(
                select(Team.id, Team.name).where(Team.organisation_id == org).order_by(Team.name)
            )
        ],
        endpoints=[
            Choice(i, f"{d or u} ({f})")
            for i, d, u, f in session.execute(
                select(
                    WebhookEndpoint.id,
                    WebhookEndpoint.description,
                    WebhookEndpoint.url,
                    WebhookEndpoint.format,
                )
                .where(WebhookEndpoint.organisation_id == org)
                .order_by(WebhookEndpoint.id)
            )
        ],
    )
