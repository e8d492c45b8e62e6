"""The closed loop's kinds of background work, registered with the worker.

Tasks (``act.tasks.TASKS``): the alert scan (hourly per organisation), the rules of each new
answer, recording re-survey scores on their cases, retention, SMS, webhook deliveries.
Emails (``act.jobs.REGISTRY``): replies to customers from a case, rule notices, promoter and
passive emails, alerts, a switched-off webhook. The worker (``act.outbox_worker``) imports
this module, so every process that runs a worker knows them all; ``register`` again with
the process's settings configures what needs them (the SMS provider).
"""

from __future__ import annotations

from cxpulse.act import (
    alert_runner,
    backup_task,
    cases,
    response_events,
    retention,
    sms_sending,
    user_emails,
    webhook_delivery,
)
from cxpulse.collect.sms import SmsSettings

__all__ = ["register"]


def register(sms: SmsSettings | None = None) -> None:
    """Register every kind of the closed loop (idempotent); ``sms``: the provider's settings
    (without them SMS items wait for a worker that has some)."""
    alert_runner.register()
    backup_task.register()
    cases.register()
    response_events.register()
    retention.register()
    sms_sending.register(sms)
    webhook_delivery.register()
    # The team's emails (invitations, password resets) are sent by any worker, not only
    # the web process's own.
    user_emails.register()


register()
