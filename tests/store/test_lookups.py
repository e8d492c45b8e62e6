"""Organisations, surveys and API keys found by what an operator types."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import accounts, lookups, surveys
from cxpulse.store.lookups import Unresolved
from cxpulse.store.models import Organisation, Survey


def test_no_organisation_yet(session: Session) -> None:
    with pytest.raises(Unresolved, match="no organisation yet"):
        lookups.find_organisation(session, None)
    with pytest.raises(Unresolved, match="no organisation yet"):
        lookups.find_survey(session, "nps", None)


def test_the_only_organisation_is_meant(session: Session, org: Organisation) -> None:
    assert lookups.find_organisation(session, None) is org
    assert lookups.find_organisation(session, "acme") is org
    with pytest.raises(Unresolved, match="no organisation 'nope' in this database"):
        lookups.find_organisation(session, "nope")


def test_several_organisations_need_a_choice(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    with pytest.raises(
        Unresolved, match=r"several organisations; pick one with --org \(acme, globex\)"
    ):
        lookups.find_organisation(session, None)
    assert lookups.find_organisation(session, "globex") is other_org
    assert lookups.list_organisations(session) == [org, other_org]


def test_a_survey_slug_used_once_names_its_organisation(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    assert lookups.find_survey(session, "support-csat", None) is survey
    assert lookups.find_survey(session, "support-csat", "acme") is survey
    with pytest.raises(Unresolved, match="no survey 'support-csat' in organisation 'globex'"):
        lookups.find_survey(session, "support-csat", "globex")
    with pytest.raises(Unresolved, match=r"'x' in organisation 'nobody' \(no such organisation\)"):
        lookups.find_survey(session, "x", "nobody")
    with pytest.raises(Unresolved, match="no survey 'nope' in any organisation"):
        lookups.find_survey(session, "nope", None)


def test_a_shared_survey_slug_needs_an_organisation(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    twin = surveys.create_survey(
        session, other_org.id, slug="support-csat", name="S", metric="csat"
    )
    with pytest.raises(
        Unresolved, match=r"exists in several organisations; pick one with --org \(acme, globex\)"
    ):
        lookups.find_survey(session, "support-csat", None)
    assert lookups.find_survey(session, "support-csat", "globex") is twin


def test_a_missing_survey_lists_the_organisations_surveys(
    session: Session, org: Organisation
) -> None:
    with pytest.raises(
        Unresolved, match="no survey 'nps' in organisation 'acme'; it has no survey"
    ):
        lookups.find_survey(session, "nps", None)
    surveys.create_survey(session, org.id, slug="support-csat", name="S", metric="csat")
    surveys.create_survey(session, org.id, slug="relationship", name="R", metric="nps")
    with pytest.raises(Unresolved, match=r"its surveys: support-csat, relationship$"):
        lookups.find_survey(session, "nps", None)


def test_api_keys_by_id_within_an_organisation(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    key, _ = accounts.create_api_key(session, org.id, name="sync", scope="read")
    assert lookups.find_api_key(session, key.id, None) is key
    assert lookups.find_api_key(session, key.id, "acme") is key
    assert lookups.find_api_key(session, key.id, "globex") is None
    assert lookups.find_api_key(session, key.id + 100, None) is None
    with pytest.raises(Unresolved, match="no organisation 'nope'"):
        lookups.find_api_key(session, key.id, "nope")
