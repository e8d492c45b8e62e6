"""The worker analyses comments in the background with the real text stage, on SQLite and
PostgreSQL: new answers within seconds, taxonomy edits redone in batches, each organisation
with its own themes, redaction at storage, retraining as scored comments arrive."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import comment_analysis
from cxpulse.act.comment_analysis import CommentAnalyser, analyse_pending, retrain_due
from cxpulse.act.comment_pipeline import NOT_SHOWN
from cxpulse.act.worker import InlineWorker, OutboxWorker
from cxpulse.store import (
    accounts,
    comment_analyses,
    comment_listing,
    comment_queue,
    responses,
    sentiment_models,
    surveys,
    text_themes,
)
from cxpulse.store.models import AnalysedComment, Organisation, Response, Survey
from cxpulse.text.analysis import CommentInput
from cxpulse.text.comments import CommentAnalysis

AT = datetime(2024, 5, 2, 10, tzinfo=UTC)


def _answer(
    sessions: sessionmaker[Session], org_id: int, survey_id: int, score: float, comment: str
) -> int:
    with sessions.begin() as session:
        response, _ = responses.add_response(
            session, org_id, survey_id, score, submitted_at=AT, comment=comment
        )
        return response.id


def _themes(sessions: sessionmaker[Session], org_id: int, response_id: int) -> list[str]:
    with sessions() as session:
        return sorted(
            m.key for m in comment_listing.themes_of_response(session, org_id, response_id)
        )


def _comment(
    sessions: sessionmaker[Session], org_id: int, response_id: int
) -> comment_listing.Comment | None:
    with sessions() as session:
        return comment_listing.get_comment(session, org_id, response_id)


def _until_idle(analyser: CommentAnalyser, rounds: int = 20) -> int:
    total = 0
    for _ in range(rounds):
        done = analyser.run_once()
        total += done
        if done == 0:
            return total
    raise AssertionError("the analyser never ran out of work")


def test_the_worker_analyses_a_new_answer(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey, worker: OutboxWorker
) -> None:
    worker.run_once()  # an idle round first: the answer below is new to a running worker
    response_id = _answer(
        sessions,
        org.id,
        survey.id,
        1,
        "The parcel arrived late and support was rude. ann@example.com",
    )
    worker.run_once()

    comment = _comment(sessions, org.id, response_id)
    assert comment is not None
    assert (comment.language, comment.sentiment, comment.sentiment_source) == (
        "en",
        "negative",
        "score",
    )
    assert "[email]" in comment.text
    assert "ann@example.com" not in comment.text
    keys = {m.key for m in comment.themes}
    assert {"delivery-delay", "delivery", "staff-friendliness"} <= keys
    with sessions() as session:
        # Seeded with the starter taxonomy on first use; the stored original is untouched.
        assert {t.origin for t in text_themes.list_themes(session, org.id)} == {"starter"}
        stored = responses.get_response(session, org.id, response_id).comment
        assert stored is not None
        assert stored.endswith("ann@example.com")
    # Nothing is analysed twice.
    assert worker.analyse_comments() == 0


def test_the_inline_worker_analyses_within_seconds(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey, worker: OutboxWorker
) -> None:
    def wait_for(response_id: int, seconds: float) -> float:
        stored = time.monotonic()
        while _comment(sessions, org.id, response_id) is None:
            assert time.monotonic() - stored < seconds, f"not analysed within {seconds} s"
            time.sleep(0.05)
        return time.monotonic() - stored

    inline = InlineWorker(worker, idle_seconds=0.2)
    inline.start()
    try:
        # The first comment of a process loads the language models (tens of seconds on a
        # busy machine); the answers after it are what "within seconds" is about.
        wait_for(_answer(sessions, org.id, survey.id, 4, "Friendly staff"), 600)
        response_id = _answer(sessions, org.id, survey.id, 5, "Fast delivery, great price!")
        took = wait_for(response_id, 30)
    finally:
        inline.stop()
    assert _themes(sessions, org.id, response_id) == ["delivery", "price"]
    assert took < 5


def test_a_backlog_is_found_by_the_sweep_in_batches(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    ids = [_answer(sessions, org.id, survey.id, 4, f"Good support number {n}") for n in range(9)]
    # A worker started after them looks back 4 ids; the sweep finds the rest, 4 ids a
    # round from the first id (a round that finds nothing is a slice without work).
    analyser = CommentAnalyser(sessions, batch=3, sweep_span=4)
    rounds = []
    while analyser.analysed < 9:
        rounds.append(analyser.run_once())
        assert len(rounds) <= ids[-1] // 4 + 10, "the sweep never reached the backlog"
    assert max(rounds) == 3
    for response_id in ids:
        assert _themes(sessions, org.id, response_id) == ["support-competence"]
    with sessions() as session:
        assert comment_queue.pending_comments(session, {}, limit=10) == []


def test_a_taxonomy_edit_is_redone_in_the_background(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    analyser = CommentAnalyser(sessions, batch=2)
    ids = [
        _answer(sessions, org.id, survey.id, 2, f"The gift wrap {n} was purple") for n in range(3)
    ]
    other = _answer(sessions, org.id, survey.id, 5, "Friendly staff")
    assert _until_idle(analyser) == 4
    assert _themes(sessions, org.id, ids[0]) == []
    with sessions() as session:
        before = session.scalar(
            select(AnalysedComment.analysed_at).where(AnalysedComment.response_id == other)
        )

    with sessions.begin() as session:
        staff = text_themes.get_theme_by_key(session, org.id, "staff-friendliness")
        text_themes.rename_theme(session, org.id, staff.id, "Our people")
    assert _until_idle(analyser) == 0  # a rename changes no assignment

    with sessions.begin() as session:
        text_themes.create_theme(
            session, org.id, key="gift-wrap", name="Gift wrap", phrases={"en": ["gift wrap"]}
        )
    assert _until_idle(analyser) == 4  # every analysis of the organisation, two a round
    for response_id in ids:
        assert _themes(sessions, org.id, response_id) == ["gift-wrap"]
    with sessions() as session:
        after = session.scalar(
            select(AnalysedComment.analysed_at).where(AnalysedComment.response_id == other)
        )
    assert after is not None
    assert before is not None
    assert after > before


def test_each_organisation_has_its_own_themes(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        globex = accounts.create_organisation(session, slug="globex", name="Globex")
        theirs = surveys.create_survey(session, globex.id, slug="s", name="S", metric="nps")
        comment_analysis.ensure_starter_taxonomy(session, globex.id)
        text_themes.create_theme(
            session, globex.id, key="gift-wrap", name="Gift wrap", phrases={"en": ["gift wrap"]}
        )
    mine = _answer(sessions, org.id, survey.id, 3, "The gift wrap was fine")
    their = _answer(sessions, globex.id, theirs.id, 8, "The gift wrap was fine")
    assert analyse_pending(sessions) == 2
    assert _themes(sessions, org.id, mine) == []
    assert _themes(sessions, globex.id, their) == ["gift-wrap"]
    with sessions() as session:
        assert [t.key for t in text_themes.list_themes(session, org.id)].count("gift-wrap") == 0
    assert analyse_pending(sessions) == 0


def test_redaction_at_storage_and_edits_are_followed(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    kept = _answer(sessions, org.id, survey.id, 4, "Write to bo@example.com about the invoice")
    analyser = CommentAnalyser(sessions)
    _until_idle(analyser)
    with sessions.begin() as session:
        comment_analyses.set_redact_comments(session, org.id, True)
    _until_idle(analyser)
    with sessions() as session:
        assert (
            responses.get_response(session, org.id, kept).comment
            == "Write to [email] about the invoice"
        )
    # An edited comment goes back to the queue and is analysed again.
    with sessions.begin() as session:
        changed = responses.update_response(
            session, org.id, kept, comment="The website kept crashing"
        )
        comment_analyses.on_response_changed(session, changed, reanalyse=True)
    assert _until_idle(analyser) == 1
    assert _themes(sessions, org.id, kept) == ["website-or-app"]


def test_models_are_retrained_as_scored_comments_grow(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    def add(count: int, start: int) -> None:
        with sessions.begin() as session:
            responses.add_responses(
                session,
                org.id,
                [
                    responses.NewResponse(
                        survey_id=survey.id,
                        score=5 if n % 2 else 1,
                        submitted_at=AT + timedelta(minutes=n),
                        comment=(
                            f"Wonderful quick friendly service, thank you {n}"
                            if n % 2
                            else f"Terrible slow rude service, never again {n}"
                        ),
                    )
                    for n in range(start, start + count)
                ],
            )

    add(160, 0)
    analyse_pending(sessions, batch=1000)
    assert retrain_due(sessions, org.id) == ["en"]
    assert retrain_due(sessions, org.id) == []
    with sessions() as session:
        info = sentiment_models.model_infos(session, org.id)["en"]
        assert info.scored_comments_seen == 160
    add(100, 160)  # 100 new and more than 20% of 160
    analyse_pending(sessions, batch=1000)
    assert retrain_due(sessions, org.id) == ["en"]
    with sessions() as session:
        [(_, blob)] = sentiment_models.load_models(session, org.id).values()
    from cxpulse.text.sentiment import SentimentModel

    assert SentimentModel.from_bytes(blob).to_bytes() == blob


@pytest.mark.parametrize("redact", [False, True])
def test_versions_say_what_the_analysis_depends_on(redact: bool) -> None:
    from cxpulse.text.taxonomy import starter_taxonomy

    taxonomy = starter_taxonomy()
    ids = {key: n for n, key in enumerate(taxonomy.keys)}
    version = comment_analysis.version_of(taxonomy, redact=redact, theme_ids=ids)
    assert len(version) <= 32
    assert version.startswith(comment_analysis.ANALYSIS_VERSION + ("r." if redact else "."))
    assert version != comment_analysis.version_of(taxonomy, redact=not redact, theme_ids=ids)
    # The same key on another row (deleted and made again) is another version.
    again = {**ids, "billing": 99}
    assert version != comment_analysis.version_of(taxonomy, redact=redact, theme_ids=again)
    assert version == comment_analysis.version_of(taxonomy, redact=redact, theme_ids=dict(ids))


def test_a_theme_deleted_and_made_again_gets_its_mentions_back(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    analyser = CommentAnalyser(sessions)
    response_id = _answer(sessions, org.id, survey.id, 2, "I was billed twice")
    _until_idle(analyser)
    assert _themes(sessions, org.id, response_id) == ["billing"]
    with sessions.begin() as session:
        billing = text_themes.get_theme_by_key(session, org.id, "billing")
        kept = (billing.name, dict(billing.phrases))
        text_themes.delete_theme(session, org.id, billing.id)
    _until_idle(analyser)
    assert _themes(sessions, org.id, response_id) == []
    with sessions.begin() as session:
        text_themes.create_theme(
            session, org.id, key="billing", name=kept[0], phrases=kept[1], origin="starter"
        )
    _until_idle(analyser)
    assert _themes(sessions, org.id, response_id) == ["billing"]


def test_analysis_needs_no_answer_of_its_own_organisation(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    """An answer deleted between being read and being written is skipped, not an error."""
    response_id = _answer(sessions, org.id, survey.id, 2, "Slow delivery")
    analyser = CommentAnalyser(sessions)
    with sessions() as session:
        [pending] = comment_queue.unanalysed_comments(session, limit=5)
        settings = comment_analyses.analysis_settings(session)
    with sessions.begin() as session:
        responses.delete_response(session, org.id, response_id)
    assert analyser._analyse(org.id, [pending], settings) == 0
    with sessions() as session:
        assert session.scalars(select(Response)).all() == []


def test_a_comment_the_text_stage_fails_on_is_stored_without_its_text(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fault injection: the pipeline raises on one comment; the others of its batch are
    analysed, and that one is stored as not shown instead of stopping the worker."""
    from cxpulse.text import analysis

    real = analysis.analyse

    def failing(comments: Sequence[CommentInput], **kwargs: Any) -> list[CommentAnalysis]:
        if any("BOOM" in comment.text for comment in comments):
            raise ValueError("the text stage broke")
        return real(comments, **kwargs)

    monkeypatch.setattr(analysis, "analyse", failing)
    broken = _answer(sessions, org.id, survey.id, 1, "BOOM call me on +46 70 123 45 67")
    fine = _answer(sessions, org.id, survey.id, 5, "Great price")
    assert analyse_pending(sessions) == 2
    shown = _comment(sessions, org.id, broken)
    assert shown is not None
    assert (shown.text, shown.sentiment, shown.language) == (NOT_SHOWN, "unknown", None)
    assert _themes(sessions, org.id, fine) == ["price"]
