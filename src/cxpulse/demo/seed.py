"""The demo shop: an organisation, an admin, three surveys, contacts and a year of responses.

``seed_demo`` is idempotent: it reuses the organisation, admin, surveys and contacts it finds
(by slug, email and external id) and only generates responses for a survey that has none, so
running ``cxpulse demo`` twice never duplicates anything. It writes through the store (one
``add_responses`` batch per few thousand rows, which keeps the daily rollups equal to a
recount) inside the caller's transaction, and takes a few seconds.

The data is random but deterministic for a given ``seed`` and ``now``, and built so that the
dashboard has something to find:

- enterprise and VIP customers are happier than free-plan ones, SMS answers are grumpier;
- support CSAT rises slowly over the year but dips in the November-December peak, and one
  support team (Billing) and one agent score clearly lower;
- relationship NPS drops after a price increase halfway through the period, most for the
  free plan;
- returns CES jumps when a new returns portal launches at 55% of the period;
- comments are written in the customer's language (English, Swedish, Dutch, Macedonian in
  Cyrillic), positive, negative or mixed according to the score, about delivery, support,
  returns, price and the app.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session

from cxpulse.demo.comments import (
    AGENT_NAMES,
    COMMENTS,
    DAYS,
    NEW_PORTAL_TEMPLATE,
    Polarity,
    agent_name,
)
from cxpulse.demo.invitations import seed_invitations
from cxpulse.store import accounts, audit, security, surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Contact, Organisation, Response, Survey, User
from cxpulse.store.responses import NewResponse, add_responses
from cxpulse.store.types import utc_now

DEMO_ORG_SLUG: Final = "demo-shop"
DEMO_ORG_NAME: Final = "Demo Shop"
DEMO_INDUSTRY: Final = "e-commerce"
DEMO_ADMIN_EMAIL: Final = "demo-admin@example.com"
DEMO_ADMIN_PASSWORD: Final = "cxpulse-demo"  # noqa: S105 (documented demo login)
"""The demo admin's password, printed by ``cxpulse demo`` and shown in the README."""
DEMO_CONTACTS: Final = 1500
CONTACT_PREFIX: Final = "demo-"
MAX_MONTHS: Final = 60
_BATCH: Final = 2000


@dataclass(frozen=True)
class SurveyPlan:
    slug: str
    name: str
    metric: str
    scale_low: int
    scale_high: int
    touchpoint: str | None
    questions: Mapping[str, Mapping[str, str]]
    per_month: int
    """Responses in a month at the start of the period, before growth and season."""
    base: float
    """Mean latent answer of an average customer at the start."""
    sd: float
    sensitivity: float
    """Scale points per unit of segment effect."""
    channels: Mapping[str, float]
    topics: Mapping[str, float]
    season: Mapping[int, float] = field(default_factory=dict)
    """Volume multiplier per calendar month (1 = January)."""


CSAT_SURVEY = SurveyPlan(
    slug="support-csat",
    name="Support satisfaction (CSAT)",
    metric="csat",
    scale_low=1,
    scale_high=5,
    touchpoint="after support ticket",
    questions={
        "en": {
            "question": "How satisfied are you with the help you got from our customer service?",
            "comment_prompt": "Tell us more about your experience (optional).",
        },
        "sv": {
            "question": "Hur nöjd är du med hjälpen du fick av vår kundtjänst?",
            "comment_prompt": "Berätta gärna mer om din upplevelse (frivilligt).",
        },
        "nl": {
            "question": "Hoe tevreden bent u over de hulp van onze klantenservice?",
            "comment_prompt": "Vertel ons gerust meer over uw ervaring (optioneel).",
        },
        "mk": {
            "question": "Колку сте задоволни од помошта што ја добивте од нашата поддршка?",
            "comment_prompt": "Кажете ни повеќе за вашето искуство (по избор).",
        },
    },
    per_month=280,
    base=4.3,
    sd=1.05,
    sensitivity=0.8,
    channels={"email": 0.45, "widget": 0.3, "sms": 0.15, "web": 0.1},
    topics={"support": 0.55, "delivery": 0.15, "returns": 0.08, "app": 0.07, "price": 0.05},
    season={11: 1.35, 12: 1.5, 1: 1.2},
)

