from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.metrics import Metric, Scale, Thresholds
from cxpulse.store import responses, rollups, surveys
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import DailyRollup, Organisation, Response, Survey


def test_a_survey_defaults_to_its_metric_scale(session: Session, org: Organisation) -> None:
    nps = surveys.create_survey(session, org.id, slug="rel-nps", name="NPS", metric="nps")
    assert nps.scale == Scale(0, 10)
    spec = nps.metric_spec(min_n=50)
    assert spec.metric is Metric.NPS
    assert spec.thresholds == Thresholds(top_min=9, bottom_max=6)
    assert spec.min_n == 50


def test_thresholds_override_the_defaults(session: Session, org: Organisation) -> None:
    survey = surveys.create_survey(
        session, org.id, slug="strict", name="Strict", metric="csat", top_min=5
    )
    assert survey.metric_spec().thresholds == Thresholds(top_min=5, bottom_max=2)
    surveys.update_survey(session, org.id, survey.id, top_min=None)
    assert survey.metric_spec().thresholds == Thresholds(top_min=4, bottom_max=2)


def test_surveys_that_cannot_be_scored_are_refused(session: Session, org: Organisation) -> None:
    with pytest.raises(Invalid) as raised:
        surveys.create_survey(
            session, org.id, slug="x", name="X", metric="nps", scale_low=1, scale_high=5
        )
    assert raised.value.field == "scale"
    with pytest.raises(Invalid, match="metric"):
        surveys.create_survey(session, org.id, slug="x", name="X", metric="happiness")
    with pytest.raises(Invalid) as raised:
        surveys.create_survey(
            session, org.id, slug="x", name="X", metric="csat", top_min=2, bottom_max=3
        )
    assert raised.value.field == "thresholds"
    with pytest.raises(Invalid, match="default_language"):
        surveys.create_survey(
            session,
            org.id,
            slug="x",
            name="X",
            metric="csat",
            questions={"sv": {"question": "Hur nöjd är du?"}},
        )


def test_survey_crud(session: Session, org: Organisation, survey: Survey) -> None:
    assert surveys.get_survey_by_slug(session, org.id, "support-csat") == survey
    assert surveys.get_survey(session, org.id, survey.id) == survey
    with pytest.raises(Conflict):
        surveys.create_survey(session, org.id, slug="support-csat", name="Again", metric="csat")
    second = surveys.create_survey(
        session, org.id, slug="returns-ces", name="Returns", metric="ces"
    )
    assert surveys.list_surveys(session, org.id) == [survey, second]
    assert surveys.list_surveys(session, org.id, status="draft") == [second]

    surveys.update_survey(
        session,
        org.id,
        survey.id,
        name="Support satisfaction",
        status="closed",
        questions={
            "en": {"question": "How satisfied were you?"},
            "mk": {"question": "Колку сте задоволни?"},
        },
    )
    assert survey.name == "Support satisfaction"
    assert set(survey.questions) == {"en", "mk"}
    with pytest.raises(Conflict):
        surveys.update_survey(session, org.id, second.id, slug="support-csat")
    with pytest.raises(Invalid):
        surveys.update_survey(session, org.id, second.id, metric="nps")
    assert second.metric == "ces"


def test_the_scale_is_fixed_once_answers_exist(
    session: Session, org: Organisation, survey: Survey
) -> None:
    surveys.update_survey(session, org.id, survey.id, scale_low=1, scale_high=7)
    assert survey.scale == Scale(1, 7)
    responses.add_response(session, org.id, survey.id, 6)
    with pytest.raises(Invalid, match="scale"):
        surveys.update_survey(session, org.id, survey.id, scale_high=5)
    surveys.update_survey(session, org.id, survey.id, metric="dsat")
    assert survey.metric == "dsat"


def test_deleting_a_survey_deletes_its_responses_and_rollups(
    session: Session, org: Organisation, survey: Survey
) -> None:
    for score in (1, 4, 5):
        responses.add_response(session, org.id, survey.id, score, channel="email")
    surveys.delete_survey(session, org.id, survey.id)
    with pytest.raises(NotFound):
        surveys.get_survey(session, org.id, survey.id)
    assert session.scalar(select(func.count()).select_from(Response)) == 0
    assert session.scalar(select(func.count()).select_from(DailyRollup)) == 0
    assert rollups.stored(session) == {}
