"""Changing an organisation's settings, all of them in one call: the throttle (collect's rule,
``invitation_throttling``) and the rest (``store.organisation_settings``).

The settings page and ``PATCH /api/v1/organisation`` both call ``change_settings``, so they
refuse the same values with the same words and audit the same details. Every refused field
is reported at once (``InvalidSettings.problems``); the caller rolls the session back then.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cxpulse.collect.invitation_throttling import set_organisation_throttle
from cxpulse.store.errors import Invalid
from cxpulse.store.organisation_settings import InvalidSettings, SettingsChange, apply_change

__all__ = ["InvalidSettings", "SettingsChange", "change_settings"]


def change_settings(
    session: Session,
    organisation_id: int,
    change: SettingsChange,
    *,
    throttle_days: object = None,
) -> dict[str, dict[str, object]]:
    """Apply ``change`` and ``throttle_days`` (None: unchanged); what changed, by field, as
    ``{"from": old, "to": new}``. ``InvalidSettings`` names every refused field."""
    problems: dict[str, str] = {}
    details: dict[str, dict[str, object]] = {}
    if throttle_days is not None:
        try:
            previous = set_organisation_throttle(session, organisation_id, throttle_days)
        except Invalid as error:
            problems[error.field] = error.message
        else:
            if previous != throttle_days:
                details["throttle_days"] = {"from": previous, "to": throttle_days}
    try:
        details.update(apply_change(session, organisation_id, change))
    except InvalidSettings as refused:
        problems.update(refused.problems)
    if problems:
        raise InvalidSettings(problems)
    return details
