"""Organisations and surveys most store tests start from."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import accounts, surveys
from cxpulse.store.models import Organisation, Survey


@pytest.fixture
def org(session: Session) -> Organisation:
    return accounts.create_organisation(session, slug="acme", name="Acme", industry="Retail")


@pytest.fixture
def other_org(session: Session) -> Organisation:
    return accounts.create_organisation(session, slug="globex", name="Globex")


@pytest.fixture
def survey(session: Session, org: Organisation) -> Survey:
    return surveys.create_survey(
        session,
        org.id,
        slug="support-csat",
        name="Support CSAT",
        metric="csat",
        touchpoint="after support ticket",
        questions={"en": {"question": "How satisfied were you?", "comment_prompt": "Why?"}},
        status="active",
    )
