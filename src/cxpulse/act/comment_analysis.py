"""Analysing comments in the background: new answers within seconds, taxonomy changes in
batches, sentiment models retrained as scored comments arrive.

The queue is durable without a table of its own: a response with a comment and no row in
``comment_analyses`` is waiting, and so is one whose analysis was made with another version
than its organisation's (``store.comment_queue``). Nothing is added to the submission
path; the worker (``OutboxWorker``, in a thread of ``cxpulse serve`` or in ``cxpulse
worker``) calls ``CommentAnalyser.run_once`` every round, so a new answer is analysed a
round or two after it is stored, and a crash loses nothing: whatever was not written is
still waiting.

A round finds its work in three cheap places, never by reading the whole responses table:

1. the answers stored since the last couple of minutes (an id range: a transaction that took
   its id earlier may commit later, so the range starts ``RECENT_SECONDS`` back);
2. a slice of ``SWEEP_SPAN`` ids of a sweep over all responses, one slice a round, which
   finds what 1 cannot (a bulk import that committed late, the backlog after an upgrade);
3. each organisation's stale analyses (its version changed: an edited taxonomy, redaction
   turned on, a comment edited), two index probes when there are none.

The version of an analysis is ``ANALYSIS_VERSION``, whether the organisation redacts at
storage, and the fingerprint of its taxonomy (``text.taxonomy.Taxonomy.version``, which
leaves names out), so a rename never causes work and an edit of phrases redoes exactly the
organisation's analyses. The organisation's counter (``organisations.taxonomy_version``)
only says when to look at its taxonomy again.

Several workers (two ``cxpulse worker`` processes on PostgreSQL) share the queue without
analysing a comment twice: a round claims what it found before analysing it
(``store.comment_claims``: an advisory try-lock per response, held by a transaction the
round keeps open on one connection and released when the round ends or its process dies),
skips what another worker holds and looks past it for other work (at most ``MAX_LOOKS``
times), and re-checks after claiming that nobody wrote the comments meanwhile
(``comment_queue.still_waiting``). Writes of one organisation take turns, so two workers
never wait on each other's rows; a write that still meets a row lock (a request changing
the answers' daily counts) is tried again, and when it keeps failing only that
organisation's batch is given back to the queue, with a warning (``act.comment_writes``).

Every few minutes the round also retrains each language's sentiment model whose scored
comments grew by ``RETRAIN_GROWTH`` and at least ``RETRAIN_MIN_NEW`` since it was trained
(``act.sentiment_training``). Reading and writing happen in short transactions; the analysis and the
training run outside them, so SQLite's write lock is never held while the text stage works.
A round's analyses are written ``WRITE_CHUNK`` at a time, each chunk a transaction of its
own, so that a submission waiting for the write lock never waits for a whole batch. The
caller may run the analysis of a batch elsewhere (``offload``: ``act.background_process``
runs it in a thread of lower priority than the one that holds the database's locks).
Retraining stays in the caller's thread: it ends with a write, and a thread of the lowest
priority holding the write lock would keep every submission waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import comment_writes
from cxpulse.act.comment_pipeline import (
    ANALYSIS_VERSION,
    analyse_safely,
    comment_inputs,
    ensure_starter_taxonomy,
    stored,
    taxonomy_of,
    version_of,
)
from cxpulse.act.sentiment_training import retrain_due
from cxpulse.store import (
    comment_analyses,
    comment_claims,
    comment_queue,
    sentiment_models,
    text_themes,
)
from cxpulse.store.comment_queue import PendingComment

if TYPE_CHECKING:
    from cxpulse.text.sentiment import SentimentModel
    from cxpulse.text.taxonomy import Taxonomy
    from cxpulse.text.theme_matching import ThemeMatcher

__all__ = [
    "ANALYSIS_VERSION",
    "CommentAnalyser",
    "analyse_pending",
    "ensure_starter_taxonomy",
    "retrain_due",
    "version_of",
]

logger = logging.getLogger("cxpulse.worker")

DEFAULT_BATCH = 500
WRITE_CHUNK = 100
"""Analyses written per transaction: about 10 ms of SQLite's write lock, not 50."""
RECENT_SECONDS = 120.0
"""How far back the scan of new answers starts: longer than a submission's transaction."""
SWEEP_SPAN = 20_000
"""Response ids the background sweep looks at per round."""
RETRAIN_INTERVAL_SECONDS = 300.0
"""How often a worker looks for sentiment models due for retraining."""
MAX_LOOKS = 4
"""How many times a round looks again past the comments other workers have claimed."""