NPS_SURVEY = SurveyPlan(
    slug="relationship-nps",
    name="Relationship NPS",
    metric="nps",
    scale_low=0,
    scale_high=10,
    touchpoint=None,
    questions={
        "en": {
            "question": "How likely are you to recommend Demo Shop to a friend or colleague?",
            "comment_prompt": "What is the main reason for your score?",
        },
        "sv": {
            "question": "Hur troligt är det att du skulle rekommendera Demo Shop till en vän "
            "eller kollega?",
            "comment_prompt": "Vad är den främsta anledningen till ditt betyg?",
        },
        "nl": {
            "question": "Hoe waarschijnlijk is het dat u Demo Shop aanbeveelt aan een vriend "
            "of collega?",
            "comment_prompt": "Wat is de belangrijkste reden voor uw score?",
        },
        "mk": {
            "question": "Колку е веројатно да го препорачате Demo Shop на пријател или колега?",
            "comment_prompt": "Која е главната причина за вашата оценка?",
        },
    },
    per_month=200,
    base=8.6,
    sd=2.1,
    sensitivity=1.6,
    channels={"email": 0.55, "web": 0.25, "widget": 0.1, "sms": 0.1},
    topics={"delivery": 0.22, "price": 0.22, "app": 0.18, "support": 0.14, "returns": 0.14},
)

CES_SURVEY = SurveyPlan(
    slug="returns-ces",
    name="Returns effort (CES)",
    metric="ces",
    scale_low=1,
    scale_high=7,
    touchpoint="after a return",
    questions={
        "en": {
            "question": "Demo Shop made it easy for me to return my order.",
            "comment_prompt": "What made the return easy or difficult?",
        },
        "sv": {
            "question": "Demo Shop gjorde det enkelt för mig att returnera min beställning.",
            "comment_prompt": "Vad gjorde returen enkel eller krånglig?",
        },
        "nl": {
            "question": "Demo Shop maakte het mij gemakkelijk om mijn bestelling te retourneren.",
            "comment_prompt": "Wat maakte het retourneren makkelijk of moeilijk?",
        },
        "mk": {
            "question": "Demo Shop ми овозможи лесно да ја вратам нарачката.",
            "comment_prompt": "Што го направи враќањето лесно или тешко?",
        },
    },
    per_month=150,
    base=5.0,
    sd=1.5,
    sensitivity=1.0,
    channels={"email": 0.4, "web": 0.35, "sms": 0.15, "widget": 0.1},
    topics={"returns": 0.7, "support": 0.12, "delivery": 0.08, "app": 0.05},
    season={1: 1.6, 12: 1.2, 11: 1.1},
)

SURVEY_PLANS: Final = (CSAT_SURVEY, NPS_SURVEY, CES_SURVEY)

# Segments and how much each shifts satisfaction (in effect units, see ``sensitivity``).

