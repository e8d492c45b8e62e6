"""The daily rollups equal a recount of the responses, whatever the writers do at once."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, responses, rollups, surveys
from cxpulse.store.models import Response
from cxpulse.store.responses import NewResponse

THREADS = 6
TRANSACTIONS_PER_THREAD = 30
START = datetime(2024, 1, 1, tzinfo=UTC)


def test_rollups_equal_a_recount_after_concurrent_writes(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as setup:
        org = accounts.create_organisation(setup, slug="acme", name="Acme")
        survey_ids = [
            surveys.create_survey(setup, org.id, slug=f"s{n}", name=f"S{n}", metric="csat").id
            for n in range(2)
        ]
        org_id = org.id

    errors: list[BaseException] = []
    start_together = threading.Barrier(THREADS)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[int] = []
        try:
            start_together.wait()
            for _ in range(TRANSACTIONS_PER_THREAD):
                with sessions.begin() as session:
                    action = rng.random()
                    if action < 0.55 or not mine:
                        items = [
                            NewResponse(
                                survey_id=rng.choice(survey_ids),
                                score=rng.randint(1, 5),
                                submitted_at=START + timedelta(hours=rng.randrange(24 * 5)),
                                channel=rng.choice(["email", "chat", None]),
                                touchpoint=rng.choice(["after purchase", None]),
                                # Shared keys: threads race to store the same response.
                                idempotency_key=(
                                    f"shared-{rng.randrange(20)}" if rng.random() < 0.3 else None
                                ),
                            )
                            for _ in range(rng.randint(1, 4))
                        ]
                        for response, created in responses.add_responses(session, org_id, items):
                            if created:
                                mine.append(response.id)
                    elif action < 0.8:
                        victim = mine.pop(rng.randrange(len(mine)))
                        responses.delete_response(session, org_id, victim)
                    else:
                        responses.update_response(
                            session,
                            org_id,
                            rng.choice(mine),
                            score=rng.randint(1, 5),
                            channel=rng.choice(["email", "chat", None]),
                        )
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    with sessions() as check:
        stored = rollups.stored(check)
        assert stored == rollups.recount(check)
        total = check.scalar(select(func.count()).select_from(Response))
        assert total
        assert sum(stored.values()) == total
        assert all(count > 0 for count in stored.values())
        keys = check.execute(
            select(Response.survey_id, Response.idempotency_key, func.count())
            .where(Response.idempotency_key.is_not(None))
            .group_by(Response.survey_id, Response.idempotency_key)
        ).all()
        assert keys
        assert all(row[2] == 1 for row in keys)


def test_rebuild_repairs_damaged_rollups(session: Session) -> None:
    org = accounts.create_organisation(session, slug="acme", name="Acme")
    survey = surveys.create_survey(session, org.id, slug="s", name="S", metric="nps")
    for score in (0, 7, 9, 10, 10):
        responses.add_response(session, org.id, survey.id, score, submitted_at=START)
    key = next(iter(rollups.stored(session)))
    rollups.apply_deltas(session, {key: 5})
    assert rollups.stored(session) != rollups.recount(session)
    rollups.rebuild(session, org.id)
    assert rollups.stored(session) == rollups.recount(session)


def test_latest_day_and_answers_per_day(session: Session) -> None:
    org = accounts.create_organisation(session, slug="acme", name="Acme")
    other = accounts.create_organisation(session, slug="globex", name="Globex")
    survey = surveys.create_survey(session, org.id, slug="s", name="S", metric="csat")
    assert rollups.latest_day(session, org.id, survey.id) is None
    moments = [START, START + timedelta(hours=5), START + timedelta(days=2, hours=23)]
    responses.add_responses(
        session,
        org.id,
        [
            NewResponse(survey_id=survey.id, score=4, submitted_at=m, channel="email")
            for m in moments
        ],
    )
    assert rollups.latest_day(session, org.id, survey.id) == date(2024, 1, 3)
    assert rollups.latest_day(session, other.id, survey.id) is None
    first, end = date(2024, 1, 1), date(2024, 1, 3)
    assert rollups.day_counts(session, org.id, survey.id, first, end) == {date(2024, 1, 1): 2}
    assert rollups.day_counts(session, other.id, survey.id, first, end) == {}
