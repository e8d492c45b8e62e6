"""Alert rows (``store.alerts``) and the detector's inputs (``store.alert_inputs``), on
SQLite and PostgreSQL: one row per incident, closing, scoping, and the rollups read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.act import alert_runner
from cxpulse.store import alert_inputs, alerts, text_themes
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import CommentRollup, Organisation, Survey, ThemeRollup
from cxpulse.store.responses import NewResponse, add_responses

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)


def _detect(session: Session, org_id: int, now: datetime, key: str = "score-drop:1") -> bool:
    recorded = alerts.record_detection(
        session,
        org_id,
        survey_id=None,
        kind="score-drop",
        key=key,
        title="CSAT dropped",
        details={"change": -20.0, "day": now.date().isoformat()},
        quiet_days=3,
        now=now,
    )
    assert recorded is not None
    return recorded.new


def test_one_incident_is_one_row_until_it_has_been_quiet(
    session: Session, org: Organisation
) -> None:
    assert _detect(session, org.id, NOW)
    assert not _detect(session, org.id, NOW + timedelta(hours=5))
    (alert,) = alerts.list_alerts(session, org.id).items
    assert alert.last_seen_at.replace(tzinfo=UTC) == NOW + timedelta(hours=5)
    assert alert.details["first"]["day"] == "2026-11-20"
    # Closed by a person while it goes on: it stays one incident, and closed.
    alerts.close_alert(session, org.id, alert.id, now=NOW + timedelta(hours=6))
    assert not _detect(session, org.id, NOW + timedelta(days=2))
    assert alerts.get_alert(session, org.id, alert.id).state == "closed"
    # Quiet for more than three days: the next detection is a new incident.
    assert _detect(session, org.id, NOW + timedelta(days=6))
    assert len(alerts.list_alerts(session, org.id).items) == 2


def test_quiet_open_alerts_are_closed_and_the_limit_counts_new_ones(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    _detect(session, org.id, NOW, "score-drop:1")
    _detect(session, org.id, NOW + timedelta(days=2), "score-drop:2")
    _detect(session, other_org.id, NOW, "score-drop:1")
    closed = alerts.close_quiet(
        session, org.id, ["score-drop"], 3, now=NOW + timedelta(days=3, hours=1)
    )
    assert closed == 1
    states = {a.key: a.state for a in alerts.list_alerts(session, org.id).items}
    assert states == {"score-drop:1": "closed", "score-drop:2": "open"}
    assert alerts.list_alerts(session, other_org.id).items[0].state == "open"
    since = NOW - timedelta(minutes=1)
    assert alerts.count_raised_since(session, org.id, since, ["score-drop"]) == 2
    assert alerts.count_raised_since(session, org.id, since, ["theme-spike"]) == 0
    refused = alerts.record_detection(
        session,
        org.id,
        survey_id=None,
        kind="score-drop",
        key="score-drop:3",
        title="x",
        details={},
        quiet_days=3,
        may_raise=False,
        now=NOW,
    )
    assert refused is None


def test_a_state_alert_opens_changes_and_closes(session: Session, org: Organisation) -> None:
    def state(value: str, title: str = "Goal 'A' is off track") -> alerts.Recorded | None:
        return alerts.reopen_or_close(
            session,
            org.id,
            survey_id=None,
            kind="goal-off-track",
            key="goal-off-track:9",
            title=title,
            details={"status": value},
            state="open" if value != "on track" else "closed",
            now=NOW,
        )

    opened = state("off track")
    assert opened is not None
    assert opened.new
    assert state("off track") is None
    changed = state("missed", "Goal 'A' is missed")
    assert changed is not None
    assert changed.new
    assert changed.alert.id == opened.alert.id
    closed = state("on track")
    assert closed is not None
    assert closed.alert.state == "closed"
    assert state("on track") is None


def test_alerts_of_another_organisation_are_invisible(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    _detect(session, other_org.id, NOW)
    (theirs,) = alerts.list_alerts(session, other_org.id).items
    with pytest.raises(NotFound):
        alerts.get_alert(session, org.id, theirs.id)
    with pytest.raises(NotFound):
        alerts.close_alert(session, org.id, theirs.id)
    assert alerts.list_alerts(session, org.id).items == []
    with pytest.raises(Invalid):
        alerts.list_alerts(session, org.id, state="maybe")
    with pytest.raises(Invalid):
        alerts.list_alerts(session, org.id, limit=0)


def test_the_inputs_are_the_rollups_by_segment(
    session: Session, org: Organisation, survey: Survey
) -> None:
    day = date(2026, 11, 19)
    at = datetime(2026, 11, 19, 12, tzinfo=UTC)
    add_responses(
        session,
        org.id,
        [
            NewResponse(survey_id=survey.id, score=5, submitted_at=at, channel="email"),
            NewResponse(survey_id=survey.id, score=2, submitted_at=at, channel="chat"),
            NewResponse(survey_id=survey.id, score=4, submitted_at=at - timedelta(days=1)),
        ],
        events=False,
    )
    series = alert_inputs.segment_days(session, org.id, survey.id, day - timedelta(1), day)
    assert dict(series["all"][day].counts) == {2: 1, 5: 1}
    assert series["all"][day - timedelta(1)].n == 1
    assert dict(series["channel=email"][day].counts) == {5: 1}
    assert dict(series["touchpoint=after support ticket"][day].counts) == {2: 1, 5: 1}
    assert [s.id for s in alert_inputs.surveys_with_answers(session, org.id, day, day)] == [
        survey.id
    ]
    assert alert_inputs.surveys_with_answers(session, org.id, day + timedelta(1), day) == []


def test_a_theme_spike_in_the_rollups_raises_one_alert(
    session: Session, org: Organisation, survey: Survey
) -> None:
    theme = text_themes.create_theme(
        session, org.id, key="delivery", name="Delivery", phrases={"en": ["delivery"]}
    )
    today = NOW.date()
    rows = []
    for back in range(29):
        day = today - timedelta(days=back)
        session.add(
            CommentRollup(organisation_id=org.id, survey_id=survey.id, day=day, score=3.0, count=50)
        )
        mentions = 30 if back == 0 else 5
        rows.append(
            ThemeRollup(
                organisation_id=org.id,
                survey_id=survey.id,
                theme_id=theme.id,
                day=day,
                score=2.0,
                sentiment="negative",
                count=mentions,
            )
        )
    session.add_all(rows)
    add_responses(
        session, org.id, [NewResponse(survey_id=survey.id, score=5, submitted_at=NOW)], events=False
    )
    session.flush()
    result = alert_runner.scan_organisation(session, org.id, NOW + timedelta(minutes=5))
    assert len(result.raised) == 1
    (alert,) = alerts.list_alerts(session, org.id).items
    assert alert.kind == "theme-spike"
    assert alert.key == f"theme-spike:{survey.id}:{theme.key}"
    assert alert.details["mentions_after"] == 30
    assert alert.details["n_after"] == 50
    assert alert.details["change"] == pytest.approx(50.0)
    assert theme.name in alert.title
