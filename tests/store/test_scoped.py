from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import scoped
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Organisation, Survey


def test_one_row_of_the_organisation_by_its_key(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    where = Survey.slug == "support-csat"
    assert scoped.get_one(session, Survey, org.id, where, entity="survey", key="x") is survey
    # Another organisation's row is as missing as one that does not exist.
    with pytest.raises(NotFound) as raised:
        scoped.get_one(session, Survey, other_org.id, where, entity="survey", key="support-csat")
    assert (raised.value.entity, raised.value.key) == ("survey", "support-csat")
    with pytest.raises(NotFound, match="survey 'nope' not found"):
        scoped.get_one(session, Survey, org.id, Survey.slug == "nope", entity="survey", key="nope")
