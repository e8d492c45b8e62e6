from __future__ import annotations

from typing import Any

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


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"metric": "csat", "top_min": 99}, "top_min"),
        ({"metric": "nps", "top_min": 11}, "top_min"),
        ({"metric": "csat", "bottom_max": 0}, "bottom_max"),
        ({"metric": "csat", "scale_low": 2, "scale_high": 9}, "scale"),
        ({"metric": "ces", "scale_low": 0, "scale_high": 1}, "scale"),
        (
            {"metric": "ces", "scale_low": 0, "scale_high": 10, "top_min": 7, "bottom_max": 3},
            "scale",
        ),
    ],
)
def test_bands_off_the_scale_and_unlisted_scales_are_refused(
    session: Session, org: Organisation, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as raised:
        surveys.create_survey(session, org.id, slug="x", name="X", **fields)
    assert raised.value.field == field
    assert surveys.list_surveys(session, org.id) == []


def test_csat_on_another_scale_is_stored_with_both_bands_chosen(
    session: Session, org: Organisation
) -> None:
    four = surveys.create_survey(
        session,
        org.id,
        slug="four",
        name="Four",
        metric="csat",
        scale_low=1,
        scale_high=4,
        top_min=3,
        bottom_max=2,
    )
    assert four.metric_spec().thresholds == Thresholds(top_min=3, bottom_max=2)
    # DSAT beside the CSAT: the same scale and bands, scored as the bottom box.
    dsat = four.metric_spec(metric=Metric.DSAT, min_n=5)
    assert (dsat.metric, dsat.scale, dsat.min_n) == (Metric.DSAT, Scale(1, 4), 5)
    assert dsat.thresholds == Thresholds(top_min=3, bottom_max=2)
    with pytest.raises(Invalid) as raised:
        surveys.update_survey(session, org.id, four.id, top_min=None)
    assert raised.value.field == "scale"
    assert four.top_min == 3


def test_updates_check_bands_against_the_scale(
    session: Session, org: Organisation, survey: Survey
) -> None:
    with pytest.raises(Invalid) as raised:
        surveys.update_survey(session, org.id, survey.id, top_min=6)
    assert raised.value.field == "top_min"
    assert survey.top_min is None
    surveys.update_survey(session, org.id, survey.id, top_min=5)
    with pytest.raises(Invalid) as raised:
        surveys.update_survey(session, org.id, survey.id, scale_low=1, scale_high=3)
    assert raised.value.field == "top_min"
    assert survey.scale == Scale(1, 5)


def test_a_survey_stored_before_the_band_check_stays_editable(
    session: Session, org: Organisation, survey: Survey
) -> None:
    survey.top_min = 11  # as an older version let it be stored
    session.flush()
    surveys.update_survey(session, org.id, survey.id, name="Renamed", status="closed")
    assert survey.name == "Renamed"
    with pytest.raises(Invalid, match="top_min"):
        surveys.update_survey(session, org.id, survey.id, bottom_max=1)
    surveys.update_survey(session, org.id, survey.id, top_min=None)
    assert survey.metric_spec().thresholds == Thresholds(top_min=4, bottom_max=2)


def test_status_actions_and_archived_surveys(session: Session, org: Organisation) -> None:
    draft = surveys.create_survey(session, org.id, slug="d", name="D", metric="csat")
    kept = surveys.create_survey(session, org.id, slug="k", name="K", metric="csat")
    with pytest.raises(Invalid, match="draft cannot be closed"):
        surveys.change_status(session, org.id, draft.id, "close")
    with pytest.raises(Invalid) as unknown:
        surveys.change_status(session, org.id, draft.id, "explode")
    assert unknown.value.field == "action"
    steps = ["activate", "close", "reopen", "archive", "unarchive"]
    seen = [surveys.change_status(session, org.id, draft.id, step) for step in steps]
    assert [(before, survey.status) for survey, before in seen][-1] == ("archived", "closed")
    surveys.change_status(session, org.id, draft.id, "archive")
    assert [s.slug for s in surveys.list_surveys(session, org.id)] == ["d", "k"]
    assert [s.slug for s in surveys.list_surveys(session, org.id, include_archived=False)] == ["k"]
    assert [s.slug for s in surveys.list_surveys(session, org.id, status="archived")] == ["d"]
    assert kept.status == "draft"
    # The API may set the status directly, archived included.
    surveys.update_survey(session, org.id, kept.id, status="archived")
    assert kept.status == "archived"


def test_a_duplicate_takes_every_setting_but_no_answers(
    session: Session, org: Organisation, survey: Survey
) -> None:
    surveys.update_survey(
        session,
        org.id,
        survey.id,
        questions={"en": {"question": "How was it?"}},
        collect_options={"reasons": ["Slow"], "link_days": 7},
        reminder_days=4,
        touchpoint="after chat",
        status="active",
    )
    copied = surveys.duplicate_survey(session, org.id, survey.id)
    assert copied.id != survey.id
    assert copied.name == f"{survey.name} (copy)"
    assert copied.slug == f"{survey.slug}-copy"
    assert copied.status == "draft"
    for field in ("metric", "scale_low", "scale_high", "questions", "collect_options"):
        assert getattr(copied, field) == getattr(survey, field), field
    assert (copied.reminder_days, copied.touchpoint) == (4, "after chat")
    copied.questions["en"]["question"] = "Changed"  # a copy, not the same document
    assert survey.questions["en"]["question"] == "How was it?"
    again = surveys.duplicate_survey(session, org.id, survey.id)
    assert again.slug == f"{survey.slug}-copy-2"
    answers = select(func.count()).select_from(Response).where(Response.survey_id == copied.id)
    assert session.scalar(answers) == 0
    long = surveys.create_survey(session, org.id, slug="a" * 64, name="N" * 200, metric="nps")
    longer = surveys.duplicate_survey(session, org.id, long.id)
    assert len(longer.slug) == 64
    assert longer.slug.endswith("-copy")
    assert len(longer.name) == 200
    assert longer.name.endswith(" (copy)")
