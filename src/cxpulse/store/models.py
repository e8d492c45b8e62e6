"""The schema. Every row except an organisation and a login attempt (a login names no
organisation) belongs to exactly one organisation.

Changing a model needs a migration in ``migrations/versions`` (tests compare the two).
The models stay in one module (about 680 lines) because they mirror the migrations as one
schema, and SQLAlchemy resolves their relationships within it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cxpulse.metrics import Metric, MetricSpec, Scale
from cxpulse.metrics.scores import DEFAULT_LEVEL, DEFAULT_MIN_N
from cxpulse.store.types import BigId, JsonDocument, UTCDateTime, utc_now

ROLES = ("owner", "admin", "analyst", "agent", "viewer")
API_KEY_SCOPES = ("read", "write")
SURVEY_STATUSES = ("draft", "active", "closed", "archived")
"""``archived``: closed and hidden from the survey list and overview; its answers stay."""
METRICS = tuple(m.value for m in Metric)
SOURCES = ("api", "import", "web", "email", "widget", "demo")
PRESENTATIONS = ("numbers", "stars", "emoji", "thumbs")
"""How a survey page shows its scale (stars and emoji are 1-5, thumbs 0-1)."""
INVITATION_STATUSES = ("scheduled", "sent", "failed", "throttled", "unsubscribed", "cancelled")
"""``scheduled``: waiting for its send time or in the outbox; ``sent``: the SMTP server took
it; ``failed``: given up after retries; ``throttled``/``unsubscribed``: never sent (see
``reason``); ``cancelled``: withdrawn before sending."""
OUTBOX_STATES = ("pending", "sending", "completing", "sent", "unconfirmed", "dead")
"""``sending``: a worker holds it (until ``locked_until``); ``completing``: its send is
committed and being completed; ``unconfirmed``: the worker stopped before the SMTP server's
verdict, so delivery is unknown (never retried: that could send twice); ``dead``: retries
exhausted."""

COMMENT_SENTIMENTS = ("negative", "neutral", "positive", "unknown")
SENTIMENT_SOURCES = ("score", "model", "lexicon")
"""Where a comment's sentiment came from: its score band, the organisation's model, the
lexicon (``cxpulse.text.comments.SentimentSource``); NULL when it is ``unknown``."""
THEME_ORIGINS = ("starter", "custom", "discovered")
"""``starter``: seeded from cxpulse's taxonomy; ``custom``: made by the organisation;
``discovered``: promoted from a theme that discovery found in the comments."""

MAX_COMMENT_LENGTH = 10_000
"""Longest comment stored, in characters; longer ones are refused, never cut silently."""

DEFAULT_THROTTLE_DAYS = 30
"""Days a contact is left alone after being surveyed, unless the organisation says otherwise."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    # Named constraints, so that migrations (and SQLite batch rebuilds) can refer to them.
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JsonDocument,
    }


