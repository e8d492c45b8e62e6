"""An organisation's taxonomy: seeding once, edits, merges, deletions and the version they
bump, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, comment_listing, text_themes
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import Organisation, ResponseTheme, Survey, TextTheme
from cxpulse.store.text_themes import ThemeSeed

from .analysis_support import analysed, answer, theme, write

SEED = [
    ThemeSeed("delivery", "Delivery", {"en": ["delivery", "shipping"], "sv": ["leverans"]}),
    ThemeSeed("price", "Price", {"en": ["price", "expensive"]}),
    ThemeSeed("late", "Late delivery", {"en": ["late"]}, implies=("delivery",)),
]


def test_the_starter_taxonomy_is_seeded_once(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    assert text_themes.taxonomy_version(session, org.id) == 0
    assert text_themes.ensure_taxonomy(session, org.id, SEED)
    assert not text_themes.ensure_taxonomy(session, org.id, SEED)
    assert text_themes.taxonomy_version(session, org.id) == 1
    rows = text_themes.active_taxonomy(session, org.id)
    assert [(r.key, r.origin, dict(r.phrases), r.implies) for r in rows] == [
        ("delivery", "starter", {"en": ("delivery", "shipping"), "sv": ("leverans",)}, ()),
        ("late", "starter", {"en": ("late",)}, ("delivery",)),
        ("price", "starter", {"en": ("price", "expensive")}, ()),
    ]
    # Another organisation has its own copy, seeded when it first needs one.
    assert text_themes.list_themes(session, other_org.id) == []
    assert text_themes.taxonomy_versions(session) == {org.id: 1, other_org.id: 0}
    # A taxonomy emptied by its organisation stays empty.
    for found in text_themes.list_themes(session, org.id):
        text_themes.delete_theme(session, org.id, found.id)
    assert not text_themes.ensure_taxonomy(session, org.id, SEED)
    assert text_themes.list_themes(session, org.id, include_inactive=True) == []
    with pytest.raises(NotFound):
        text_themes.ensure_taxonomy(session, 999_999, SEED)


def test_two_transactions_seed_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        org_id = accounts.create_organisation(session, slug="acme", name="Acme").id
    with sessions.begin() as first:
        assert text_themes.ensure_taxonomy(first, org_id, SEED)
    with sessions.begin() as second:
        assert not text_themes.ensure_taxonomy(second, org_id, SEED)
    with sessions() as session:
        assert len(text_themes.list_themes(session, org_id)) == 3


def test_creating_checks_and_cleans_what_it_stores(session: Session, org: Organisation) -> None:
    made = text_themes.create_theme(
        session,
        org.id,
        key="checkout",
        name="  Checkout ",
        phrases={"en": [" check  out ", "Check Out", "checkout", ""], "sv": ["  "]},
    )
    assert (made.name, made.origin, made.is_active) == ("Checkout", "custom", True)
    assert made.phrases == {"en": ["check out", "checkout"]}
    assert text_themes.taxonomy_version(session, org.id) == 1
    assert text_themes.get_theme_by_key(session, org.id, "checkout").id == made.id

    with pytest.raises(Conflict):
        text_themes.create_theme(session, org.id, key="checkout", name="Again", phrases={})
    bad: list[Callable[[], object]] = [
        lambda: text_themes.create_theme(session, org.id, key="Not A Key", name="x", phrases={}),
        lambda: text_themes.create_theme(session, org.id, key="k", name=" ", phrases={}),
        lambda: text_themes.create_theme(session, org.id, key="k", name="x", phrases={"EN": []}),
        lambda: text_themes.create_theme(session, org.id, key="k", name="x", phrases={"en": "x"}),
        lambda: text_themes.create_theme(
            session, org.id, key="k", name="x", phrases={"en": ["a\x00b"]}
        ),
        lambda: text_themes.create_theme(
            session, org.id, key="k", name="x", phrases={"en": ["x" * 201]}
        ),
        lambda: text_themes.create_theme(
            session, org.id, key="k", name="x", phrases={}, origin="starter-ish"
        ),
    ]
    for call in bad:
        with pytest.raises(Invalid):
            call()
    assert text_themes.taxonomy_version(session, org.id) == 1


def test_a_rename_keeps_the_version_and_phrases_bump_it(
    session: Session, org: Organisation
) -> None:
    made = theme(session, org.id, "billing", "invoice")
    version = text_themes.taxonomy_version(session, org.id)
    text_themes.rename_theme(session, org.id, made.id, "Invoices and billing")
    assert text_themes.taxonomy_version(session, org.id) == version
    text_themes.set_phrases(
        session, org.id, made.id, {"en": ["invoice", "bill"], "de": ["Rechnung"]}
    )
    assert text_themes.taxonomy_version(session, org.id) == version + 1
    text_themes.set_active(session, org.id, made.id, False)
    assert text_themes.taxonomy_version(session, org.id) == version + 2
    text_themes.set_active(session, org.id, made.id, False)
    assert text_themes.taxonomy_version(session, org.id) == version + 2
    assert text_themes.active_taxonomy(session, org.id) == []
    assert [t.key for t in text_themes.list_themes(session, org.id, include_inactive=True)] == [
        "billing"
    ]
    back = text_themes.set_active(session, org.id, made.id, True)
    assert back.name == "Invoices and billing"
    assert back.phrases == {"en": ["invoice", "bill"], "de": ["Rechnung"]}


def test_merging_moves_assignments_and_phrases(
    session: Session, org: Organisation, survey: Survey
) -> None:
    late = theme(session, org.id, "late", "late", "slow")
    delivery = theme(session, org.id, "delivery", "delivery", "late")
    older = theme(session, org.id, "older", "courier")
    text_themes.merge_themes(session, org.id, older.id, late.id)
    only_late = answer(session, org.id, survey.id, 1, "late again")
    both = answer(session, org.id, survey.id, 2, "late delivery")
    write(
        session,
        org.id,
        analysed(only_late, [(late.id, "negative")]),
        analysed(both, [(late.id, "negative"), (delivery.id, "neutral")]),
    )
    version = text_themes.taxonomy_version(session, org.id)

    target = text_themes.merge_themes(session, org.id, late.id, delivery.id)

    assert target.id == delivery.id
    assert target.phrases == {"en": ["delivery", "late", "slow", "courier"]}
    session.expire_all()
    source = text_themes.get_theme(session, org.id, late.id)
    assert (source.is_active, source.merged_into_id) == (False, delivery.id)
    # A theme merged into the source earlier follows it.
    assert text_themes.get_theme(session, org.id, older.id).merged_into_id == delivery.id
    mentions = session.execute(
        select(ResponseTheme.response_id, ResponseTheme.theme_id, ResponseTheme.sentiment)
    ).all()
    # The response that mentioned both keeps the target's own mention.
    assert sorted(tuple(m) for m in mentions) == [
        (only_late.id, delivery.id, "negative"),
        (both.id, delivery.id, "neutral"),
    ]
    assert [m.key for m in comment_listing.themes_of_response(session, org.id, both.id)] == [
        "delivery"
    ]
    assert text_themes.taxonomy_version(session, org.id) == version + 1

    with pytest.raises(Invalid):
        text_themes.merge_themes(session, org.id, delivery.id, delivery.id)
    with pytest.raises(Invalid):
        text_themes.merge_themes(session, org.id, delivery.id, late.id)


def test_deleting_takes_the_assignments_and_the_merge_pointers(
    session: Session, org: Organisation, survey: Survey
) -> None:
    kept = theme(session, org.id, "kept")
    gone = theme(session, org.id, "gone")
    merged = theme(session, org.id, "merged")
    text_themes.merge_themes(session, org.id, merged.id, gone.id)
    response = answer(session, org.id, survey.id, 3, "kept and gone")
    write(session, org.id, analysed(response, [(kept.id, "neutral"), (gone.id, "neutral")]))

    text_themes.delete_theme(session, org.id, gone.id)

    session.expire_all()
    assert [
        m.theme_id for m in comment_listing.themes_of_response(session, org.id, response.id)
    ] == [kept.id]
    assert text_themes.get_theme(session, org.id, merged.id).merged_into_id is None
    with pytest.raises(NotFound):
        text_themes.get_theme(session, org.id, gone.id)


def test_an_organisation_never_reaches_another_ones_themes(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    a, b = org.id, other_org.id
    mine = theme(session, a, "delivery")
    theirs = theme(session, b, "delivery")
    version = text_themes.taxonomy_version(session, a)
    not_found: list[Callable[[], object]] = [
        lambda: text_themes.get_theme(session, b, mine.id),
        lambda: text_themes.rename_theme(session, b, mine.id, "hijacked"),
        lambda: text_themes.set_phrases(session, b, mine.id, {"en": ["x"]}),
        lambda: text_themes.set_active(session, b, mine.id, False),
        lambda: text_themes.merge_themes(session, b, mine.id, theirs.id),
        lambda: text_themes.merge_themes(session, b, theirs.id, mine.id),
        lambda: text_themes.delete_theme(session, b, mine.id),
    ]
    for call in not_found:
        with pytest.raises(NotFound):
            call()
    assert [t.id for t in text_themes.list_themes(session, b)] == [theirs.id]
    session.expire_all()
    assert text_themes.get_theme(session, a, mine.id).name == "Delivery"
    assert text_themes.get_theme(session, a, mine.id).is_active
    assert text_themes.taxonomy_version(session, a) == version
    assert session.scalar(select(TextTheme.key).where(TextTheme.id == mine.id)) == "delivery"


def test_implied_themes_follow_merges_and_deletions(session: Session, org: Organisation) -> None:
    delivery = theme(session, org.id, "delivery")
    courier = theme(session, org.id, "courier")
    late = text_themes.create_theme(
        session, org.id, key="late", name="Late", phrases={}, implies=["delivery", "delivery"]
    )
    assert late.implies == ["delivery"]
    for wrong in (["late"], ["nowhere"], "delivery"):
        with pytest.raises(Invalid):
            text_themes.set_implies(session, org.id, late.id, wrong)
    text_themes.set_implies(session, org.id, courier.id, ["delivery"])
    text_themes.set_implies(session, org.id, late.id, ["courier", "delivery"])

    # Implying the source now implies the target; the target never implies itself.
    text_themes.merge_themes(session, org.id, courier.id, delivery.id)
    assert text_themes.get_theme(session, org.id, late.id).implies == ["delivery"]
    assert text_themes.get_theme(session, org.id, delivery.id).implies == []
    # An inactive theme is never implied in what the analysis reads.
    text_themes.set_active(session, org.id, delivery.id, False)
    assert [r.implies for r in text_themes.active_taxonomy(session, org.id)] == [()]
    text_themes.set_active(session, org.id, delivery.id, True)
    text_themes.delete_theme(session, org.id, delivery.id)
    session.expire_all()
    assert text_themes.get_theme(session, org.id, late.id).implies == []
