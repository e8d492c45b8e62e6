"""The values the filter pickers offer, with their counts, and which dimensions make a
readable breakdown (``report/filter_choices.py``), on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.report import filter_choices as choices_module
from cxpulse.report.filter_choices import filter_choices
from cxpulse.report.filters_url import Window
from cxpulse.store import accounts, responses, surveys
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse

WINDOW = Window(date(2024, 1, 1), date(2024, 2, 1))


@pytest.fixture
def org(session: Session) -> Organisation:
    return accounts.create_organisation(session, slug="acme", name="Acme")


@pytest.fixture
def survey(session: Session, org: Organisation) -> Survey:
    return surveys.create_survey(session, org.id, slug="s", name="S", metric="csat")


def _add(session: Session, org: Organisation, survey: Survey, count: int) -> None:
    responses.add_responses(
        session,
        org.id,
        [
            NewResponse(
                survey_id=survey.id,
                score=4,
                submitted_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=10 * n),
                channel=("email", "chat")[n % 2],
                properties={"team": ("Billing", "Sales", "Tier 1")[n % 3], "order_id": f"o{n}"},
            )
            for n in range(count)
        ]
        # Outside the window: not counted.
        + [
            NewResponse(
                survey_id=survey.id,
                score=1,
                submitted_at=datetime(2024, 2, 1, tzinfo=UTC),
                channel="phone",
                properties={"team": "Later"},
            )
        ],
    )


def test_choices_with_exact_counts_and_readable_breakdowns(
    session: Session, org: Organisation, survey: Survey
) -> None:
    _add(session, org, survey, 60)
    found = filter_choices(session, org.id, survey.id, WINDOW)
    assert (found.answers, found.sampled, found.estimated) == (60, 60, False)
    channel = found.of("channel")
    assert channel is not None
    assert [(c.value, c.count) for c in channel.choices] == [("chat", 30), ("email", 30)]
    team = found.of("property:team")
    assert team is not None
    assert [(c.value, c.count) for c in team.choices] == [
        ("Billing", 20),
        ("Sales", 20),
        ("Tier 1", 20),
    ]
    assert (team.label, team.param) == ("team", "property.team")
    readable, others = found.breakdowns()
    assert "property:team" in readable
    assert "channel" in readable
    # 60 order ids: too many values to read as a breakdown, but still reachable.
    assert "property:order_id" in others
    assert "property:order_id" not in readable
    assert "source" in others  # one value splits nothing
    assert "touchpoint" not in readable + others  # no value at all


def test_large_periods_are_estimated_from_a_bounded_sample(
    session: Session, org: Organisation, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(choices_module, "EXACT_UP_TO", 30)
    monkeypatch.setattr(choices_module, "SAMPLE_SLICES", 4)
    monkeypatch.setattr(choices_module, "SLICE_ANSWERS", 6)
    _add(session, org, survey, 120)
    found = filter_choices(session, org.id, survey.id, WINDOW)
    assert (found.answers, found.sampled, found.estimated, found.slices) == (120, 24, True, 4)
    channel = found.of("channel")
    assert channel is not None
    assert channel.estimated
    # 12 of the 24 read are chat: half of 120.
    assert [(c.value, c.count) for c in channel.choices] == [("chat", 60), ("email", 60)]
