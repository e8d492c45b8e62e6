"""Alert rows of one organisation: one row per incident (``models.Alert``).

A detection carries a ``key`` (what makes two detections the same incident: the survey,
the segment and the kind). While the incident lasts, each detection updates the row's
``last_seen_at`` and numbers instead of adding a row; a row is closed once its key has been
quiet for some days (``close_quiet``) or when a person acknowledges it (``close_alert``).
An acknowledged incident that goes on is still the same incident: it stays closed and is
kept up to date, so nobody is told twice about what they already closed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cxpulse.store import scoped
from cxpulse.store.errors import Invalid
from cxpulse.store.models import ALERT_KINDS, ALERT_STATES, Alert, User
from cxpulse.store.types import utc_now

__all__ = [
    "AlertPage",
    "Recorded",
    "close_alert",
    "close_quiet",
    "count_raised_since",
    "get_alert",
    "latest_for_key",
    "list_alerts",
    "recipients",
    "record_detection",
    "reopen_or_close",
]

MAX_PAGE = 200


@dataclass(frozen=True)
class AlertPage:
    items: list[Alert]
    next_before: int | None
    """The ``before_id`` of the next page; None on the last."""


@dataclass(frozen=True)
class Recorded:
    alert: Alert
    new: bool
    """True when the detection raised a new alert (not an update of an ongoing one)."""


def latest_for_key(session: Session, organisation_id: int, key: str) -> Alert | None:
    return session.scalar(
        select(Alert)
        .where(Alert.organisation_id == organisation_id, Alert.key == key)
        .order_by(Alert.last_seen_at.desc(), Alert.id.desc())
        .limit(1)
    )


def record_detection(
    session: Session,
    organisation_id: int,
    *,
    survey_id: int | None,
    kind: str,
    key: str,
    title: str,
    details: Mapping[str, Any],
    quiet_days: int,
    may_raise: bool = True,
    now: datetime | None = None,
) -> Recorded | None:
    """Raise a new alert for ``key`` or update the incident it belongs to; None when a new
    alert was needed but ``may_raise`` is False (the caller's limit per hour).

    The incident goes on when the key's latest alert is open, or was closed by a person
    but seen within ``quiet_days``."""
    if kind not in ALERT_KINDS:
        raise Invalid("kind", f"must be one of {', '.join(ALERT_KINDS)}")
    moment = now or utc_now()
    latest = latest_for_key(session, organisation_id, key)
    if latest is not None and (
        latest.state == "open" or _aware(latest.last_seen_at) >= moment - timedelta(quiet_days)
    ):
        latest.last_seen_at = moment
        latest.details = {**dict(latest.details or {}), **dict(details), "first": _first(latest)}
        session.flush()
        return Recorded(latest, False)
    if not may_raise:
        return None
    alert = Alert(
        organisation_id=organisation_id,
        survey_id=survey_id,
        kind=kind,
        key=key[:300],
        state="open",
        title=title[:300],
        details={**dict(details), "first": dict(details)},
        raised_at=moment,
        last_seen_at=moment,
    )
    session.add(alert)
    session.flush()
    return Recorded(alert, True)


def _first(alert: Alert) -> dict[str, Any]:
    """The numbers as they were when the alert was raised (kept through updates)."""
    found = (alert.details or {}).get("first")
    return dict(found) if isinstance(found, dict) else {}


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reopen_or_close(
    session: Session,
    organisation_id: int,
    *,
    survey_id: int | None,
    kind: str,
    key: str,
    title: str,
    details: Mapping[str, Any],
    state: str,
    now: datetime | None = None,
) -> Recorded | None:
    """For an alert that follows a state (a goal off track): raise it when ``state`` is
    ``open`` and the key has no open alert; close the open one when ``state`` is ``closed``.
    The result says what changed (None: nothing)."""
    if state not in ALERT_STATES:
        raise Invalid("state", f"must be one of {', '.join(ALERT_STATES)}")
    moment = now or utc_now()
    latest = latest_for_key(session, organisation_id, key)
    if state == "closed":
        if latest is None or latest.state != "open":
            return None
        latest.state, latest.closed_at, latest.last_seen_at = "closed", moment, moment
        latest.details = {**dict(latest.details or {}), **dict(details)}
        session.flush()
        return Recorded(latest, False)
    if latest is not None and latest.state == "open":
        if latest.title != title[:300]:
            # Still off track, for another reason: a change of state worth telling.
            latest.title = title[:300]
            latest.details = {**dict(latest.details or {}), **dict(details)}
            latest.last_seen_at = moment
            session.flush()
            return Recorded(latest, True)
        latest.last_seen_at = moment
        session.flush()
        return None
    alert = Alert(
        organisation_id=organisation_id,
        survey_id=survey_id,
        kind=kind,
        key=key[:300],
        state="open",
        title=title[:300],
        details=dict(details),
        raised_at=moment,
        last_seen_at=moment,
    )
    session.add(alert)
    session.flush()
    return Recorded(alert, True)


def count_raised_since(
    session: Session, organisation_id: int, since: datetime, kinds: Collection[str]
) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(
                Alert.organisation_id == organisation_id,
                Alert.raised_at >= since,
                Alert.kind.in_(tuple(kinds)),
            )
        )
        or 0
    )


def close_quiet(
    session: Session,
    organisation_id: int,
    kinds: Collection[str],
    quiet_days: int,
    now: datetime | None = None,
) -> int:
    """Close the open alerts of ``kinds`` not seen for ``quiet_days``; how many."""
    moment = now or utc_now()
    result = session.execute(
        update(Alert)
        .where(
            Alert.organisation_id == organisation_id,
            Alert.state == "open",
            Alert.kind.in_(tuple(kinds)),
            Alert.last_seen_at < moment - timedelta(days=quiet_days),
        )
        .values(state="closed", closed_at=moment)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def get_alert(session: Session, organisation_id: int, alert_id: int) -> Alert:
    return scoped.get_one(
        session, Alert, organisation_id, Alert.id == alert_id, entity="alert", key=alert_id
    )


def list_alerts(
    session: Session,
    organisation_id: int,
    *,
    state: str | None = None,
    kind: str | None = None,
    survey_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> AlertPage:
    """A page of the organisation's alerts, the latest raised first (keyset on id:
    ``before_id``)."""
    if state is not None and state not in ALERT_STATES:
        raise Invalid("state", f"must be one of {', '.join(ALERT_STATES)}")
    if kind is not None and kind not in ALERT_KINDS:
        raise Invalid("kind", f"must be one of {', '.join(ALERT_KINDS)}")
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid("limit", f"must lie between 1 and {MAX_PAGE}")
    query = select(Alert).where(Alert.organisation_id == organisation_id)
    if state is not None:
        query = query.where(Alert.state == state)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if survey_id is not None:
        query = query.where(Alert.survey_id == survey_id)
    if before_id is not None:
        query = query.where(Alert.id < before_id)
    found = list(session.scalars(query.order_by(Alert.id.desc()).limit(limit + 1)))
    page = found[:limit]
    return AlertPage(page, page[-1].id if len(found) > limit and page else None)


def close_alert(
    session: Session, organisation_id: int, alert_id: int, now: datetime | None = None
) -> tuple[Alert, bool]:
    """Acknowledge an alert; (the alert, True when it was open until now)."""
    alert = get_alert(session, organisation_id, alert_id)
    if alert.state == "closed":
        return alert, False
    alert.state, alert.closed_at = "closed", now or utc_now()
    session.flush()
    return alert, True


def recipients(
    session: Session, organisation_id: int, roles: Collection[str] = ("owner", "admin")
) -> list[User]:
    """The active users of ``roles``: who hears of an organisation's alerts."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.organisation_id == organisation_id,
                User.is_active.is_(True),
                User.role.in_(tuple(roles)),
            )
            .order_by(User.id)
        )
    )
