from __future__ import annotations

from sqlalchemy.orm import Session

from cxpulse.store import audit, system_accounts


def test_what_the_system_creates_is_audited_with_its_door(session: Session) -> None:
    organisation = system_accounts.create_organisation(
        session, slug="shop", name="Shop", via="demo", industry="Retail"
    )
    user = system_accounts.create_user(
        session,
        organisation.id,
        email="Ann@Example.com",
        password="long enough",
        role="admin",
        via="cli",
        name="Ann",
    )
    assert (organisation.slug, organisation.name, organisation.industry) == (
        "shop",
        "Shop",
        "Retail",
    )
    assert (user.email, user.role, user.name) == ("ann@example.com", "admin", "Ann")
    entries = audit.list_entries(session, organisation.id)
    assert [(e.actor, e.action, e.entity, e.entity_id, e.details) for e in entries] == [
        (audit.SYSTEM, "create", "user", str(user.id), {"role": "admin", "via": "cli"}),
        (audit.SYSTEM, "create", "organisation", str(organisation.id), {"via": "demo"}),
    ]
