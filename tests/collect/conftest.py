"""An organisation with a 1-5 CSAT, a 0-10 NPS and a thumbs survey, and import helpers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.imports import ImportOptions, ImportResult, SurveyTarget, import_file
from cxpulse.collect.mapping import parse_map
from cxpulse.store import accounts, rollups, surveys
from cxpulse.store.models import Organisation, Response, Survey


@pytest.fixture
def org(sessions: sessionmaker[Session]) -> Organisation:
    with sessions.begin() as session:
        organisation = accounts.create_organisation(session, slug="acme", name="Acme")
        for slug, metric, low, high in (
            ("support-csat", "csat", None, None),
            ("nps", "nps", None, None),
            ("thumbs", "csat", 0, 1),
        ):
            surveys.create_survey(
                session,
                organisation.id,
                slug=slug,
                name=slug,
                metric=metric,
                scale_low=low,
                scale_high=high,
                touchpoint="after support ticket" if slug == "support-csat" else None,
            )
    return organisation


def target(sessions: sessionmaker[Session], org: Organisation, slug: str) -> SurveyTarget:
    with sessions() as session:
        survey = surveys.get_survey_by_slug(session, org.id, slug)
        return SurveyTarget.of(survey)


def run_import(
    sessions: sessionmaker[Session],
    org: Organisation,
    path: Path,
    *,
    survey: str = "support-csat",
    mapping: str | None = None,
    report: Path | None = None,
    **options: Any,
) -> ImportResult:
    """Import in one committed transaction, as the CLI does."""
    chosen = ImportOptions(mapping=parse_map([mapping] if mapping else []), **options)
    with sessions.begin() as session:
        return import_file(session, target(sessions, org, survey), path, chosen, report=report)


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def stored(sessions: sessionmaker[Session], slug: str = "support-csat") -> list[Response]:
    with sessions() as session:
        query = (
            select(Response)
            .join(Survey, Survey.id == Response.survey_id)
            .where(Survey.slug == slug)
            .order_by(Response.id)
        )
        return list(session.scalars(query))


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def assert_rollups_match(sessions: sessionmaker[Session]) -> Mapping[rollups.RollupKey, int]:
    with sessions() as session:
        kept = rollups.stored(session)
        assert kept == rollups.recount(session)
        return kept
