"""The alert scan: once an hour per organisation, the detector of ``metrics.drift_detection``
on each survey's daily rollups (score drops per segment, theme spikes), then the goals
(``act.goal_alerts``). Each scan examines today so far (24 looks a day share half the
day's false-alarm rate) and yesterday complete (the other half, examined once in effect:
the same counts give the same answer at every scan), so each day is judged once more,
complete, at a level not divided by the hourly looks.

Grouping: the drops found in one survey are one incident, whatever segments show them (500
bad answers by email drop both "all" and "channel=email"); its alert is raised once and
updated (``last_seen_at``, the latest numbers, the segments) while the drop lasts, and
closed after ``QUIET_DAYS`` days without a detection. A theme's spike is its own incident.
At most ``MAX_NEW_PER_HOUR`` new alerts per organisation an hour: the detections beyond
are held back (counted on the last alert raised, and raised at a later scan if they last).

Each new alert publishes ``alert.fired`` or ``theme.spiked`` and queues one email to each
owner and admin of the organisation (``act.alert_emails``), in the scan's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.act import alert_emails, events
from cxpulse.act.tasks import (
    TASKS,
    Done,
    Outcome,
    Retry,
    TaskContext,
    TaskHandler,
    TaskRegistry,
)
from cxpulse.metrics.drift_detection import (
    DetectorSettings,
    ScoreDrop,
    ThemeSpike,
    detect_drops,
    detect_spikes,
)
from cxpulse.store import alert_inputs, alerts, outbox
from cxpulse.store.models import DailyRollup, Goal, Survey
from cxpulse.store.outbox import Claimed

__all__ = ["KIND", "ScanResult", "enqueue_due", "register", "scan_organisation"]

logger = logging.getLogger("cxpulse.worker")

KIND = "alert-scan"
QUIET_DAYS = 3
"""Days without a detection after which an incident is over and its alert closed."""
MAX_NEW_PER_HOUR = 5
"""New alerts an organisation receives at most per hour."""
DAY_SO_FAR = DetectorSettings(family_alpha=0.025, looks_per_day=24)
"""Today, looked at every hour while it fills: 24 looks share half the day's false-alarm
rate."""
COMPLETE_DAY = DetectorSettings(family_alpha=0.025)
"""Yesterday, complete: the other half. Every hourly scan of today repeats the same test on
the same counts, which gives the same answer, so it is one look."""
LOOKS = ((0, DAY_SO_FAR), (1, COMPLETE_DAY))
DETECTED_KINDS = ("score-drop", "theme-spike")


@dataclass(frozen=True)
class Detection:
    kind: str
    survey: Survey
    key: str
    title: str
    details: dict[str, Any]
    event: str


@dataclass
class ScanResult:
    raised: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    held_back: int = 0
    closed: int = 0
    surveys: int = 0
    goals: dict[str, int] = field(default_factory=dict)

    def note(self) -> str:
        return (
            f"{self.surveys} survey(s) scanned; {len(self.raised)} alert(s) raised, "
            f"{len(self.updated)} updated, {self.held_back} held back, {self.closed} closed"
        )


def _segment_label(segment: str) -> str:
    return "all answers" if segment == alert_inputs.ALL else segment.replace("=", " ")


def _drop_detection(survey: Survey, drops: Sequence[ScoreDrop]) -> Detection:
    # The segment with the largest drop leads (its page is the one worth opening); the
    # others are listed with it.
    ordered = sorted(drops, key=lambda found: (-abs(found.change), found.segment))
    lead = ordered[0]
    unit = lead.unit or ""
    others = f" and {len(ordered) - 1} more segment(s)" if len(ordered) > 1 else ""
    title = (
        f"{lead.metric.value.upper()} dropped {abs(lead.change):.1f}{unit} in "
        f"{_segment_label(lead.segment)}{others} of {survey.name}"
    )
    details = {
        **lead.to_dict(),
        "survey_name": survey.name,
        "segments": [found.to_dict() for found in ordered],
    }
    return Detection("score-drop", survey, f"score-drop:{survey.id}", title, details, "alert.fired")


def _spike_detection(survey: Survey, theme_key: str, spike: ThemeSpike) -> Detection:
    title = (
        f"Theme '{spike.theme}' rose {spike.change:.1f} points to {spike.after:.1f}% of "
        f"comments in {survey.name}"
    )
    details = {**spike.to_dict(), "theme_key": theme_key, "survey_name": survey.name}
    return Detection(
        "theme-spike",
        survey,
        f"theme-spike:{survey.id}:{theme_key}",
        title,
        details,
        "theme.spiked",
    )


def detections(
    session: Session,
    organisation_id: int,
    today: date,
    looks: tuple[tuple[int, DetectorSettings], ...] = LOOKS,
) -> tuple[list[Detection], int]:
    """What the detector finds on each day of ``looks`` (days back from ``today``, and the
    settings for it) in each survey; (detections, surveys read). A survey's drops of all
    looks are one detection; a segment or theme found on two days keeps the later day's."""
    longest = max(s.baseline_days + s.max_recent_days for _, s in looks)
    oldest = max(back for back, _ in looks)
    start = today - timedelta(days=longest + oldest)
    found: list[Detection] = []
    surveys = alert_inputs.surveys_with_answers(
        session, organisation_id, today - timedelta(days=oldest), today
    )
    for survey in surveys:
        series = alert_inputs.segment_days(session, organisation_id, survey.id, start, today)
        spec = survey.metric_spec()
        drops: dict[str, ScoreDrop] = {}
        for back, settings in sorted(looks, key=lambda look: -look[0]):
            for drop in detect_drops(series, today - timedelta(days=back), spec, settings).drops:
                drops[drop.segment] = drop
        if drops:
            found.append(_drop_detection(survey, list(drops.values())))
        themes = alert_inputs.theme_days(session, organisation_id, survey.id, start, today)
        if not themes:
            continue
        commented = alert_inputs.commented_by_day(session, organisation_id, survey.id, start, today)
        keys = {name: key for (_, key, name) in themes}
        mentions = {name: per_day for (_, _, name), per_day in themes.items()}
        spikes: dict[str, ThemeSpike] = {}
        for back, settings in sorted(looks, key=lambda look: -look[0]):
            day = today - timedelta(days=back)
            for spike in detect_spikes(mentions, commented, day, settings):
                spikes[spike.theme] = spike
        for spike in spikes.values():
            found.append(_spike_detection(survey, keys[spike.theme], spike))
    return found, len(surveys)