def _org_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    """Industry name as the ACSI benchmarks spell it, to compare scores with."""
    throttle_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_THROTTLE_DAYS)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    redact_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    """Replace personal data in comments when they are stored, not only when shown."""
    default_language: Mapped[str] = mapped_column(String(35), default="en")
    """The language new surveys start in and emails fall back to."""
    accent_colour: Mapped[str | None] = mapped_column(String(7))
    """Branding: ``#rrggbb`` for buttons and links of survey pages, the widget and emails."""
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    """Branding: a small image (PNG, JPEG or WebP) shown on survey pages and emails."""
    logo_type: Mapped[str | None] = mapped_column(String(32))
    """The logo's media type."""
    sender_name: Mapped[str | None] = mapped_column(String(200))
    """The display name of emails' From header; ``None``: the organisation's name."""
    reply_to: Mapped[str | None] = mapped_column(String(320))
    """Where customers' replies to emails go; ``None``: no Reply-To header."""
    taxonomy_version: Mapped[int] = mapped_column(Integer, default=0)
    """Grows with every change that alters how comments are analysed (themes, phrases,
    redaction): analyses of an older version are redone in the background. 0: the starter
    taxonomy was never seeded (``store.text_themes``)."""


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_one_of("role", ROLES), name="role"),
        # Unique within an organisation only, so that creating a user tells nothing about
        # other organisations; a login finds every account of the address by the index.
        UniqueConstraint("organisation_id", "email", name="uq_users_organisation_email"),
        Index("ix_users_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    email: Mapped[str] = mapped_column(String(320))
    """In its canonical form (``store.email_addresses``)."""
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_login_at: Mapped[datetime | None]
    invited_at: Mapped[datetime | None]
    """Set when a colleague was invited by email and has not chosen a password yet."""


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_one_of("scope", API_KEY_SCOPES), name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(8))
    """``read``, or ``write`` (which includes read)."""
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return self.is_active and (self.scope == "write" or scope == "read")


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("organisation_id", "slug", name="uq_surveys_organisation_slug"),
        CheckConstraint(_one_of("metric", METRICS), name="metric"),
        CheckConstraint(_one_of("status", SURVEY_STATUSES), name="status"),
        CheckConstraint("scale_high > scale_low", name="scale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(8))
    scale_low: Mapped[int]
    scale_high: Mapped[int]
    top_min: Mapped[float | None] = mapped_column(Float)
    """Lowest answer in the top band; ``None`` means the metric's default for the scale."""
    bottom_max: Mapped[float | None] = mapped_column(Float)
    questions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{language: {"question": ..., "comment_prompt": ...}}``."""
    default_language: Mapped[str] = mapped_column(String(35), default="en")
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    """The moment surveyed, such as "after support ticket"; responses inherit it by default."""
    status: Mapped[str] = mapped_column(String(8), default="draft")
    presentation: Mapped[str] = mapped_column(String(16), default="numbers")
    """One of ``PRESENTATIONS``: how the hosted page and emails show the scale."""
    collect_options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Options of the respondent pages, emails and widget, read through
    ``cxpulse.store.survey_options`` (comment box, low-score reasons, review and referral links,
    allowed widget origins, link lifetime)."""
    throttle_days: Mapped[int | None] = mapped_column(Integer)
    """Overrides the organisation's ``throttle_days`` for invitations of this survey."""
    reminder_days: Mapped[int | None] = mapped_column(Integer)
    """Days without an answer before the one reminder; ``None``: no reminder."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    @property
    def scale(self) -> Scale:
        return Scale(self.scale_low, self.scale_high)

    def metric_spec(
        self,
        *,
        level: float = DEFAULT_LEVEL,
        min_n: int = DEFAULT_MIN_N,
        metric: Metric | str | None = None,
    ) -> MetricSpec:
        """The survey's scoring: its metric, or ``metric`` (DSAT beside a CSAT survey) on the
        survey's scale and thresholds."""
        return MetricSpec.default(
            self.metric if metric is None else metric,
            self.scale,
            top_min=self.top_min,
            bottom_max=self.bottom_max,
            level=level,
            min_n=min_n,
        )


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "external_id", name="uq_contacts_organisation_external"
        ),
        Index("ix_contacts_organisation_email", "organisation_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    external_id: Mapped[str | None] = mapped_column(String(200))
    """The contact's id in the organisation's own systems (CRM, shop, helpdesk)."""
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(35))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Free segmentation attributes such as plan or VIP; values are stored as text."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    phone: Mapped[str | None] = mapped_column(String(32))
    """In E.164 form (+46701234567), for SMS invitations and notifications."""


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (
        # NULL keys never collide (on both databases), so keyless responses are unconstrained.
        UniqueConstraint(
            "organisation_id", "survey_id", "idempotency_key", name="uq_responses_idempotency"
        ),
        Index("ix_responses_keyset", "survey_id", "submitted_at", "id"),
        Index("ix_responses_survey_score", "survey_id", "score"),
        # One response per invitation: a later answer through the same link updates it.
        Index("uq_responses_invitation_id", "invitation_id", unique=True),
        CheckConstraint(_one_of("source", SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))
    channel: Mapped[str | None] = mapped_column(String(50))
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Segments such as agent, team, product, region, order id; values are stored as text."""
    submitted_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    source: Mapped[str] = mapped_column(String(8), default="api")
    # No foreign key: adding one would rebuild the whole table on SQLite; the unique index
    # above and ``collect`` keep it consistent.
    invitation_id: Mapped[int | None] = mapped_column(BigId)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    contact_consent: Mapped[bool | None] = mapped_column(Boolean)
    unverified: Mapped[bool] = mapped_column(Boolean, default=False)
    """Came through an unsigned link (a helpdesk's email template): anyone could have sent
    it, so reports can leave it out."""
    import_run_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """The browser import that stored it (``ImportRun``), so that a whole import can be undone."""
    """After a low score, whether the respondent agreed to be contacted about it: ``None``
    when not asked (only a low score on a survey that asks, where the respondent is known)."""


class DailyRollup(Base):
    """How many responses of a survey got each score, per UTC day, channel and touchpoint.

    Kept equal to a recount of ``responses`` by the response repository, in the same
    transaction as each change. ``''`` stands for "no channel" / "no touchpoint" because a
    primary key cannot hold NULL.
    """

    __tablename__ = "daily_rollups"
    __table_args__ = (
        # The survey fixes the organisation, so the key needs no organisation_id; the survey
        # comes first so that one survey's days are one range of the index.
        CheckConstraint("count >= 0", name="count"),
        {"sqlite_with_rowid": False},
    )

    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(50), primary_key=True)
    touchpoint: Mapped[str] = mapped_column(String(100), primary_key=True)
    score: Mapped[float] = mapped_column(Float, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_organisation_at", "organisation_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    actor: Mapped[str] = mapped_column(String(64))
    """``user:<id>``, ``api_key:<id>`` or ``system``."""
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utc_now)


class Invitation(Base):
    """A request to one contact to answer one survey, sent by email through the outbox."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "idempotency_key", name="uq_invitations_organisation_key"
        ),
        # Throttling asks "when was this contact last invited?"
        Index("ix_invitations_contact_sent", "contact_id", "sent_at"),
        Index("ix_invitations_status_send_at", "status", "send_at"),
        Index("ix_invitations_survey_created", "survey_id", "created_at"),
        CheckConstraint(_one_of("status", INVITATION_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    reason: Mapped[str | None] = mapped_column(String(200))
    """Why it was throttled, suppressed or failed, in words."""
    language: Mapped[str | None] = mapped_column(String(35))
    """The language of the email and pages; ``None``: the contact's, else the survey's."""
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Segments copied onto the response (ticket, agent, order ...)."""
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    send_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Unsubscribe(Base):
    """An address that asked to hear no more from the organisation: honoured by every send."""

    __tablename__ = "unsubscribes"
    __table_args__ = (
        UniqueConstraint("organisation_id", "email", name="uq_unsubscribes_organisation_email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    email: Mapped[str] = mapped_column(String(320))
    """Lower-cased."""
    source: Mapped[str] = mapped_column(String(32))
    """``link``, ``list-unsubscribe``, ``api`` ..."""
    at: Mapped[datetime] = mapped_column(default=utc_now)


class OutboxItem(Base):
    """Background work written in the same transaction as the change that caused it.

    A worker claims an item (``sending`` until ``locked_until``), does it, and marks it
    ``sent``; failures retry with backoff from ``available_at``. ``dedupe_key`` makes
    enqueueing the same work twice a no-op.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("organisation_id", "dedupe_key", name="uq_outbox_organisation_dedupe"),
        Index("ix_outbox_state_available", "state", "available_at"),
        # A claim of one kind reads its due items in order and stops at its limit.
        Index("ix_outbox_kind_due", "kind", "state", "available_at", "id"),
        CheckConstraint(_one_of("state", OUTBOX_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=utc_now)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    done_at: Mapped[datetime | None]


class Goal(Base):
    """A target for a metric of a survey (optionally a segment of it) by a due date."""

    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str | None] = mapped_column(String(8))
    """What the goal aims at when not the survey's own metric (a CSAT survey's DSAT, say)."""
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Filters the goal applies to, such as ``{"channel": "email"}``; empty: the whole survey."""
    baseline: Mapped[float] = mapped_column(Float)
    baseline_date: Mapped[date] = mapped_column(Date)
    target: Mapped[float] = mapped_column(Float)
    due_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ReportSchedule(Base):
    """Email a survey's monthly report to ``recipients`` on the first of each month."""

    __tablename__ = "report_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    recipients: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{"emails": [...]}``."""
    language: Mapped[str] = mapped_column(String(35), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    last_month_sent: Mapped[str | None] = mapped_column(String(7))
    """``YYYY-MM`` of the last report enqueued, so that a month is sent once."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class WebSession(Base):
    """A browser session: the cookie carries a random secret, this row only its SHA-256, so
    that a copy of the database signs nobody in. A session ends at ``expires_at``, when
    revoked (logout, "sign out everywhere", an admin) or when its user's password changes
    (``password_mark`` no longer matches)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the secret in the cookie: every request looks its session up by it."""
    password_mark: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the user's password hash when the session began."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=utc_now)
    """Refreshed at most once a minute, so that reading pages does not turn into writes."""
    expires_at: Mapped[datetime]
    user_agent: Mapped[str | None] = mapped_column(String(200))
    """A summary such as "Firefox on Linux", to recognise the session in a list."""
    source: Mapped[str | None] = mapped_column(String(64))
    """The client address that logged in."""
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Failed logins of one account from one source address (``source`` ``*``: from all of
    them), and the lock they caused; see ``store.login_attempts``."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        UniqueConstraint("account", "source", name="uq_login_attempts_account_source"),
        Index("ix_login_attempts_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(80))
    """``user:<id>``, or ``email:<sha256>`` for an address that is nobody's (so that a lock
    tells nothing about which addresses have accounts)."""
    source: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    """The last login from this source: a familiar source skips the account-wide delay."""
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class AnalysedComment(Base):
    """What the text stage found in one response's comment (``cxpulse.text.comments``).

    The response rows with a comment and no analysis (or one of an older
    ``taxonomy_version``) are the worker's queue (``act.comment_analysis``). ``survey_id``,
    ``submitted_at`` and ``score`` are copies of the response's, so that the comments of a
    survey and period, and their histogram, are one index range.
    """

    __tablename__ = "comment_analyses"
    __table_args__ = (
        CheckConstraint(_one_of("sentiment", COMMENT_SENTIMENTS), name="sentiment"),
        CheckConstraint(
            "sentiment_source IS NULL OR " + _one_of("sentiment_source", SENTIMENT_SOURCES),
            name="sentiment_source",
        ),
        # The stale analyses of an organisation are two ranges of this index (below and above
        # the wanted version), so looking for them costs nothing when there are none.
        Index(
            "ix_comment_analyses_organisation_version",
            "organisation_id",
            "taxonomy_version",
            "response_id",
        ),
        # Newest first for listings, scores for histograms: both from the index alone.
        Index(
            "ix_comment_analyses_survey_submitted",
            "survey_id",
            "submitted_at",
            "response_id",
            "score",
        ),
        Index("ix_comment_analyses_survey_language", "survey_id", "language", "submitted_at"),
        # Scored comments per language: when a sentiment model is due for retraining.
        Index(
            "ix_comment_analyses_organisation_language",
            "organisation_id",
            "language",
            "sentiment_source",
        ),
    )

    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    submitted_at: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(8))
    """ISO 639-1 code the comment was found to be written in; NULL: no letters to go by."""
    sentiment: Mapped[str] = mapped_column(String(8))
    sentiment_source: Mapped[str | None] = mapped_column(String(8))
    redacted_comment: Mapped[str] = mapped_column(Text)
    """The comment with personal data replaced: what pages and exports show."""
    taxonomy_version: Mapped[str] = mapped_column(String(32))
    """The analysis and taxonomy version it was made with (``act.comment_analysis``)."""
    analysed_at: Mapped[datetime] = mapped_column(default=utc_now)


class TextTheme(Base):
    """A theme of an organisation's taxonomy, found in comments by its phrases."""

    __tablename__ = "text_themes"
    __table_args__ = (
        UniqueConstraint("organisation_id", "key", name="uq_text_themes_organisation_key"),
        CheckConstraint(_one_of("origin", THEME_ORIGINS), name="origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    key: Mapped[str] = mapped_column(String(64))
    """Stable name in URLs, exports and the API (``delivery``, ``wrong-or-missing-items``)."""
    name: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(16))
    phrases: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{language: [phrase, ...]}``: what names the theme in each language."""
    implies: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    """Keys of the themes every mention of this one also counts as (``delivery-delay``
    implies ``delivery``)."""
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("text_themes.id", ondelete="SET NULL"), index=True
    )
    """The theme this one was merged into (then it is inactive)."""
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ResponseTheme(Base):
    """One theme mentioned in one response's comment, with the sentiment of the mention.

    ``survey_id``, ``submitted_at`` and ``score`` are copies of the response's, so that the
    histogram of the answers mentioning a theme in a survey and period is one range of an
    index that holds every column the count needs.
    """

    __tablename__ = "response_themes"
    __table_args__ = (
        CheckConstraint(_one_of("sentiment", COMMENT_SENTIMENTS), name="sentiment"),
        Index(
            "ix_response_themes_survey_theme",
            "survey_id",
            "theme_id",
            "submitted_at",
            "response_id",
            "score",
            "sentiment",
        ),
        Index("ix_response_themes_theme_id", "theme_id"),
        # Rows kept in key order, and the index above holds the key: no rowid to store.
        {"sqlite_with_rowid": False},
    )

    # A mention belongs to its analysis: deleting the analysis (or the response, or the
    # theme) deletes it.
    response_id: Mapped[int] = mapped_column(
        BigId,
        ForeignKey("comment_analyses.response_id", ondelete="CASCADE"),
        primary_key=True,
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("text_themes.id", ondelete="CASCADE"), primary_key=True
    )
    # No index of its own: every read names the survey, and the largest table of the text
    # stage should not pay for one more index on every write.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    submitted_at: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    sentiment: Mapped[str] = mapped_column(String(8))


class StoredSentimentModel(Base):
    """An organisation's sentiment classifier for one language, trained on its own scored
    comments (``cxpulse.text.sentiment.SentimentModel.to_bytes``)."""

    __tablename__ = "sentiment_models"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(default=utc_now)
    examples: Mapped[int] = mapped_column(Integer)
    """Comments it learnt from."""
    scored_comments_seen: Mapped[int] = mapped_column(Integer)
    """Scored comments of the language when it was trained: retraining waits for growth."""
    model: Mapped[bytes] = mapped_column(LargeBinary)


class CommentRollup(Base):
    """How many analysed comments of a survey got each score, per UTC day: the denominator
    of a theme's share, kept equal to a recount of ``comment_analyses`` by
    ``store.comment_rollups`` in the same transaction as each change."""

    __tablename__ = "comment_rollups"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count"),
        {"sqlite_with_rowid": False},
    )

    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float] = mapped_column(Float, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class ThemeRollup(Base):
    """How many answers of a survey mentioning a theme got each score, per UTC day and
    sentiment of the mention, kept equal to a recount of ``response_themes``
    (``store.comment_rollups``): a theme's histogram over a year is a few thousand rows
    instead of every mention."""

    __tablename__ = "theme_rollups"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count"),
        CheckConstraint(_one_of("sentiment", COMMENT_SENTIMENTS), name="sentiment"),
        Index("ix_theme_rollups_theme_id", "theme_id"),
        {"sqlite_with_rowid": False},
    )

    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("text_themes.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float] = mapped_column(Float, primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


# -- the closed loop (rules, cases, webhooks, alerts, referral codes, privacy) -----------------

CASE_STATES = ("new", "contacted", "resolved", "wont_fix")
"""A follow-up case's life: ``new`` until someone contacts the customer, ``contacted``,
then closed as ``resolved`` or ``wont_fix``."""
CASE_PRIORITIES = ("low", "normal", "high", "urgent")
CASE_EVENT_KINDS = (
    "created",
    "note",
    "state",
    "assigned",
    "priority",
    "email_out",
    "email_in",
    "resurvey",
)
WEBHOOK_FORMATS = ("standard", "slack", "teams")
"""``standard``: a signed JSON event (Standard Webhooks headers); ``slack`` and ``teams``:
a message for an incoming-webhook URL of those tools (unsigned: the URL is the secret)."""
DELIVERY_STATES = ("pending", "delivered", "failed", "dead")
ALERT_KINDS = ("score-drop", "theme-spike", "goal-off-track")
ALERT_STATES = ("open", "closed")
INBOUND_PRESETS = ("zendesk", "freshdesk", "shopify", "generic")
RETENTION_ACTIONS = ("delete", "anonymise")


class Rule(Base):
    """What to do when an answer arrives: conditions and actions (JSON documents validated
    by ``act.rule_conditions``/``act.rule_actions``), per organisation and optionally per
    survey. Rules run in ``position`` order."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int | None] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), index=True
    )
    """None: every survey of the organisation."""
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class RuleMatch(Base):
    """A rule that matched an answer, once: the unique key makes running a rule again on
    the same answer (a retried outbox item) a no-op."""

    __tablename__ = "rule_matches"
    __table_args__ = (
        UniqueConstraint("rule_id", "response_id", name="uq_rule_matches_rule_response"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    matched_at: Mapped[datetime] = mapped_column(default=utc_now)
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What each action did (case id, tag, code, notification queued)."""


class ResponseTag(Base):
    """A label on an answer, set by a rule or a person."""

    __tablename__ = "response_tags"
    __table_args__ = (
        UniqueConstraint("response_id", "tag", name="uq_response_tags_response_tag"),
        Index("ix_response_tags_organisation_tag", "organisation_id", "tag"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    response_id: Mapped[int] = mapped_column(BigId, ForeignKey("responses.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Team(Base):
    """People who share follow-up cases; new cases go round the members in turn."""

    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name", name="uq_teams_organisation_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    name: Mapped[str] = mapped_column(String(100))
    last_assigned_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    """Round-robin: the next case goes to the member after this one."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class FollowUpCase(Base):
    """A follow-up of one unhappy answer (or customer), from opening to resolution."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_one_of("state", CASE_STATES), name="state"),
        CheckConstraint(_one_of("priority", CASE_PRIORITIES), name="priority"),
        # One case per answer: a rule that runs again never opens a second one.
        Index("uq_cases_response_id", "response_id", unique=True),
        Index("ix_cases_organisation_state_due", "organisation_id", "state", "due_at"),
        Index("ix_cases_assignee", "assignee_user_id", "state"),
        Index("ix_cases_survey_created", "survey_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    response_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    due_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    reply_token: Mapped[str] = mapped_column(String(64), unique=True)
    """Random, in the reply address and the inbound endpoint, so that a customer's answer
    by email finds its case."""
    resurvey_invitation_id: Mapped[int | None] = mapped_column(BigId)
    recovery_score: Mapped[float | None] = mapped_column(Float)
    """The customer's score in the re-survey after resolution."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class CaseEvent(Base):
    """One line of a case's history: a note, a state change, an email out or in."""

    __tablename__ = "case_events"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CASE_EVENT_KINDS), name="kind"),
        Index("ix_case_events_case_created", "case_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    """The Message-ID of an email out or in, for threading."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class WebhookEndpoint(Base):
    """Where an organisation's events are posted."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint(_one_of("format", WEBHOOK_FORMATS), name="format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(8), default="standard")
    events: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{"types": [...]}``: the event types sent here (empty: all)."""
    secret: Mapped[str] = mapped_column(String(200))
    """The signing secret (``whsec_`` and base64); it must be kept, not hashed, to sign."""
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_until: Mapped[datetime | None]
    """During a rotation, deliveries are signed with both secrets until then."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class WebhookDelivery(Base):
    """One event for one endpoint: the delivery log, with every attempt's outcome."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_one_of("state", DELIVERY_STATES), name="state"),
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    """``msg_...``: the same on every attempt and replay, so receivers can deduplicate."""
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    delivered_at: Mapped[datetime | None]


class Alert(Base):
    """An anomaly or a goal off track, raised once per incident and updated while it
    lasts (``key``: what makes two detections the same incident)."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ALERT_KINDS), name="kind"),
        CheckConstraint(_one_of("state", ALERT_STATES), name="state"),
        Index("ix_alerts_organisation_key_state", "organisation_id", "key", "state"),
        Index("ix_alerts_organisation_raised", "organisation_id", "raised_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(8), default="open")
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The numbers behind it: segment, day, the drop with its interval, n, the evidence."""
    raised_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=utc_now)
    closed_at: Mapped[datetime | None]


class InboundEndpoint(Base):
    """A URL on which another system (a helpdesk, a shop) says an interaction happened, so
    that its customer is invited to a survey right away."""

    __tablename__ = "inbound_endpoints"
    __table_args__ = (CheckConstraint(_one_of("preset", INBOUND_PRESETS), name="preset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    preset: Mapped[str] = mapped_column(String(12), default="generic")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    """The endpoint's public id in its URL."""
    secret: Mapped[str] = mapped_column(String(200))
    """Checks the source's signature (HMAC) or shared secret."""
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    delay_minutes: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class InboundEvent(Base):
    """An event received on an inbound endpoint, once per source event id."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint(
            "endpoint_id", "source_event_id", name="uq_inbound_events_endpoint_source"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("inbound_endpoints.id", ondelete="CASCADE"))
    source_event_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(200))
    invitation_id: Mapped[int | None] = mapped_column(BigId)
    received_at: Mapped[datetime] = mapped_column(default=utc_now)


class ReferralCode(Base):
    """A personal, single-use code given to a promoter."""

    __tablename__ = "referral_codes"
    __table_args__ = (
        UniqueConstraint("organisation_id", "code", name="uq_referral_codes_organisation_code"),
        Index("uq_referral_codes_response_id", "response_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    response_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL")
    )
    code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    redeemed_at: Mapped[datetime | None]
    redeemed_reference: Mapped[str | None] = mapped_column(String(200))
    """What the organisation's shop says it was redeemed on (an order id)."""


class LoopSettings(Base):
    """An organisation's closed-loop settings: SLA per priority, business hours, retention.
    One row per organisation, made with the defaults on first use."""

    __tablename__ = "loop_settings"
    __table_args__ = (
        CheckConstraint(_one_of("retention_action", RETENTION_ACTIONS), name="retention_action"),
    )

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    business_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{"days": [0..6 (Monday=0)], "start": "09:00", "end": "17:00"}``; empty: default."""
    sla_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Business hours to first contact per priority; empty: the defaults."""
    retention_months: Mapped[int | None] = mapped_column(Integer)
    """Answers and cases older than this are deleted or anonymised; None: kept."""
    retention_action: Mapped[str] = mapped_column(String(12), default="anonymise")
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class SmsOptOut(Base):
    """A phone number that replied STOP (or another opt-out keyword): no more SMS to it."""

    __tablename__ = "sms_opt_outs"
    __table_args__ = (
        UniqueConstraint("organisation_id", "phone", name="uq_sms_opt_outs_organisation_phone"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    phone: Mapped[str] = mapped_column(String(32))
    keyword: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utc_now)


QUESTION_KINDS = ("rating", "choice", "text")
"""Follow-up questions: ``rating``, an attribute on a scale (delivery, support ...);
``choice``, one of a list; ``text``, a short answer."""


class SurveyQuestion(Base):
    """An optional follow-up question of a survey, shown after the main answer."""

    __tablename__ = "survey_questions"
    __table_args__ = (
        CheckConstraint(_one_of("kind", QUESTION_KINDS), name="kind"),
        Index("ix_survey_questions_survey_position", "survey_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    """A short name for exports and filters, such as ``delivery``."""
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``{language: text}``: the question in each language."""
    choices: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    """For ``choice``: ``[{"key": ..., "labels": {language: text}}]``."""
    scale_low: Mapped[int | None] = mapped_column(Integer)
    scale_high: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ResponseAnswer(Base):
    """One answer to a follow-up question, attached to its response."""

    __tablename__ = "response_answers"
    __table_args__ = (
        UniqueConstraint(
            "response_id", "question_id", name="uq_response_answers_response_question"
        ),
        Index("ix_response_answers_question_score", "question_id", "score"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(BigId, ForeignKey("responses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"))
    score: Mapped[float | None] = mapped_column(Float)
    choice: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ImportRun(Base):
    """One import of past answers from the browser: what was stored, so it can be undone."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = _org_fk()
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    preset: Mapped[str | None] = mapped_column(String(32))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    undone_at: Mapped[datetime | None]


class RateBucket(Base):
    """One client's token bucket of one rate limit, shared by every process of a PostgreSQL
    deployment (``store.rate_buckets``; on SQLite, one process, the buckets stay in memory).

    The bucket is kept as the moment it is full again (``full_at``, seconds since the epoch by
    the database's clock, so machines with different clocks agree); a row past that moment is
    the same as no row and is purged. On PostgreSQL the table is UNLOGGED: a database crash
    forgets the buckets (every client starts full), which costs nothing worth a WAL write."""

    __tablename__ = "rate_buckets"

    bucket: Mapped[str] = mapped_column(String(120), primary_key=True)
    """``<limit>:<client>``, such as ``login:203.0.113.7``."""
    full_at: Mapped[float] = mapped_column(Float)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    """Whether the last attempt was let through (read back by the statement that took it)."""
