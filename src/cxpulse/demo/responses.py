"""The demo's responses: how many arrive each month and hour, and the score, segments,
properties and comment of each, drawn from a survey's plan and the score drivers.

Deterministic for a given random generator: ``cxpulse.demo.seed`` seeds one per survey.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from cxpulse.demo.comment_writing import write_comment
from cxpulse.demo.contacts import DemoContact
from cxpulse.demo.score_drivers import (
    AGENT_EFFECT,
    CHANNEL_EFFECT,
    COUNTRIES,
    PLANS,
    PORTAL_LAUNCH_AT,
    PRICE_INCREASE_AT,
    PRODUCTS,
    RETURN_REASONS,
    TEAMS,
    VIP_EFFECT,
    pick,
)
from cxpulse.demo.survey_plans import CSAT_SURVEY, NPS_SURVEY, SurveyPlan
from cxpulse.store.responses import NewResponse

# fmt: off
HOUR_WEIGHTS: Final = (
    1, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 11, 11, 10, 10, 9, 9, 10, 12, 13, 12, 8, 4,
)
# fmt: on
"""Responses per hour of the day (UTC): people answer in the evening."""
ENGLISH_ANSWER_SHARE: Final = 0.12
"""Share of non-English customers who answer in English anyway."""


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the day clipped to the
    month's length)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def month_spans(start: datetime, end: datetime) -> list[tuple[datetime, datetime, float]]:
    """``(from, to, fraction of that calendar month)`` for each month overlapping the range."""
    spans: list[tuple[datetime, datetime, float]] = []
    cursor = start
    while cursor < end:
        month_start = cursor.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        next_month = months_before(month_start, -1)
        span_end = min(next_month, end)
        fraction = (span_end - cursor) / (next_month - month_start)
        spans.append((cursor, span_end, fraction))
        cursor = span_end
    return spans


def _timestamp(rng: random.Random, lower: datetime, upper: datetime) -> datetime:
    moment = lower + (upper - lower) * rng.random()
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    moved = moment.replace(
        hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0
    )
    return moved if lower <= moved < upper else moment


def generate_responses(
    plan: SurveyPlan,
    survey_id: int,
    contacts: Sequence[DemoContact],
    start: datetime,
    end: datetime,
    rng: random.Random,
) -> list[NewResponse]:
    """The responses of one survey between ``start`` and ``end``, in time order."""
    if not contacts:
        raise ValueError("the demo needs contacts to answer")
    period = (end - start).total_seconds()
    # A few loyal customers answer often; most answer once or twice.
    contact_weights = [1.0 / (1 + (n % 97) / 8) for n in range(len(contacts))]
    items: list[NewResponse] = []
    for lower, upper, fraction in month_spans(start, end):
        middle = (lower + (upper - lower) / 2 - start).total_seconds() / period
        expected = plan.per_month * plan.season.get(lower.month, 1.0) * (1 + 0.5 * middle)
        count = round(expected * fraction * rng.uniform(0.92, 1.08))
        moments = sorted(_timestamp(rng, lower, upper) for _ in range(count))
        chosen = rng.choices(contacts, weights=contact_weights, k=count)
        for moment, contact in zip(moments, chosen, strict=True):
            t = (moment - start).total_seconds() / period
            items.append(_response(plan, survey_id, contact, moment, t, rng))
    return items


def _response(
    plan: SurveyPlan,
    survey_id: int,
    contact: DemoContact,
    moment: datetime,
    t: float,
    rng: random.Random,
) -> NewResponse:
    channel = pick(rng, plan.channels)
    product = rng.choices(list(PRODUCTS), weights=[p[0] for p in PRODUCTS.values()])[0]
    properties: dict[str, str] = {"product": product, "region": contact.region}
    effect = (
        PLANS[contact.plan][1]
        + (VIP_EFFECT if contact.vip else 0.0)
        + COUNTRIES[contact.country][3]
        + CHANNEL_EFFECT[channel]
        + PRODUCTS[product][1]
    )
    agent: str | None = None
    if plan is CSAT_SURVEY:
        team = rng.choices(list(TEAMS), weights=[v[0] for v in TEAMS.values()])[0]
        agent = rng.choice(TEAMS[team][2])
        properties |= {"team": team, "agent": agent}
        effect += TEAMS[team][1] + AGENT_EFFECT.get(agent, 0.0)
        # Support gets better over the year, but the peak season brings long queues.
        effect += 0.5 * t - (0.35 if moment.month in (11, 12) else 0.0)
    elif plan is NPS_SURVEY:
        effect += 0.3 * t
        if t >= PRICE_INCREASE_AT:
            effect -= 0.6 if contact.plan == "free" else 0.25
    else:
        apparel = product in ("Clothing", "Shoes")
        reasons = {r: (v[1] if apparel else v[2]) for r, v in RETURN_REASONS.items()}
        reason = pick(rng, reasons)
        properties["return_reason"] = reason
        effect += RETURN_REASONS[reason][0]
        if t >= PORTAL_LAUNCH_AT:
            effect += 0.9
    if plan is not NPS_SURVEY:
        properties["order_id"] = f"DS-{rng.randrange(100000, 1000000)}"

    latent = plan.base + plan.sensitivity * effect + rng.gauss(0.0, plan.sd)
    score = min(plan.scale_high, max(plan.scale_low, round(latent)))
    language = contact.language
    if language != "en" and rng.random() < ENGLISH_ANSWER_SHARE:
        language = "en"
    comment = write_comment(plan, score, language, agent, t, rng)
    return NewResponse(
        survey_id=survey_id,
        score=score,
        submitted_at=moment,
        comment=comment,
        language=language,
        channel=channel,
        properties=properties,
        contact_id=contact.id,
        source="demo",
    )