def scan_organisation(
    session: Session,
    organisation_id: int,
    now: datetime,
    *,
    looks: tuple[tuple[int, DetectorSettings], ...] = LOOKS,
    max_new_per_hour: int = MAX_NEW_PER_HOUR,
    quiet_days: int = QUIET_DAYS,
) -> ScanResult:
    """One scan of the organisation, in the caller's transaction."""
    from cxpulse.act import goal_alerts

    moment = now.astimezone(UTC)
    result = ScanResult()
    found, result.surveys = detections(session, organisation_id, moment.date(), looks)
    budget = max_new_per_hour - alerts.count_raised_since(
        session, organisation_id, moment - timedelta(hours=1), DETECTED_KINDS
    )
    recipients = alerts.recipients(session, organisation_id)
    last_new = None
    for detection in found:
        recorded = alerts.record_detection(
            session,
            organisation_id,
            survey_id=detection.survey.id,
            kind=detection.kind,
            key=detection.key,
            title=detection.title,
            details=detection.details,
            quiet_days=quiet_days,
            may_raise=budget > 0,
            now=moment,
        )
        if recorded is None:
            result.held_back += 1
            continue
        if not recorded.new:
            result.updated.append(recorded.alert.id)
            continue
        budget -= 1
        alert = recorded.alert
        last_new = alert
        result.raised.append(alert.id)
        events.publish(
            session,
            organisation_id,
            detection.event,
            {
                "alert_id": alert.id,
                "survey_id": detection.survey.id,
                "title": alert.title,
                **detection.details,
            },
            event_id=f"alert-{alert.id}",
        )
        alert_emails.enqueue_alert_emails(session, alert, recipients)
    if result.held_back and last_new is not None:
        last_new.details = {**dict(last_new.details or {}), "held_back": result.held_back}
    result.closed = alerts.close_quiet(
        session, organisation_id, DETECTED_KINDS, quiet_days, now=moment
    )
    result.goals = goal_alerts.check_goals(
        session, organisation_id, today=moment.date(), now=moment
    )
    return result


def enqueue_due(session: Session, now: datetime) -> int:
    """Queue this hour's scan of each organisation with answers in the last two days or a
    goal; the dedupe key names the organisation and the hour, so once an hour."""
    moment = now.astimezone(UTC)
    recent = select(DailyRollup.organisation_id).where(
        DailyRollup.day >= moment.date() - timedelta(days=1)
    )
    with_goals = select(Goal.organisation_id)
    organisations = set(session.scalars(recent.distinct())) | set(
        session.scalars(with_goals.distinct())
    )
    queued = 0
    for organisation_id in sorted(organisations):
        key = f"{KIND}:{organisation_id}:{moment:%Y-%m-%dT%H}"
        if outbox.enqueue(session, organisation_id, KIND, key, {"at": moment.isoformat()}):
            queued += 1
    return queued


def run(context: TaskContext, items: Sequence[Claimed]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for item in items:
        # One organisation's failure (its transaction rolled back) must not hold back the
        # scans of the others in the batch.
        try:
            with context.sessions.begin() as session:
                result = scan_organisation(session, item.organisation_id, context.clock())
        except Exception as error:
            logger.exception("alert scan of organisation %s failed", item.organisation_id)
            outcomes.append(Retry(f"{type(error).__name__}: {error}"))
            continue
        logger.info("alert scan of organisation %s: %s", item.organisation_id, result.note())
        outcomes.append(Done(result.note()))
    return outcomes


ALERT_SCAN_TASK = TaskHandler(kind=KIND, run=run, batch=20, enqueue_due=enqueue_due)


def register(registry: TaskRegistry = TASKS) -> None:
    """Let the worker run the hourly alert scans and send their emails (again: harmless)."""
    registry.register(ALERT_SCAN_TASK)
    alert_emails.register()
