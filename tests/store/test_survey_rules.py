"""The rules of a survey's settings (store/survey_rules.py): every problem at once, by
field; an unsaved survey for a preview; which fields a whole form changes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store import survey_rules, surveys
from cxpulse.store.models import Organisation, Survey


def test_every_problem_is_found_at_once_by_its_field() -> None:
    found = survey_rules.problems(
        1,
        {
            "slug": "Not a slug",
            "name": " ",
            "metric": "happiness",
            "scale_low": 5000,
            "top_min": 2000.0,
            "reminder_days": 0,
            "throttle_days": 4000,
            "collect_options": {
                "allowed_origins": ["not an origin"],
                "thanks": {"en": {"low": "x" * 501}},
                "link_days": 0,
            },
            "questions": {"en": {"question": "\x00"}},
        },
    )
    assert set(found) == {
        "slug",
        "name",
        "metric",
        "scale_low",
        "top_min",
        "reminder_days",
        "throttle_days",
        "collect_options.allowed_origins",
        "collect_options.thanks.en.low",
        "collect_options.link_days",
        "questions.en.question",
    }


def test_rules_between_fields_are_checked_when_each_field_passes() -> None:
    base = {"slug": "s", "name": "N"}
    assert survey_rules.problems(1, {**base, "metric": "nps"}) == {}
    assert set(survey_rules.problems(1, {**base, "metric": "nps", "presentation": "stars"})) == {
        "presentation"
    }
    nps_on_five = {**base, "metric": "nps", "scale_low": 1, "scale_high": 5}
    assert set(survey_rules.problems(1, nps_on_five)) == {"scale"}
    worded_in_swedish = {**base, "metric": "csat", "questions": {"sv": {"question": "Hur?"}}}
    assert set(survey_rules.problems(1, worded_in_swedish)) == {"default_language"}
    # Not when another field could not be read.
    assert survey_rules.problems(1, nps_on_five, between_fields=False) == {}


def test_a_transient_survey_is_never_stored(session: Session, org: Organisation) -> None:
    stored = surveys.create_survey(session, org.id, slug="s", name="S", metric="ces")
    session.flush()
    preview = survey_rules.transient_survey(
        org.id, {"questions": {"en": {"question": "Easy?"}}}, stored
    )
    assert preview.id == stored.id
    assert preview is not stored
    assert (preview.metric, preview.scale, preview.slug) == ("ces", stored.scale, "s")
    assert preview.questions == {"en": {"question": "Easy?"}}
    assert stored.questions == {}
    new = survey_rules.transient_survey(org.id, {"metric": "nps"})
    assert new.id is None
    assert (new.scale_low, new.scale_high) == (0, 10)
    session.flush()
    count = session.scalar(
        select(func.count()).select_from(Survey).where(Survey.organisation_id == org.id)
    )
    assert count == 1


def test_a_whole_form_changes_only_what_differs(session: Session, org: Organisation) -> None:
    stored = surveys.create_survey(
        session, org.id, slug="s", name="S", metric="csat", collect_options={}
    )
    same = {
        "name": "S",
        "metric": "csat",
        "scale_low": None,
        "scale_high": None,
        "top_min": None,
        "collect_options": {"comment": True, "link_days": 30},
    }
    assert survey_rules.changed_fields(stored, same) == {}
    changed = survey_rules.changed_fields(stored, {**same, "name": "T", "metric": "nps"})
    # NPS's usual scale is not CSAT's: the scale changes with it.
    assert changed == {"name": "T", "metric": "nps", "scale_low": None, "scale_high": None}
