from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import accounts, security
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import Organisation, User
from cxpulse.store.types import utc_now


def test_passwords_are_argon2_hashed_and_verified() -> None:
    hashed = security.hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert security.verify_password("correct horse", hashed)
    assert not security.verify_password("wrong horse", hashed)
    assert not security.verify_password("correct horse", "not a hash")
    assert not security.password_needs_rehash(hashed)


def test_api_keys_are_random_and_only_their_hash_is_kept() -> None:
    first, second = security.generate_api_key(), security.generate_api_key()
    assert first.plaintext != second.plaintext
    assert first.plaintext.startswith(f"cxp_{first.prefix}_")
    parts = security.split_api_key(first.plaintext)
    assert parts is not None
    assert parts[0] == first.prefix
    assert first.key_hash == security.hash_api_key_secret(parts[1])
    assert parts[1] not in first.key_hash
    assert security.split_api_key("Bearer nonsense") is None


def test_users_log_in_with_email_and_password(session: Session, org: Organisation) -> None:
    user = accounts.create_user(
        session, org.id, email=" Ann@Example.com ", password="long enough", role="analyst"
    )
    assert user.email == "ann@example.com"
    assert accounts.authenticate(session, "ANN@example.com", "long enough") == user
    assert user.last_login_at is not None
    assert accounts.authenticate(session, "ann@example.com", "wrong password") is None
    assert accounts.authenticate(session, "nobody@example.com", "long enough") is None
    accounts.update_user(session, org.id, user.id, is_active=False)
    assert accounts.authenticate(session, "ann@example.com", "long enough") is None


def test_user_rules(session: Session, org: Organisation, other_org: Organisation) -> None:
    accounts.create_user(session, org.id, email="a@example.com", password="12345678", role="owner")
    with pytest.raises(
        Conflict, match="a user of this organisation with this address exists already"
    ):
        accounts.create_user(
            session, org.id, email="A@example.com", password="12345678", role="viewer"
        )
    with pytest.raises(Invalid, match="role"):
        accounts.create_user(
            session, org.id, email="b@example.com", password="12345678", role="god"
        )
    with pytest.raises(Invalid, match="password"):
        accounts.create_user(session, org.id, email="b@example.com", password="short", role="agent")
    with pytest.raises(Invalid, match="email"):
        accounts.create_user(
            session, org.id, email="not-an-email", password="12345678", role="agent"
        )


def test_api_key_lifecycle(session: Session, org: Organisation) -> None:
    owner = accounts.create_user(
        session, org.id, email="o@example.com", password="12345678", role="owner"
    )
    key, plaintext = accounts.create_api_key(
        session, org.id, name="shop", scope="write", created_by=owner.id
    )
    assert plaintext not in (key.key_hash, key.prefix)
    found = accounts.lookup_api_key(session, plaintext)
    assert found == key
    assert found.allows("read")
    assert found.allows("write")
    first_use = key.last_used_at
    assert first_use is not None

    # Within a minute the use is not written again; after it, it is.
    accounts.lookup_api_key(session, plaintext, now=first_use + timedelta(seconds=30))
    assert key.last_used_at == first_use
    later = first_use + timedelta(minutes=2)
    accounts.lookup_api_key(session, plaintext, now=later)
    assert key.last_used_at == later

    assert accounts.lookup_api_key(session, plaintext[:-1] + "x") is None
    assert accounts.lookup_api_key(session, "cxp_000000000000_nope") is None
    accounts.revoke_api_key(session, org.id, key.id)
    assert accounts.lookup_api_key(session, plaintext) is None
    assert not key.allows("read")


def test_read_keys_cannot_write(session: Session, org: Organisation) -> None:
    key, _ = accounts.create_api_key(session, org.id, name="dashboard", scope="read")
    assert key.allows("read")
    assert not key.allows("write")
    with pytest.raises(Invalid, match="scope"):
        accounts.create_api_key(session, org.id, name="x", scope="admin")


