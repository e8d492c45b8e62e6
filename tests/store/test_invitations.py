"""Invitation and unsubscribe rows, always within one organisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, contacts, surveys
from cxpulse.store import invitations as store
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Invitation, Unsubscribe


@pytest.fixture
def setup(sessions: sessionmaker[Session]) -> tuple[int, int, int, int]:
    """(organisation, other organisation, survey, contact) ids."""
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        other = accounts.create_organisation(session, slug="other", name="Other")
        survey = surveys.create_survey(session, org.id, slug="s", name="S", metric="csat")
        contact = contacts.create_contact(session, org.id, email="a@example.com")
        return org.id, other.id, survey.id, contact.id


def test_lookups_are_scoped(
    sessions: sessionmaker[Session], setup: tuple[int, int, int, int]
) -> None:
    org, other, survey, contact = setup
    with sessions.begin() as session:
        made = Invitation(
            organisation_id=org, survey_id=survey, contact_id=contact, idempotency_key="k"
        )
        session.add(made)
        session.flush()
        assert store.get_invitation(session, org, made.id) is made
        with pytest.raises(NotFound):
            store.get_invitation(session, other, made.id)
        assert store.by_idempotency_keys(session, org, ["k", "x"]) == {"k": made}
        assert store.by_idempotency_keys(session, other, ["k"]) == {}
        assert [i.id for i in store.list_invitations(session, org, survey).items] == [made.id]
        assert store.list_invitations(session, other, survey).items == []


def test_contacted_times_and_last_sent(
    sessions: sessionmaker[Session], setup: tuple[int, int, int, int]
) -> None:
    org, _, survey, contact = setup
    now = datetime.now(UTC)
    with sessions.begin() as session:
        rows = [
            Invitation(
                organisation_id=org,
                survey_id=survey,
                contact_id=contact,
                status="sent",
                send_at=now - timedelta(days=10),
                sent_at=now - timedelta(days=10),
            ),
            Invitation(
                organisation_id=org,
                survey_id=survey,
                contact_id=contact,
                status="scheduled",
                send_at=now + timedelta(days=2),
            ),
            Invitation(
                organisation_id=org,
                survey_id=survey,
                contact_id=contact,
                status="throttled",
                send_at=now + timedelta(days=5),
            ),
        ]
        session.add_all(rows)
        session.flush()
        # Every sent or scheduled moment in the range, not only the latest; throttled ones
        # went nowhere.
        contacted = store.contacted_times(
            session, [contact], now - timedelta(days=30), now + timedelta(days=30)
        )
        assert contacted == {contact: [now - timedelta(days=10), now + timedelta(days=2)]}
        assert (
            store.contacted_times(
                session, [contact], now - timedelta(days=10), now + timedelta(days=2)
            )
            == {}
        ), "both ends are excluded"
        assert store.contacted_times(session, [], now - timedelta(days=30), now) == {}
        sent = store.last_sent(session, [contact], now - timedelta(days=30), exclude=[])
        assert sent[contact] == now - timedelta(days=10)
        assert store.last_sent(session, [contact], now - timedelta(days=5), exclude=[]) == {}
        assert (
            store.last_sent(session, [contact], now - timedelta(days=30), exclude=[rows[0].id])
            == {}
        )


def test_contacted_times_and_last_sent_count_every_contact_with_the_address(
    sessions: sessionmaker[Session], setup: tuple[int, int, int, int]
) -> None:
    """Defect 5: throttling asks about a person, and a person is an address, whichever of
    the organisation's contacts (two CRM records, say) an invitation went to."""
    org, other, survey, contact = setup
    now = datetime.now(UTC)
    with sessions.begin() as session:
        twin = contacts.create_contact(session, org, external_id="crm-2", email="A@Example.com")
        elsewhere = contacts.create_contact(session, other, email="a@example.com")
        nobody = contacts.create_contact(session, org, external_id="crm-3")
        sent = Invitation(
            organisation_id=org,
            survey_id=survey,
            contact_id=twin.id,
            status="sent",
            send_at=now - timedelta(days=3),
            sent_at=now - timedelta(days=3),
        )
        session.add(sent)
        session.flush()
        window = (now - timedelta(days=30), now + timedelta(days=30))
        assert store.contacted_times(session, [contact, elsewhere.id, nobody.id], *window) == {
            contact: [now - timedelta(days=3)]
        }
        assert store.last_sent(
            session, [contact, twin.id, elsewhere.id], window[0], exclude=[]
        ) == {
            contact: now - timedelta(days=3),
            twin.id: now - timedelta(days=3),
        }
        assert store.sharing_address(session, [contact, nobody.id, 999_999]) == {
            contact: frozenset({contact, twin.id}),
            nobody.id: frozenset({nobody.id}),
            999_999: frozenset({999_999}),
        }


