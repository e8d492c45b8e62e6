"""The registry of outbox jobs that later stages fill at start-up."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxpulse.act import jobs
from cxpulse.act.jobs import EXPECTED_KINDS, JobHandler, JobRegistry, NoHandler
from cxpulse.collect.mailer import Composed
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.outbox import Claimed


def _nothing(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    return None


def _other(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    return None


def test_a_kind_with_no_handler_fails_clearly() -> None:
    registry = JobRegistry(["report"])
    with pytest.raises(NoHandler, match=r"no handler is registered .* kind 'report'") as raised:
        registry.handler("report")
    assert raised.value.kind == "report"
    assert isinstance(raised.value, LookupError)


def test_registering_is_idempotent_and_a_second_handler_is_refused() -> None:
    registry = JobRegistry()
    handler = JobHandler("digest", _nothing)
    registry.register(handler)
    registry.register(JobHandler("digest", _nothing))  # equal: the same registration again
    assert registry.handler("digest") is handler
    assert registry.handlers() == (handler,)
    with pytest.raises(ValueError, match="'digest' has a handler already"):
        registry.register(JobHandler("digest", _other))
    registry.unregister("digest")
    with pytest.raises(NoHandler):
        registry.handler("digest")


def test_kinds_are_the_registered_and_the_expected_ones_once_each() -> None:
    registry = JobRegistry(["report"])
    assert registry.kinds() == ("report",)
    registry.register(JobHandler("digest", _nothing))
    registry.register(JobHandler("report", _nothing))
    assert registry.kinds() == ("digest", "report")


def test_the_process_registry_expects_the_report_emails() -> None:
    assert "report" in EXPECTED_KINDS
    assert jobs.REGISTRY.expected == EXPECTED_KINDS