def test_organisations(session: Session, org: Organisation) -> None:
    assert accounts.get_organisation_by_slug(session, "acme") == org
    assert org.throttle_days == 30
    with pytest.raises(Conflict):
        accounts.create_organisation(session, slug="acme", name="Again")
    with pytest.raises(Invalid):
        accounts.create_organisation(session, slug="Not A Slug", name="X")
    with pytest.raises(NotFound):
        accounts.get_organisation(session, 999_999)


def test_a_login_in_three_steps_upgrades_a_weak_hash(session: Session, org: Organisation) -> None:
    from argon2 import PasswordHasher

    user = accounts.create_user(
        session, org.id, email="weak@example.com", password="long enough", role="viewer"
    )
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("long enough")
    user.password_hash = weak
    session.flush()
    assert accounts.find_login(session, "nobody@example.com") is None
    assert accounts.check_login(None, "long enough") is None  # still costs one hash
    found = accounts.find_login(session, " WEAK@example.com ")
    assert found == accounts.LoginCandidate(
        "weak@example.com", (accounts.LoginAccount(user.id, weak, True, None),)
    )
    assert accounts.check_login(found, "wrong password") is None
    checked = accounts.check_login(found, "long enough")
    assert checked is not None
    assert (checked.user_id, checked.checked_hash) == (user.id, weak)
    assert checked.new_hash is not None
    assert not security.password_needs_rehash(checked.new_hash)
    assert accounts.record_login(session, checked) == user
    assert user.password_hash == checked.new_hash
    assert user.last_login_at is not None


def test_a_login_keeps_a_password_changed_meanwhile(session: Session, org: Organisation) -> None:
    user = accounts.create_user(
        session, org.id, email="ann@example.com", password="long enough", role="viewer"
    )
    checked = accounts.CheckedLogin(user.id, "the hash checked before", "a new hash")
    assert accounts.record_login(session, checked) == user
    assert user.password_hash not in ("the hash checked before", "a new hash")
    accounts.update_user(session, org.id, user.id, is_active=False)
    # Deactivated between the password check and the record: no login.
    assert accounts.record_login(session, checked) is None
    found = accounts.find_login(session, "ann@example.com")
    assert found is not None
    assert not found.accounts[0].is_active
    assert accounts.check_login(found, "long enough") is None


@pytest.mark.parametrize(
    "spelling",
    [
        "ANN@example.com",
        "Ann@Example.COM",
        "\uff41\uff4e\uff4e@example.com",  # fullwidth letters
        "ann\uff20example.com",  # fullwidth @
        "ann@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",
        "\u00a0ann@example.com ",
    ],
)
def test_a_look_alike_address_is_the_same_user(
    session: Session, org: Organisation, spelling: str
) -> None:
    """Defect 5: look-alikes made a second account of one person; they are one address."""
    user = accounts.create_user(
        session, org.id, email="ann@example.com", password="long enough", role="viewer"
    )
    with pytest.raises(Conflict):
        accounts.create_user(session, org.id, email=spelling, password="other pw!", role="owner")
    assert accounts.authenticate(session, spelling, "long enough") == user


@pytest.mark.parametrize(
    ("spelling", "problem"),
    [
        ("ann\u200b@example.com", "invisible character (U+200B zero width space)"),
        ("ann@example.com\u200e", "invisible character (U+200E left-to-right mark)"),
        ("\ufeffann@example.com", "invisible character (U+FEFF zero width no-break space)"),
        ("a\u0301nn@example.com", "only ASCII letters, digits and punctuation before the @"),
    ],
)
def test_an_address_with_hidden_or_foreign_characters_is_refused(
    session: Session, org: Organisation, spelling: str, problem: str
) -> None:
    with pytest.raises(Invalid, match=f"^email: .*{re.escape(problem)}"):
        accounts.create_user(session, org.id, email=spelling, password="long enough", role="agent")
    assert accounts.find_login(session, spelling) is None


