"""The rules' store modules on SQLite and PostgreSQL: rules in running order and scoped to
their organisation, a match recorded once per rule and answer, tags set once, and referral
codes unique, one per answer and redeemed once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import referral_codes, response_tags, rule_inputs, rule_matches
from cxpulse.store import rules as store
from cxpulse.store.errors import Conflict, NotFound
from cxpulse.store.models import Organisation, Rule, Survey
from cxpulse.store.response_checks import NewResponse
from cxpulse.store.response_writes import add_responses


def _rule(session: Session, org: Organisation, name: str, **fields: object) -> Rule:
    rule = Rule(
        organisation_id=org.id,
        name=name,
        position=store.next_position(session, org.id),
        conditions={},
        actions={"tag": ["x"]},
        **fields,
    )
    return store.add_rule(session, rule)


def _answer(session: Session, org: Organisation, survey: Survey, **fields: object) -> int:
    ((response, _),) = add_responses(
        session,
        org.id,
        [NewResponse(survey_id=survey.id, score=2, **fields)],  # type: ignore[arg-type]
    )
    return response.id


def test_rules_run_in_order_and_stay_in_their_organisation(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    first = _rule(session, org, "first")
    second = _rule(session, org, "second", survey_id=survey.id)
    off = _rule(session, org, "off", enabled=False)
    theirs = _rule(session, other_org, "theirs")
    first.position = 5
    session.flush()
    assert [r.name for r in store.list_rules(session, org.id)] == ["second", "off", "first"]
    assert [r.name for r in store.list_rules(session, org.id, survey.id)] == [
        "second",
        "off",
        "first",
    ]
    enabled = store.enabled_rules(session, [org.id, other_org.id])
    assert [r.id for r in enabled[org.id]] == [second.id, first.id]
    assert [r.id for r in enabled[other_org.id]] == [theirs.id]
    with pytest.raises(NotFound):
        store.get_rule(session, org.id, theirs.id)
    with pytest.raises(NotFound):
        store.delete_rule(session, org.id, theirs.id)
    assert off.id in {r.id for r in store.list_rules(session, org.id)}


def test_a_match_is_recorded_once(session: Session, org: Organisation, survey: Survey) -> None:
    rule = _rule(session, org, "r")
    answer = _answer(session, org, survey)
    match_id = rule_matches.claim(session, org.id, rule.id, answer)
    assert match_id is not None
    assert rule_matches.claim(session, org.id, rule.id, answer) is None
    rule_matches.set_outcome(session, match_id, {"tags": ["x"]})
    assert rule_matches.matched_pairs(session, [rule.id], [answer]) == {(rule.id, answer)}
    assert rule_matches.counts_by_rule(session, org.id) == {rule.id: 1}
    [stored] = rule_matches.of_response(session, org.id, answer)
    assert stored.outcome == {"tags": ["x"]}


def test_tags_are_set_once(session: Session, org: Organisation, survey: Survey) -> None:
    answer = _answer(session, org, survey)
    assert response_tags.add_tags(session, org.id, answer, ["vip", "late"]) == ["vip", "late"]
    assert response_tags.add_tags(session, org.id, answer, ["vip", "new"]) == ["new"]
    assert response_tags.tags_of(session, org.id, [answer]) == {answer: ["late", "new", "vip"]}
    assert response_tags.remove_tag(session, org.id, answer, "late")


def test_referral_codes(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    answer = _answer(session, org, survey)
    code = referral_codes.issue(
        session, org.id, response_id=answer, survey_id=survey.id, contact_id=None
    )
    again = referral_codes.issue(
        session, org.id, response_id=answer, survey_id=survey.id, contact_id=None
    )
    assert again == code
    with pytest.raises(NotFound):
        referral_codes.redeem(session, other_org.id, code, "order-1")
    moment = datetime(2026, 12, 1, 10, tzinfo=UTC)
    redeemed = referral_codes.redeem(session, org.id, code.lower(), "order-1", now=moment)
    assert (redeemed.code, redeemed.response_id, redeemed.reference) == (code, answer, "order-1")
    with pytest.raises(Conflict, match="2026-12-01 10:00"):
        referral_codes.redeem(session, org.id, code, "order-2")
    with pytest.raises(NotFound):
        referral_codes.redeem(session, org.id, "nonsense", "order-3")


def test_rule_inputs_read_a_batch_with_contacts_and_analyses(
    session: Session, org: Organisation, survey: Survey
) -> None:
    first = _answer(session, org, survey, comment="slow", channel="email")
    second = _answer(session, org, survey)
    inputs = rule_inputs.load(session, [first, second, 987654321])
    assert set(inputs.answers) == {first, second}
    assert inputs.answers[first].channel == "email"
    assert inputs.answers[first].analysed is False
    assert set(inputs.surveys) == {survey.id}
    latest = rule_inputs.latest(session, org.id, survey.id, limit=1)
    assert list(latest.answers) == [second]