PLANS: Final = {"free": (0.6, -0.35), "pro": (0.3, 0.0), "enterprise": (0.1, 0.35)}
"""plan: (share of contacts, effect)."""
VIP_SHARE: Final = {"free": 0.03, "pro": 0.1, "enterprise": 0.35}
VIP_EFFECT: Final = 0.4
COUNTRIES: Final = {
    # country: (share, language, region, effect)
    "SE": (0.30, "sv", "Nordics", 0.10),
    "NL": (0.20, "nl", "Benelux", 0.0),
    "BE": (0.08, "nl", "Benelux", -0.05),
    "MK": (0.15, "mk", "Balkans", 0.15),
    "GB": (0.20, "en", "UK & Ireland", -0.10),
    "IE": (0.07, "en", "UK & Ireland", 0.0),
}
CHANNEL_EFFECT: Final = {"email": 0.0, "web": 0.05, "widget": 0.15, "sms": -0.3}
PRODUCTS: Final = {
    # product: (share, effect)
    "Clothing": (0.35, 0.0),
    "Shoes": (0.2, 0.0),
    "Electronics": (0.2, -0.2),
    "Home": (0.15, 0.1),
    "Sports": (0.1, 0.05),
}
TEAMS: Final = {
    # team: (share, effect, agents)
    "Tier 1": (0.6, 0.0, ("Anna", "Erik", "Sanne", "Daan", "James", "Emma")),
    "Tier 2": (0.2, 0.2, ("Elena", "Marko", "Oskar")),
    "Billing": (0.2, -0.3, ("Sofia", "Lucas", "Ivana")),
}
AGENT_EFFECT: Final = {"Marko": 0.4, "Elena": 0.3, "James": -0.2, "Lucas": -0.6}
RETURN_REASONS: Final = {
    # reason: (effect, share per product kind: apparel, other)
    "wrong size": (0.1, 0.55, 0.05),
    "changed my mind": (0.0, 0.25, 0.35),
    "damaged or defective": (-0.4, 0.1, 0.4),
    "not as described": (-0.2, 0.1, 0.2),
}
# fmt: off
HOUR_WEIGHTS: Final = (
    1, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 11, 11, 10, 10, 9, 9, 10, 12, 13, 12, 8, 4,
)
# fmt: on
"""Responses per hour of the day (UTC): people answer in the evening."""
PRICE_INCREASE_AT: Final = 0.5
PORTAL_LAUNCH_AT: Final = 0.55
COMMENT_RATE: Final[dict[str, float]] = {"positive": 0.3, "mixed": 0.35, "negative": 0.55}
ENGLISH_ANSWER_SHARE: Final = 0.12
"""Share of non-English customers who answer in English anyway."""

_FIRST_NAMES: Final[dict[str, tuple[tuple[str, str, bool], ...]]] = {
    # language: (name as written, name in an email address, female)
    "en": tuple(
        (n, n.lower(), f)
        for n, f in (
            ("James", False),
            ("Olivia", True),
            ("Jack", False),
            ("Emily", True),
            ("Harry", False),
            ("Sophie", True),
            ("Liam", False),
            ("Grace", True),
            ("Conor", False),
            ("Aoife", True),
        )
    ),
    "sv": tuple(
        (n, n.lower(), f)
        for n, f in (
            ("Erik", False),
            ("Anna", True),
            ("Lars", False),
            ("Maria", True),
            ("Johan", False),
            ("Karin", True),
            ("Anders", False),
            ("Elin", True),
            ("Nils", False),
            ("Sara", True),
        )
    ),
    "nl": tuple(
        (n, n.lower(), f)
        for n, f in (
            ("Jan", False),
            ("Sanne", True),
            ("Daan", False),
            ("Emma", True),
            ("Bram", False),
            ("Lotte", True),
            ("Thijs", False),
            ("Femke", True),
            ("Ruben", False),
            ("Anouk", True),
        )
    ),
    "mk": (
        ("Марко", "marko", False),
        ("Елена", "elena", True),
        ("Никола", "nikola", False),
        ("Ана", "ana", True),
        ("Стефан", "stefan", False),
        ("Ивана", "ivana", True),
        ("Александар", "aleksandar", False),
        ("Марија", "marija", True),
        ("Горан", "goran", False),
        ("Катерина", "katerina", True),
    ),
}
_LAST_NAMES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "en": tuple(
        (n, n.lower())
        for n in ("Smith", "Jones", "Taylor", "Brown", "Murphy", "Kelly", "Walsh", "Byrne")
    ),
    "sv": tuple(
        (n, n.lower())
        for n in ("Johansson", "Andersson", "Karlsson", "Nilsson", "Eriksson", "Lindberg")
    ),
    "nl": (
        ("de Vries", "devries"),
        ("Jansen", "jansen"),
        ("van den Berg", "vandenberg"),
        ("Bakker", "bakker"),
        ("Visser", "visser"),
        ("Peeters", "peeters"),
        ("Mulder", "mulder"),
    ),
    # Masculine forms; feminine ones end in -ска instead of -ски.
    "mk": (
        ("Петровски", "petrovski"),
        ("Николовски", "nikolovski"),
        ("Стојановски", "stojanovski"),
        ("Трајковски", "trajkovski"),
        ("Јовановски", "jovanovski"),
        ("Димитровски", "dimitrovski"),
    ),
}