def test_an_address_with_an_account_elsewhere_is_created_like_a_new_one(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    """Defect 11: creating a user never tells whether its address has an account in another
    organisation; each account then logs in with its own password."""
    theirs = accounts.create_user(
        session, org.id, email="ann@example.com", password="acme password", role="owner"
    )
    fresh = accounts.create_user(
        session, other_org.id, email="bo@example.com", password="globex password", role="viewer"
    )
    mine = accounts.create_user(
        session, other_org.id, email="ANN@example.com", password="globex password", role="viewer"
    )
    assert (mine.organisation_id, mine.email, mine.role) == (
        other_org.id,
        "ann@example.com",
        "viewer",
    )
    assert (fresh.organisation_id, fresh.role) == (mine.organisation_id, mine.role)
    assert [u.email for u in accounts.list_users(session, other_org.id)] == [
        "bo@example.com",
        "ann@example.com",
    ]
    assert accounts.authenticate(session, "ann@example.com", "globex password") == mine
    assert accounts.authenticate(session, "ann@example.com", "acme password") == theirs
    assert accounts.authenticate(session, "ann@example.com", "wrong password") is None
    accounts.update_user(session, other_org.id, mine.id, is_active=False)
    assert accounts.authenticate(session, "ann@example.com", "globex password") is None
    assert accounts.authenticate(session, "ann@example.com", "acme password") == theirs


def test_a_login_costs_one_hash_however_many_accounts_an_address_has(
    session: Session,
    org: Organisation,
    other_org: Organisation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Timing must not tell either: the accounts of one address share their salt, so one
    argon2 computation checks a password against all of them."""
    import argon2._password_hasher as hasher_module

    security.burn_password_check("warm up")  # its dummy hash is made once per process
    computations: list[str] = []
    for name in ("hash_secret", "verify_secret"):
        real = getattr(hasher_module, name)

        def counted(*args: object, _real: Any = real, _name: str = name, **kw: object) -> Any:
            computations.append(_name)
            return _real(*args, **kw)

        monkeypatch.setattr(hasher_module, name, counted)

    def cost(email: str, password: str) -> int:
        found = accounts.find_login(session, email)
        computations.clear()
        accounts.check_login(found, password)
        return len(computations)

    accounts.create_user(
        session, org.id, email="ann@example.com", password="first pw", role="owner"
    )
    assert cost("nobody@example.com", "first pw") == 1
    assert cost("ann@example.com", "wrong pw") == 1
    assert cost("ann@example.com", "first pw") == 1
    third = accounts.create_organisation(session, slug="initech", name="Initech")
    for organisation, password in [(other_org, "second pw"), (third, "third pw")]:
        accounts.create_user(
            session, organisation.id, email="Ann@example.com", password=password, role="viewer"
        )
    hashes = [u.password_hash for u in session.scalars(select(User).order_by(User.id))]
    assert len({h.rpartition("$")[0] for h in hashes}) == 1  # one salt and parameters
    assert len(set(hashes)) == 3
    for password in ("wrong pw", "first pw", "second pw", "third pw"):
        assert cost("ann@example.com", password) == 1


def test_when_one_password_opens_two_accounts_the_most_recently_used_wins(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    first = accounts.create_user(
        session, org.id, email="ann@example.com", password="same password", role="owner"
    )
    second = accounts.create_user(
        session, other_org.id, email="ann@example.com", password="same password", role="owner"
    )
    assert accounts.authenticate(session, "ann@example.com", "same password") == first
    second.last_login_at = utc_now() + timedelta(seconds=1)
    session.flush()
    assert accounts.authenticate(session, "ann@example.com", "same password") == second


def test_a_new_password_keeps_the_salt_of_the_address_and_old_hashes_move_on_alone(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    from argon2 import PasswordHasher

    first = accounts.create_user(
        session, org.id, email="ann@example.com", password="first pw", role="owner"
    )
    second = accounts.create_user(
        session, other_org.id, email="ann@example.com", password="second pw", role="owner"
    )
    accounts.set_password(session, other_org.id, second.id, "changed pw")
    assert second.password_hash.rpartition("$")[0] == first.password_hash.rpartition("$")[0]
    assert accounts.authenticate(session, "ann@example.com", "changed pw") == second
    # A weak hash of an address with two accounts stays as it is: a new one would need a
    # salt of its own, and then a login would cost two computations.
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    first.password_hash = weak.hash("first pw")
    second.password_hash = weak.hash("changed pw", salt=base64_salt(first.password_hash))
    session.flush()
    checked = accounts.check_login(accounts.find_login(session, "ann@example.com"), "first pw")
    assert checked is not None
    assert (checked.user_id, checked.new_hash) == (first.id, None)


def base64_salt(encoded: str) -> bytes:
    import base64

    salt = encoded.split("$")[4]
    return base64.b64decode(salt + "=" * (-len(salt) % 4))


def test_a_session_names_its_user_in_any_organisation(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    user = accounts.create_user(
        session, other_org.id, email="s@example.com", password="long enough", role="viewer"
    )
    assert accounts.session_user(session, user.id) == user
    assert accounts.session_user(session, 999_999) is None


def test_the_last_active_owner_can_be_neither_demoted_nor_deactivated(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    owner = accounts.create_user(
        session, org.id, email="o@example.com", password="12345678", role="owner"
    )
    # An owner of another organisation does not count.
    accounts.create_user(
        session, other_org.id, email="x@example.com", password="12345678", role="owner"
    )
    with pytest.raises(Conflict) as demoted:
        accounts.update_user(session, org.id, owner.id, role="admin")
    assert (demoted.value.field, demoted.value.message) == (
        "role",
        "the organisation would be left without an owner",
    )
    with pytest.raises(Conflict) as deactivated:
        accounts.update_user(session, org.id, owner.id, is_active=False)
    assert deactivated.value.field == "is_active"
    with pytest.raises(Conflict) as both:
        accounts.update_user(session, org.id, owner.id, role="owner", is_active=False)
    assert both.value.field == "role"
    assert (owner.role, owner.is_active) == ("owner", True)
    # Renaming, or staying owner, is fine.
    accounts.update_user(session, org.id, owner.id, name="Olga", role="owner", is_active=True)
    # An inactive second owner does not count; an active one does.
    second = accounts.create_user(
        session, org.id, email="p@example.com", password="12345678", role="owner"
    )
    accounts.update_user(session, org.id, second.id, is_active=False)
    with pytest.raises(Conflict):
        accounts.update_user(session, org.id, owner.id, role="viewer")
    accounts.update_user(session, org.id, second.id, is_active=True)
    accounts.update_user(session, org.id, owner.id, role="viewer")
    assert owner.role == "viewer"


def test_touching_api_keys_writes_at_most_once_a_minute(
    session: Session, org: Organisation
) -> None:
    key, _ = accounts.create_api_key(session, org.id, name="shop", scope="write")
    assert key.last_used_at is None
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    accounts.touch_api_keys(session, [key.id], now=moment)
    session.expire_all()
    assert key.last_used_at == moment
    accounts.touch_api_keys(session, [key.id], now=moment + timedelta(seconds=30))
    session.expire_all()
    assert key.last_used_at == moment
    accounts.touch_api_keys(session, [key.id], now=moment + timedelta(minutes=1))
    session.expire_all()
    assert key.last_used_at == moment + timedelta(minutes=1)
    accounts.touch_api_keys(session, [])


def test_active_api_key_ids_one_key_and_several(session: Session, org: Organisation) -> None:
    """One key takes a fixed statement, several an IN list: the same answer either way."""
    kept, _ = accounts.create_api_key(session, org.id, name="kept", scope="write")
    gone, _ = accounts.create_api_key(session, org.id, name="gone", scope="write")
    accounts.revoke_api_key(session, org.id, gone.id)
    assert accounts.active_api_key_ids(session, {kept.id}) == {kept.id}
    assert accounts.active_api_key_ids(session, {gone.id}) == set()
    assert accounts.active_api_key_ids(session, {999_999}) == set()
    assert accounts.active_api_key_ids(session, {kept.id, gone.id, 999_999}) == {kept.id}
    assert accounts.active_api_key_ids(session, set()) == set()
