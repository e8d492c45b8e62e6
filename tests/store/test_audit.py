from __future__ import annotations

from sqlalchemy.orm import Session

from cxpulse.store import accounts, audit


def test_a_change_by_the_system_is_recorded_with_the_system_as_actor(session: Session) -> None:
    organisation = accounts.create_organisation(session, slug="shop", name="Shop")
    entry = audit.record_system(
        session, organisation.id, "update", "organisation", organisation.id, details={"via": "cli"}
    )
    assert audit.list_entries(session, organisation.id) == [entry]
    assert (entry.actor, entry.action, entry.entity, entry.entity_id, entry.details) == (
        audit.SYSTEM,
        "update",
        "organisation",
        str(organisation.id),
        {"via": "cli"},
    )