@dataclass(frozen=True)
class DemoContact:
    id: int
    plan: str
    vip: bool
    country: str

    @property
    def language(self) -> str:
        return COUNTRIES[self.country][1]

    @property
    def region(self) -> str:
        return COUNTRIES[self.country][2]


@dataclass(frozen=True)
class SurveySummary:
    id: int
    slug: str
    name: str
    metric: str
    responses: int
    """Stored in total."""
    added: int
    """Generated by this run (0 when the survey had responses already)."""


@dataclass(frozen=True)
class DemoSummary:
    organisation_id: int
    organisation_slug: str
    organisation_name: str
    organisation_created: bool
    admin_email: str
    admin_created: bool
    admin_password: str | None
    """The demo password while it still opens the admin account; None once it was changed."""
    contacts: int
    contacts_added: int
    surveys: list[SurveySummary]

    @property
    def responses(self) -> int:
        return sum(s.responses for s in self.surveys)

    @property
    def responses_added(self) -> int:
        return sum(s.added for s in self.surveys)


def seed_demo(
    session: Session,
    *,
    months: int = 12,
    seed: int = 7,
    now: datetime | None = None,
) -> DemoSummary:
    """Create (or complete) the demo shop in the caller's transaction; the caller commits.

    ``months`` of responses end at ``now`` (default: the current time).
    """
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be 1 to {MAX_MONTHS}, got {months}")
    end = (now or utc_now()).astimezone(UTC)
    start = months_before(end, months)

    organisation, organisation_created = _organisation(session)
    user, admin_created = _admin(session, organisation.id)
    password_works = admin_created or security.verify_password(
        DEMO_ADMIN_PASSWORD, user.password_hash
    )
    contacts, contacts_added = _contacts(session, organisation.id, seed)

    summaries: list[SurveySummary] = []
    for plan in SURVEY_PLANS:
        survey = _survey(session, organisation.id, plan)
        has_responses = session.scalar(select(exists().where(Response.survey_id == survey.id)))
        added = 0
        if not has_responses:
            rng = random.Random(f"{seed}:{plan.slug}")  # noqa: S311 (demo data, not secrets)
            items = generate_responses(plan, survey.id, contacts, start, end, rng)
            for first in range(0, len(items), _BATCH):
                # The ORM inserts runs of rows that leave the same columns empty in one
                # statement each; grouping the commented rows makes two runs instead of
                # thousands (10x faster on PostgreSQL).
                batch = sorted(items[first : first + _BATCH], key=lambda i: i.comment is None)
                add_responses(session, organisation.id, batch)
            added = len(items)
            seed_invitations(
                session,
                organisation.id,
                survey.id,
                [c.id for c in contacts],
                end,
                random.Random(f"{seed}:{plan.slug}:invitations"),  # noqa: S311 (demo data)
            )
        total = session.scalar(
            select(func.count()).select_from(Response).where(Response.survey_id == survey.id)
        )
        summaries.append(
            SurveySummary(survey.id, survey.slug, survey.name, survey.metric, total or 0, added)
        )

    if organisation_created or contacts_added or any(s.added for s in summaries):
        audit.record(
            session,
            organisation.id,
            actor=audit.SYSTEM,
            action="seed",
            entity="organisation",
            entity_id=organisation.id,
            details={
                "demo": True,
                "months": months,
                "seed": seed,
                "contacts_added": contacts_added,
                "responses_added": {s.slug: s.added for s in summaries},
            },
        )
    return DemoSummary(
        organisation_id=organisation.id,
        organisation_slug=organisation.slug,
        organisation_name=organisation.name,
        organisation_created=organisation_created,
        admin_email=user.email,
        admin_created=admin_created,
        admin_password=DEMO_ADMIN_PASSWORD if password_works else None,
        contacts=len(contacts),
        contacts_added=contacts_added,
        surveys=summaries,
    )


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the day clipped to the
    month's length)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _organisation(session: Session) -> tuple[Organisation, bool]:
    try:
        return accounts.get_organisation_by_slug(session, DEMO_ORG_SLUG), False
    except NotFound:
        organisation = accounts.create_organisation(
            session, slug=DEMO_ORG_SLUG, name=DEMO_ORG_NAME, industry=DEMO_INDUSTRY
        )
        audit.record(
            session,
            organisation.id,
            actor=audit.SYSTEM,
            action="create",
            entity="organisation",
            entity_id=organisation.id,
            details={"via": "demo"},
        )
        return organisation, True