def test_unsubscribes(sessions: sessionmaker[Session], setup: tuple[int, int, int, int]) -> None:
    org, other, _, _ = setup
    with sessions.begin() as session:
        assert store.add_unsubscribe(session, org, "A@Example.com", "link")
        assert not store.add_unsubscribe(session, org, "a@example.com ", "api")
        assert store.is_unsubscribed(session, org, "a@EXAMPLE.com")
        assert not store.is_unsubscribed(session, other, "a@example.com")
        assert not store.is_unsubscribed(session, org, None)
        assert store.unsubscribed_among(session, org, ["a@example.com", "b@example.com"]) == {
            "a@example.com"
        }
        assert store.remove_unsubscribe(session, org, "a@example.com")
        assert not store.is_unsubscribed(session, org, "a@example.com")
        assert not store.remove_unsubscribe(session, org, "not an address")


@pytest.mark.parametrize(
    "spelling", ["Ann@X.test", "\uff41nn@x.test", "ann\uff20x.test", " ann@x.test\u3000"]
)
def test_an_unsubscribe_in_any_spelling_is_one_unsubscribe(
    sessions: sessionmaker[Session], setup: tuple[int, int, int, int], spelling: str
) -> None:
    org, _, _, _ = setup
    with sessions.begin() as session:
        assert store.add_unsubscribe(session, org, "ann@x.test", "link")
        assert not store.add_unsubscribe(session, org, spelling, "api")
        assert store.is_unsubscribed(session, org, spelling)
        assert store.unsubscribed_among(session, org, [spelling]) == {"ann@x.test"}
        assert store.normalise_email(spelling) == "ann@x.test"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a@x.test\nBcc: b@y.test", "control character U+000A"),
        ("a\x01@x.test", "control character U+0001"),
        ("a\u200b@x.test", "invisible character (U+200B zero width space)"),
        ("åsa@x.test", "only ASCII letters, digits and punctuation before the @"),
        ("no-address", "needs exactly one @"),
        ("", "is required"),
    ],
)
def test_an_unsubscribe_of_something_that_is_no_address_is_refused(
    sessions: sessionmaker[Session], setup: tuple[int, int, int, int], value: str, problem: str
) -> None:
    """Defect 10: any string, line breaks included, was stored."""
    org, _, _, _ = setup
    with sessions.begin() as session, pytest.raises(Invalid, match=r"^email: ") as refused:
        store.add_unsubscribe(session, org, value, "api")
    assert problem in refused.value.message
    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Unsubscribe)) == 0


def test_cancel_if_scheduled_changes_only_a_scheduled_invitation(
    sessions: sessionmaker[Session], setup: tuple[int, int, int, int]
) -> None:
    org, _, survey, contact = setup
    with sessions.begin() as session:
        scheduled, sent = (
            Invitation(organisation_id=org, survey_id=survey, contact_id=contact, status=status)
            for status in ("scheduled", "sent")
        )
        session.add_all([scheduled, sent])
        session.flush()
        assert store.cancel_if_scheduled(session, scheduled, "changed my mind")
        # The object is reloaded: the update went to the database, not through it.
        assert (scheduled.status, scheduled.reason) == ("cancelled", "changed my mind")
        assert not store.cancel_if_scheduled(session, scheduled, "again")
        assert scheduled.reason == "changed my mind"
        assert not store.cancel_if_scheduled(session, sent, "too late")
        assert (sent.status, sent.reason) == ("sent", None)