_T = TypeVar("_T")

_running = threading.Lock()
"""At most one thread of a process analyses at a time (``cxpulse worker --threads``)."""


@dataclass
class _Organisation:
    """What the analyser keeps of one organisation between rounds."""

    counter: int
    redact: bool
    taxonomy: Taxonomy
    theme_ids: dict[str, int]
    version: str
    _matcher: ThemeMatcher | None = None
    models: dict[str, SentimentModel] = field(default_factory=dict)
    models_loaded: float = -1.0

    @property
    def matcher(self) -> ThemeMatcher:
        if self._matcher is None:
            from cxpulse.text.theme_matching import ThemeMatcher

            self._matcher = ThemeMatcher(self.taxonomy)
        return self._matcher


def _here(work: Callable[[], _T]) -> _T:
    return work()


class CommentAnalyser:
    """The worker's comment analysis: ``run_once`` analyses up to ``batch`` comments.

    ``offload`` runs the analysis of a batch (pure text-stage work, no database) and
    returns its result; by default in the calling thread."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        read_sessions: sessionmaker[Session] | None = None,
        *,
        batch: int = DEFAULT_BATCH,
        recent_seconds: float = RECENT_SECONDS,
        sweep_span: int = SWEEP_SPAN,
        retrain_interval: float = RETRAIN_INTERVAL_SECONDS,
        write_chunk: int = WRITE_CHUNK,
        offload: Callable[[Callable[[], Any]], Any] = _here,
    ) -> None:
        self.sessions = sessions
        self.read_sessions = read_sessions or sessions
        self.batch = batch
        self.recent_seconds = recent_seconds
        self.sweep_span = sweep_span
        self.retrain_interval = retrain_interval
        self.write_chunk = write_chunk
        self._offload = offload
        self.analysed = 0
        """Comments analysed by this analyser so far."""
        self._marks: deque[tuple[float, int]] = deque()
        self._recent_from: int | None = None
        self._sweep_at = 0
        self._organisations: dict[int, _Organisation] = {}
        self._next_retrain = time.monotonic() + retrain_interval

    # -- a round -------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Analyse what is waiting, up to ``batch`` comments; the count analysed (0 when
        another thread of this process is analysing)."""
        if not _running.acquire(blocking=False):
            return 0
        try:
            done = self._round()
            if time.monotonic() >= self._next_retrain:
                self._next_retrain = time.monotonic() + self.retrain_interval
                self.retrain()
            return done
        finally:
            _running.release()

    def busy(self, analysed: int) -> bool:
        """Whether a round that analysed ``analysed`` comments left more waiting."""
        return analysed >= self.batch

    def _round(self) -> int:
        # The round's claims live in this session's transaction (PostgreSQL): one connection
        # for the whole round, released with every claim when the session closes. On SQLite
        # it runs no SQL, so it opens no transaction and takes no write lock.
        with self.sessions() as claims:
            with self.read_sessions() as session:
                settings = comment_analyses.analysis_settings(session)
                pending = self._claim_work(claims, session, settings)
            if not pending:
                return 0
            by_organisation: dict[int, list[PendingComment]] = {}
            for comment in pending:
                by_organisation.setdefault(comment.organisation_id, []).append(comment)
            done = 0
            for organisation_id, comments in sorted(by_organisation.items()):
                done += self._analyse(organisation_id, comments, settings)
        self.analysed += done
        return done

    def _claim_work(
        self,
        claims: Session,
        session: Session,
        settings: Mapping[int, comment_analyses.AnalysisSettings],
    ) -> list[PendingComment]:
        """Up to ``batch`` comments to analyse, claimed in ``claims``: what ``_find`` finds,
        less what other workers hold or have written meanwhile, looking again past those."""
        if not comment_claims.shared(claims):
            return self._find(session, settings, limit=self.batch)
        taken: list[PendingComment] = []
        looked: set[int] = set()
        for _ in range(MAX_LOOKS):
            wanted = self.batch - len(taken)
            found = self._find(session, settings, limit=wanted, exclude=looked)
            looked.update(comment.response_id for comment in found)
            taken += self._claimed(claims, session, settings, found)
            if len(found) < wanted or len(taken) >= self.batch:
                break  # nothing more to find, or enough
        return taken

    def _claimed(
        self,
        claims: Session,
        session: Session,
        settings: Mapping[int, comment_analyses.AnalysisSettings],
        found: list[PendingComment],
    ) -> list[PendingComment]:
        """Those of ``found`` that ``claims`` could claim and that still wait."""
        got = comment_claims.claim(claims, [comment.response_id for comment in found])
        if not comment_claims.shared(claims):
            return found
        versions: dict[int, str] = {}
        for organisation_id in sorted({comment.organisation_id for comment in found}):
            chosen = settings.get(organisation_id)
            if chosen is not None and chosen.taxonomy_version != 0:
                versions[organisation_id] = self._organisation(
                    session, organisation_id, chosen
                ).version
        waiting = comment_queue.still_waiting(claims, got, versions)
        return [comment for comment in found if comment.response_id in waiting]

    def _find(
        self,
        session: Session,
        settings: Mapping[int, comment_analyses.AnalysisSettings],
        *,
        limit: int,
        exclude: set[int] | None = None,
    ) -> list[PendingComment]:
        skip = exclude or set()
        latest = comment_queue.latest_response_id(session)
        now = time.monotonic()
        self._marks.append((now, latest))
        if self._recent_from is None:
            # A fresh start looks back one sweep's span; the sweep covers what came before.
            self._recent_from = max(0, latest - self.sweep_span)
        while len(self._marks) > 1 and self._marks[1][0] <= now - self.recent_seconds:
            self._marks.popleft()
        if self._marks[0][0] <= now - self.recent_seconds:
            self._recent_from = max(self._recent_from, self._marks[0][1])
        found = comment_queue.unanalysed_comments(
            session, limit=limit, after_id=self._recent_from, exclude=skip
        )
        seen = {comment.response_id for comment in found}
        if len(found) < limit:
            wanted = limit - len(found)
            through = self._sweep_at + self.sweep_span
            swept = comment_queue.unanalysed_comments(
                session, limit=wanted, after_id=self._sweep_at, through_id=through, exclude=skip
            )
            if len(swept) < wanted:
                self._sweep_at = 0 if through >= latest else through
            else:
                self._sweep_at = swept[-1].response_id
            found += [comment for comment in swept if comment.response_id not in seen]
            seen.update(comment.response_id for comment in swept)
        for organisation_id, chosen in sorted(settings.items()):
            if len(found) >= limit:
                break
            if chosen.taxonomy_version == 0:
                continue  # never seeded: nothing of it was analysed yet
            state = self._organisation(session, organisation_id, chosen)
            stale = comment_queue.stale_comments(
                session, organisation_id, state.version, limit=limit - len(found), exclude=skip
            )
            found += [comment for comment in stale if comment.response_id not in seen]
        return found

    def _organisation(
        self,
        session: Session,
        organisation_id: int,
        settings: comment_analyses.AnalysisSettings,
    ) -> _Organisation:
        known = self._organisations.get(organisation_id)
        if (
            known is not None
            and known.counter == settings.taxonomy_version
            and known.redact == settings.redact_comments
        ):
            return known
        rows = text_themes.active_taxonomy(session, organisation_id)
        taxonomy = taxonomy_of(rows)
        state = _Organisation(
            counter=settings.taxonomy_version,
            redact=settings.redact_comments,
            taxonomy=taxonomy,
            theme_ids={row.key: row.id for row in rows},
            version=version_of(
                taxonomy,
                redact=settings.redact_comments,
                theme_ids={row.key: row.id for row in rows},
            ),
        )
        if known is not None and known.taxonomy.version == taxonomy.version:
            # The same themes: keep the matcher and models already built.
            state._matcher = known._matcher
            state.models, state.models_loaded = known.models, known.models_loaded
        self._organisations[organisation_id] = state
        return state

    def _analyse(
        self,
        organisation_id: int,
        comments: list[PendingComment],
        settings: Mapping[int, comment_analyses.AnalysisSettings],
    ) -> int:
        chosen = settings.get(organisation_id)
        if chosen is None:
            return 0  # the organisation was deleted meanwhile
        if chosen.taxonomy_version == 0:
            with self.sessions.begin() as session:
                ensure_starter_taxonomy(session, organisation_id)
                chosen = comment_analyses.analysis_settings(session)[organisation_id]
        with self.read_sessions() as session:
            state = self._organisation(session, organisation_id, chosen)
            self._load_models(session, organisation_id, state)
            inputs = comment_inputs(session, organisation_id, comments)
        # ``state.matcher`` is built on first use: that is text-stage work too.
        results = self._offload(lambda: analyse_safely(inputs, state.matcher, state.models))
        analyses = [
            stored(comment, result, state.theme_ids)
            for comment, result in zip(comments, results, strict=True)
        ]
        return sum(
            comment_writes.write_batch(
                self.sessions,
                organisation_id,
                state.version,
                analyses[start : start + self.write_chunk],
                replace_comments=state.redact,
            )
            for start in range(0, len(analyses), self.write_chunk)
        )

    def _load_models(self, session: Session, organisation_id: int, state: _Organisation) -> None:
        """(Re)load the organisation's sentiment models when they may have changed: once per
        retraining interval, since another process may have retrained them."""
        if (
            state.models_loaded >= 0
            and time.monotonic() - state.models_loaded < self.retrain_interval
        ):
            return
        from cxpulse.text.sentiment import SentimentModel

        models: dict[str, SentimentModel] = {}
        for language, (_, blob) in sentiment_models.load_models(session, organisation_id).items():
            if blob:
                models[language] = SentimentModel.from_bytes(blob)
        state.models = models
        state.models_loaded = time.monotonic()

    # -- retraining ----------------------------------------------------------------------------

    def retrain(self) -> list[tuple[int, str]]:
        """Retrain every organisation's models that are due; (organisation, language) of
        each model trained."""
        with self.read_sessions() as session:
            settings = comment_analyses.analysis_settings(session)
        trained: list[tuple[int, str]] = []
        for organisation_id, chosen in sorted(settings.items()):
            if chosen.taxonomy_version == 0:
                continue
            try:
                languages = retrain_due(self.sessions, organisation_id, self.read_sessions)
            except Exception:
                logger.exception(
                    "retraining the sentiment models of organisation %s failed", organisation_id
                )
                continue
            trained += [(organisation_id, language) for language in languages]
            state = self._organisations.get(organisation_id)
            if languages and state is not None:
                state.models_loaded = -1.0
        return trained


def analyse_pending(
    sessions: sessionmaker[Session],
    *,
    batch: int = DEFAULT_BATCH,
    organisation_id: int | None = None,
) -> int:
    """Analyse up to ``batch`` waiting comments (of every organisation, or of one) found by a
    scan of every response; the count analysed. For a one-off pass (tests, a command); the
    worker's rounds use ``CommentAnalyser``, which never scans everything at once."""
    analyser = CommentAnalyser(sessions, batch=batch)
    with sessions() as claims:  # as in a worker's round: the claims end with this session
        with sessions() as session:
            settings = comment_analyses.analysis_settings(session)
            versions: dict[int, str] = {}
            for org, chosen in settings.items():
                if chosen.taxonomy_version and (organisation_id is None or org == organisation_id):
                    versions[org] = analyser._organisation(session, org, chosen).version
            found = comment_queue.pending_comments(
                session, versions, limit=batch, organisation_id=organisation_id
            )
            pending = analyser._claimed(claims, session, settings, found)
        by_organisation: dict[int, list[PendingComment]] = {}
        for comment in pending:
            by_organisation.setdefault(comment.organisation_id, []).append(comment)
        return sum(
            analyser._analyse(org, comments, settings)
            for org, comments in sorted(by_organisation.items())
        )