def _admin(session: Session, organisation_id: int) -> tuple[User, bool]:
    existing = session.scalar(select(User).where(User.email == DEMO_ADMIN_EMAIL))
    if existing is not None:
        return existing, False
    user = accounts.create_user(
        session,
        organisation_id,
        email=DEMO_ADMIN_EMAIL,
        password=DEMO_ADMIN_PASSWORD,
        role="admin",
        name="Demo Admin",
    )
    audit.record(
        session,
        organisation_id,
        actor=audit.SYSTEM,
        action="create",
        entity="user",
        entity_id=user.id,
        details={"role": "admin", "via": "demo"},
    )
    return user, True


def _survey(session: Session, organisation_id: int, plan: SurveyPlan) -> Survey:
    try:
        return surveys.get_survey_by_slug(session, organisation_id, plan.slug)
    except NotFound:
        return surveys.create_survey(
            session,
            organisation_id,
            slug=plan.slug,
            name=plan.name,
            metric=plan.metric,
            scale_low=plan.scale_low,
            scale_high=plan.scale_high,
            questions=plan.questions,
            default_language="en",
            touchpoint=plan.touchpoint,
            status="active",
            presentation="stars" if plan.metric == "csat" else "numbers",
            collect_options=DEMO_COLLECT_OPTIONS.get(plan.metric, {}),
            reminder_days=3,
        )


DEMO_COLLECT_OPTIONS: dict[str, dict[str, Any]] = {
    "csat": {
        "reasons": ["Slow answer", "Problem not solved", "Unfriendly", "Had to repeat myself"],
        "reasons_i18n": {
            "sv": ["Långsamt svar", "Problemet löstes inte", "Ovänligt", "Fick upprepa mig"],
            "nl": [
                "Traag antwoord",
                "Probleem niet opgelost",
                "Onvriendelijk",
                "Moest alles herhalen",
            ],
        },
        "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
    },
    "nps": {
        "review_url": "https://reviews.example/demo-shop",
        "referral_url": "https://demo-shop.example/invite",
        "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
    },
}
"""What the demo's surveys show on their pages: reasons after a low CSAT, review and referral
links for NPS promoters, and the widget allowed on the demo server itself."""


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _contacts(session: Session, organisation_id: int, seed: int) -> tuple[list[DemoContact], int]:
    """The demo contacts, created on the first run; ``(contacts, number created now)``."""
    query = select(Contact.id, Contact.attributes).where(
        Contact.organisation_id == organisation_id,
        Contact.external_id.startswith(CONTACT_PREFIX, autoescape=True),
    )
    found = [_demo_contact(row.id, row.attributes) for row in session.execute(query)]
    known = [contact for contact in found if contact is not None]
    if known:
        return known, 0

    rng = random.Random(f"{seed}:contacts")  # noqa: S311 (demo data, not secrets)
    rows: list[dict[str, Any]] = []
    for number in range(1, DEMO_CONTACTS + 1):
        plan = rng.choices(list(PLANS), weights=[share for share, _ in PLANS.values()])[0]
        vip = rng.random() < VIP_SHARE[plan]
        country = rng.choices(list(COUNTRIES), weights=[c[0] for c in COUNTRIES.values()])[0]
        language = COUNTRIES[country][1]
        first, first_ascii, female = rng.choice(_FIRST_NAMES[language])
        last, last_ascii = rng.choice(_LAST_NAMES[language])
        if language == "mk" and female:
            last, last_ascii = last[:-1] + "а", last_ascii[:-1] + "a"
        rows.append(
            {
                "organisation_id": organisation_id,
                "external_id": f"{CONTACT_PREFIX}{number:05d}",
                "email": f"{first_ascii}.{last_ascii}.{number:05d}@example.com",
                "name": f"{first} {last}",
                "locale": f"{language}-{country}",
                "attributes": {"plan": plan, "vip": "yes" if vip else "no", "country": country},
            }
        )
    ids = session.scalars(
        insert(Contact).returning(Contact.id, sort_by_parameter_order=True), rows
    ).all()
    contacts = [
        DemoContact(
            id=contact_id,
            plan=row["attributes"]["plan"],
            vip=row["attributes"]["vip"] == "yes",
            country=row["attributes"]["country"],
        )
        for contact_id, row in zip(ids, rows, strict=True)
    ]
    return contacts, len(contacts)


