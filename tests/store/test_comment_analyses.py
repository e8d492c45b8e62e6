"""The analysis queue and its writes: which comments wait, replacing an analysis, skipping a
comment changed meanwhile, keeping copies in step, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import (
    accounts,
    comment_analyses,
    comment_listing,
    comment_queue,
    comment_rollups,
    responses,
    surveys,
    text_themes,
)
from cxpulse.store.comment_analyses import STALE, NewAnalysis, NewMention
from cxpulse.store.errors import Invalid
from cxpulse.store.models import AnalysedComment, Organisation, Response, ResponseTheme, Survey

from .analysis_support import MOMENT, VERSION, analysed, answer, theme, write


def _ids(found: list[comment_queue.PendingComment]) -> list[int]:
    return [pending.response_id for pending in found]


def test_analysing_again_replaces_the_analysis_and_its_mentions(
    session: Session, org: Organisation, survey: Survey
) -> None:
    delivery = theme(session, org.id, "delivery")
    price = theme(session, org.id, "price")
    response = answer(session, org.id, survey.id, 2, "slow delivery, ann@example.com")
    first = analysed(response, [(delivery.id, "negative"), (price.id, "neutral")])
    assert write(session, org.id, first) == comment_analyses.WriteCounts(1, 0, 0)
    assert write(session, org.id, first) == comment_analyses.WriteCounts(1, 0, 0)
    second = replace(
        analysed(response, [(price.id, "positive")], sentiment="negative"),
        mentions=(NewMention(price.id, "positive"), NewMention(price.id, "positive")),
    )
    write(session, org.id, second, version="test.2")

    [row] = session.scalars(select(AnalysedComment)).all()
    assert (row.sentiment, row.taxonomy_version, row.redacted_comment) == (
        "negative",
        "test.2",
        "slow delivery, [email]",
    )
    assert (row.survey_id, row.score, row.submitted_at) == (survey.id, 2.0, MOMENT)
    mentions = session.execute(select(ResponseTheme.theme_id, ResponseTheme.sentiment)).all()
    assert [tuple(m) for m in mentions] == [(price.id, "positive")]
    # A response listed twice in one batch is written once (the last one wins).
    write(session, org.id, first, second)
    assert session.scalar(select(func.count()).select_from(AnalysedComment)) == 1


def test_a_comment_changed_or_deleted_meanwhile_is_not_overwritten(
    session: Session, org: Organisation, survey: Survey
) -> None:
    changed = answer(session, org.id, survey.id, 4, "before")
    rescored = answer(session, org.id, survey.id, 4, "same words")
    deleted = answer(session, org.id, survey.id, 4, "deleted")
    emptied = answer(session, org.id, survey.id, 4, "emptied")
    kept = answer(session, org.id, survey.id, 4, "kept")
    write(session, org.id, analysed(emptied))
    read = [analysed(r) for r in (changed, rescored, deleted, emptied, kept)]

    responses.update_response(session, org.id, changed.id, comment="after")
    responses.update_response(session, org.id, rescored.id, score=1)
    responses.delete_response(session, org.id, deleted.id)
    responses.update_response(session, org.id, emptied.id, comment=None)

    counts = write(session, org.id, *read)
    assert counts == comment_analyses.WriteCounts(written=1, skipped=3, removed=1)
    analysed_ids = session.scalars(select(AnalysedComment.response_id)).all()
    assert analysed_ids == [kept.id]
    assert _ids(comment_queue.unanalysed_comments(session, limit=10)) == [
        changed.id,
        rescored.id,
    ]


def test_redaction_at_storage_replaces_the_stored_comment(
    session: Session, org: Organisation, survey: Survey
) -> None:
    response = answer(session, org.id, survey.id, 5, "mail ann@example.com please")
    comment_analyses.write_analyses(
        session, org.id, VERSION, [analysed(response)], replace_comments=True
    )
    session.expire_all()
    assert responses.get_response(session, org.id, response.id).comment == "mail [email] please"
    # The analysis still matches the stored comment: nothing is queued again.
    assert comment_queue.pending_comments(session, {org.id: VERSION}, limit=10) == []


def test_turning_redaction_on_queues_every_analysis_again(
    session: Session, org: Organisation, survey: Survey
) -> None:
    assert comment_analyses.analysis_settings(session)[org.id] == (
        comment_analyses.AnalysisSettings(0, False)
    )
    comment_analyses.set_redact_comments(session, org.id, True)
    comment_analyses.set_redact_comments(session, org.id, True)
    assert comment_analyses.analysis_settings(session)[org.id] == (
        comment_analyses.AnalysisSettings(1, True)
    )
    comment_analyses.set_redact_comments(session, org.id, False)
    assert comment_analyses.analysis_settings(session)[org.id] == (
        comment_analyses.AnalysisSettings(1, False)
    )


def test_writes_refuse_what_is_not_the_organisations_or_not_a_value(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    theirs = theme(session, other_org.id, "delivery")
    response = answer(session, org.id, survey.id, 3, "words")
    good = analysed(response)
    refused: list[NewAnalysis] = [
        analysed(response, [(theirs.id, "negative")]),
        replace(good, sentiment="angry"),
        replace(good, sentiment_source="guess"),
        replace(good, language="english-please"),
        replace(good, mentions=(NewMention(theirs.id, "cross"),)),
    ]
    for bad in refused:
        with pytest.raises(Invalid):
            write(session, org.id, bad)
    with pytest.raises(Invalid):
        write(session, org.id, good, version="")
    # Another organisation's response is not written at all.
    assert write(session, other_org.id, good) == comment_analyses.WriteCounts(0, 1, 0)
    assert comment_analyses.write_analyses(session, org.id, VERSION, []).written == 0
    assert session.scalar(select(func.count()).select_from(AnalysedComment)) == 0


def test_changing_a_response_keeps_its_analysis_in_step(
    session: Session, org: Organisation, survey: Survey
) -> None:
    delivery = theme(session, org.id, "delivery")
    response = answer(session, org.id, survey.id, 2, "late delivery")
    write(session, org.id, analysed(response, [(delivery.id, "negative")]))

    later = MOMENT + timedelta(days=3)
    changed = responses.update_response(session, org.id, response.id, submitted_at=later, score=5)
    comment_analyses.on_response_changed(session, changed, reanalyse=True)
    row = session.scalars(select(AnalysedComment)).one()
    session.refresh(row)
    assert (row.submitted_at, row.score, row.taxonomy_version) == (later, 5.0, STALE)
    mention = session.scalars(select(ResponseTheme)).one()
    session.refresh(mention)
    assert (mention.submitted_at, mention.score) == (later, 5.0)
    # Still shown until the new analysis is written.
    assert comment_listing.get_comment(session, org.id, response.id) is not None
    assert _ids(comment_queue.stale_comments(session, org.id, VERSION, limit=10)) == [response.id]

    emptied = responses.update_response(session, org.id, response.id, comment=None)
    comment_analyses.on_response_changed(session, emptied, reanalyse=True)
    assert session.scalar(select(func.count()).select_from(AnalysedComment)) == 0
    assert session.scalar(select(func.count()).select_from(ResponseTheme)) == 0


def test_a_stale_analysis_of_a_removed_comment_is_removed_by_its_next_write(
    session: Session, org: Organisation, survey: Survey
) -> None:
    response = answer(session, org.id, survey.id, 2, "words")
    write(session, org.id, analysed(response), version="v.1")
    # Emptied by code that did not call on_response_changed.
    session.execute(update(Response).where(Response.id == response.id).values(comment=None))
    [stale] = comment_queue.stale_comments(session, org.id, "v.2", limit=10)
    assert stale.comment == ""
    result = comment_analyses.write_analyses(
        session,
        org.id,
        "v.2",
        [NewAnalysis(stale.response_id, "", stale.score, None, "unknown", None, "")],
    )
    assert result.removed == 1
    assert comment_queue.stale_comments(session, org.id, "v.2", limit=10) == []


def test_deleting_a_response_deletes_its_analysis(
    session: Session, org: Organisation, survey: Survey
) -> None:
    delivery = theme(session, org.id, "delivery")
    response = answer(session, org.id, survey.id, 2, "late")
    write(session, org.id, analysed(response, [(delivery.id, "negative")]))
    responses.delete_response(session, org.id, response.id)
    session.flush()
    assert session.scalar(select(func.count()).select_from(AnalysedComment)) == 0
    assert session.scalar(select(func.count()).select_from(ResponseTheme)) == 0


def test_a_slow_write_waits_for_an_edit_and_then_skips_it(
    sessions: sessionmaker[Session],
) -> None:
    """Across transactions: an analysis read before an edit is not written after it."""
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        survey = surveys.create_survey(session, org.id, slug="s", name="S", metric="csat")
        response = answer(session, org.id, survey.id, 4, "first words")
        read = analysed(response)
    with sessions.begin() as session:
        changed = responses.update_response(session, org.id, response.id, comment="new words")
        comment_analyses.on_response_changed(session, changed, reanalyse=True)
    with sessions.begin() as session:
        assert write(session, org.id, read).skipped == 1
    with sessions() as session:
        [pending] = comment_queue.unanalysed_comments(session, limit=10)
        assert pending.comment == "new words"


def test_the_daily_counts_equal_a_recount_after_every_change(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    def check() -> None:
        session.flush()
        assert comment_rollups.stored(session) == comment_rollups.recount(session)

    delivery = theme(session, org.id, "delivery")
    price = theme(session, org.id, "price")
    staff = theme(session, org.id, "staff")
    made = [
        answer(
            session, org.id, survey.id, n % 5 + 1, f"words {n}", at=MOMENT + timedelta(hours=7 * n)
        )
        for n in range(8)
    ]
    write(
        session,
        org.id,
        *(
            analysed(r, [(delivery.id, "negative")] if n % 2 else [(price.id, "neutral")])
            for n, r in enumerate(made)
        ),
    )
    check()
    stored, _ = comment_rollups.stored(session)
    assert sum(stored.values()) == 8
    # Analysing again with other themes moves the counts.
    write(session, org.id, analysed(made[0], [(delivery.id, "positive"), (staff.id, "neutral")]))
    check()
    # A new day and score for one answer; a removed comment; a deleted answer.
    moved = responses.update_response(
        session, org.id, made[1].id, submitted_at=MOMENT + timedelta(days=9), score=2
    )
    comment_analyses.on_response_changed(session, moved, reanalyse=True)
    check()
    emptied = responses.update_response(session, org.id, made[2].id, comment=None)
    comment_analyses.on_response_changed(session, emptied, reanalyse=True)
    check()
    comment_analyses.on_response_deleted(session, org.id, made[3].id)
    responses.delete_response(session, org.id, made[3].id)
    check()
    # Merging and deleting themes.
    text_themes.merge_themes(session, org.id, price.id, delivery.id)
    check()
    text_themes.delete_theme(session, org.id, staff.id)
    check()
    _, themes = comment_rollups.stored(session)
    assert {key.theme_id for key in themes} == {delivery.id}
    # A repair gives the same counts.
    comment_rollups.rebuild(session, org.id)
    check()
    assert comment_rollups.stored(session, other_org.id) == ({}, {})