def _demo_contact(contact_id: int, attributes: Mapping[str, Any] | None) -> DemoContact | None:
    attributes = attributes or {}
    plan, vip, country = attributes.get("plan"), attributes.get("vip"), attributes.get("country")
    if plan not in PLANS or country not in COUNTRIES:
        return None
    return DemoContact(id=contact_id, plan=str(plan), vip=vip == "yes", country=str(country))


def _month_spans(start: datetime, end: datetime) -> list[tuple[datetime, datetime, float]]:
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
    for lower, upper, fraction in _month_spans(start, end):
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
    channel = _pick(rng, plan.channels)
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
        reason = _pick(rng, reasons)
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
    comment = _comment(plan, score, language, agent, t, rng)
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


def polarity_of(plan: SurveyPlan, score: float) -> str:
    """``positive``, ``mixed`` or ``negative``: the mood of a comment left with ``score``."""
    position = (score - plan.scale_low) / (plan.scale_high - plan.scale_low)
    if position >= 0.75:
        return "positive"
    if position <= 0.4:
        return "negative"
    return "mixed"


def _comment(
    plan: SurveyPlan,
    score: float,
    language: str,
    agent: str | None,
    t: float,
    rng: random.Random,
) -> str | None:
    mood = polarity_of(plan, score)
    if rng.random() >= COMMENT_RATE[mood]:
        return None
    topics = dict(plan.topics)
    if plan is NPS_SURVEY and t >= PRICE_INCREASE_AT and mood != "positive":
        topics["price"] = topics.get("price", 0.0) * 2.5
    if mood == "mixed":
        # Praise of one thing, a complaint about another ("Thanks!" would read oddly here).
        first = _pick(rng, topics)
        second = _pick(rng, {k: v for k, v in topics.items() if k != first})
        parts = [
            _sentence(first, "positive", language, agent, t, rng),
            _sentence(second, "negative", language, agent, t, rng),
        ]
        rng.shuffle(parts)
        return " ".join(parts)
    topics["general"] = 0.1
    first = _pick(rng, topics)
    polarity: Polarity = "positive" if mood == "positive" else "negative"
    parts = [_sentence(first, polarity, language, agent, t, rng)]
    if first != "general" and rng.random() < 0.25:
        others = {k: v for k, v in topics.items() if k not in (first, "general")}
        if others:
            parts.append(_sentence(_pick(rng, others), polarity, language, agent, t, rng))
    return " ".join(parts)


def _sentence(
    topic: str,
    polarity: Polarity,
    language: str,
    agent: str | None,
    t: float,
    rng: random.Random,
) -> str:
    templates = list(enumerate(COMMENTS[language][topic][polarity]))
    if t < PORTAL_LAUNCH_AT:
        templates = [
            (n, text) for n, text in templates if (topic, polarity, n) != NEW_PORTAL_TEMPLATE
        ]
    _, template = rng.choice(templates)
    low, high = DAYS.get((topic, polarity), (2, 5))
    name = agent or rng.choice(list(AGENT_NAMES))
    return template.format(days=rng.randint(low, high), agent=agent_name(name, language))
