"""Request and response bodies of API v1.

Limits that the store enforces are declared here too, so that the OpenAPI document states
them and a request over a limit is refused with a field-level 422 before any query runs.

One module of about 480 lines on purpose: it is the API's whole public vocabulary, read
top to bottom beside docs/api.md; the bodies share limits and field descriptions, and a
reader looking for a field finds it in one place. One exception: the values an answered
response shows of itself are declared once for every layer, in ``store.response_values``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cxpulse.store import _values as values
from cxpulse.store import survey_rules
from cxpulse.store.models import MAX_COMMENT_LENGTH
from cxpulse.store.response_values import ResponseValues

MAX_ID = 2**63 - 1
"""Largest id of a response, contact or audit entry (64-bit columns)."""
MAX_SMALL_ID = 2**31 - 1
"""Largest id of a survey, user, API key or organisation (32-bit columns on PostgreSQL)."""
MAX_BATCH_SIZE = 1000
"""Most responses one batch request may carry."""
MAX_ATTRIBUTES = 50
"""Most properties a response, or attributes a contact, may carry."""
MAX_PASSWORD_LENGTH = 1024
MAX_BODY_BYTES = 1_000_000
"""Largest request body, except for batches; over it the answer is 413."""
MAX_BATCH_BODY_BYTES = 48_000_000
"""Largest batch body: room for 1,000 responses with comments at their longest."""

MetricName = Literal["csat", "dsat", "nps", "ces", "mean"]
SurveyStatus = Literal["draft", "active", "closed", "archived"]
"""``archived``: closed and hidden from the survey list and overview (``store.survey_rules``)."""
Role = Literal["owner", "admin", "analyst", "agent", "viewer"]
KeyScope = Literal["read", "write"]
Source = Literal["api", "import", "web", "email", "widget", "demo"]


def clean_text(value: str) -> str:
    """The one rule of text fields (``store._values.text_problem``): no control character but
    tab and line breaks, no unpaired surrogate. Raises a ValueError whose text is the
    store's message, so a field refused here reads as it would from any other door."""
    problem = values.text_problem(value)
    if problem is not None:
        raise PydanticCustomError("text", problem)
    return value


def _valid_unicode(value: str) -> str:
    """Passwords are hashed, never stored as text: only what cannot be encoded is refused."""
    if "\x00" in value:
        raise PydanticCustomError("text", "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("text", "is not valid Unicode text") from None
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime", "is outside the years 1 to 9999 once converted to UTC"
        ) from None


def _text_check(limit: int) -> BeforeValidator:
    """Checks run before pydantic's own length check, so that an over-long or unstorable
    text gets the store's words (``store._values.text``) at the API too."""

    def check(value: object) -> object:
        if isinstance(value, str):
            clean_text(value)
            if len(value) > limit:
                raise PydanticCustomError(
                    "text", f"is {len(value)} characters long; at most {limit} are allowed"
                )
        return value

    return BeforeValidator(check)


def _name_check(value: object) -> object:
    """The rule of property and attribute names (``store._values.name_problem``)."""
    if isinstance(value, str):
        problem = values.name_problem(value)
        if problem is not None:
            raise PydanticCustomError("name", problem)
    return value


Text35 = Annotated[str, StringConstraints(max_length=35), _text_check(35)]
Text50 = Annotated[str, StringConstraints(max_length=50), _text_check(50)]
Text100 = Annotated[str, StringConstraints(max_length=100), _text_check(100)]
Text200 = Annotated[str, StringConstraints(max_length=200), _text_check(200)]
Text320 = Annotated[str, StringConstraints(max_length=320), _text_check(320)]
Text2000 = Annotated[str, StringConstraints(max_length=2000), _text_check(2000)]
Comment = Annotated[
    str, StringConstraints(max_length=MAX_COMMENT_LENGTH), _text_check(MAX_COMMENT_LENGTH)
]
Name100 = Annotated[str, StringConstraints(min_length=1, max_length=100), _text_check(100)]
Name200 = Annotated[str, StringConstraints(min_length=1, max_length=200), _text_check(200)]
Language = Annotated[str, StringConstraints(min_length=1, max_length=35), _text_check(35)]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"),
]
AttributeName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=values.MAX_KEY_LENGTH),
    BeforeValidator(_name_check),
]


def _value_check(value: object) -> object:
    """Text values checked before the union is tried: one error in the store's words rather
    than one per kind of value the union allows."""
    if isinstance(value, str):
        clean_text(value)
        limit = values.MAX_TEXT_VALUE_LENGTH
        if len(value) > limit:
            raise PydanticCustomError(
                "text", f"is {len(value)} characters long; at most {limit} are allowed"
            )
    return value


# Strict numbers: a text too long must be refused, not read as a number ("000...0" as 0).
AttributeValue = Annotated[
    Annotated[str, StringConstraints(max_length=values.MAX_TEXT_VALUE_LENGTH)]
    | StrictInt
    | Annotated[float, Field(strict=True, allow_inf_nan=False)]
    | StrictBool
    | None,
    BeforeValidator(_value_check),
]
Attributes = Annotated[dict[AttributeName, AttributeValue], Field(max_length=MAX_ATTRIBUTES)]
Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Password = Annotated[
    str, StringConstraints(max_length=MAX_PASSWORD_LENGTH), AfterValidator(_valid_unicode)
]
# Strict: JSON true/false or "5" are not numbers here (pydantic would read true as 1).
# The survey limits are store.survey_rules', which the builder's form and the store use too.
ScaleEnd = Annotated[
    int,
    Field(strict=True, ge=-survey_rules.SCALE_END_LIMIT, le=survey_rules.SCALE_END_LIMIT),
]
Threshold = Annotated[
    float,
    Field(
        strict=True,
        ge=-survey_rules.THRESHOLD_LIMIT,
        le=survey_rules.THRESHOLD_LIMIT,
        allow_inf_nan=False,
    ),
]
Score = Annotated[float, Field(strict=True, allow_inf_nan=False)]

_IN = ConfigDict(extra="forbid")


class Body(BaseModel):
    """A request body: unknown fields refused, and no deeper than ``MAX_JSON_DEPTH`` levels,
    the limit the widget applies too (``web.json_bodies``), refused with the same words."""

    model_config = _IN

    @model_validator(mode="before")
    @classmethod
    def _shallow(cls, data: Any) -> Any:
        problem = values.json_depth_problem(data)
        if problem is not None:
            raise PydanticCustomError("json_depth", f"the body {problem}")
        return data


_OUT = ConfigDict(from_attributes=True)


class Problem(BaseModel):
    detail: str


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class FieldProblems(BaseModel):
    detail: list[FieldProblem]


# Surveys


class QuestionText(Body):
    model_config = _IN
    question: Text2000 | None = None
    comment_prompt: Text2000 | None = None


Presentation = Literal["numbers", "stars", "emoji", "thumbs"]
ThrottleDays = Annotated[int, Field(strict=True, ge=1, le=survey_rules.MAX_THROTTLE_DAYS)]
ReminderDays = Annotated[int, Field(strict=True, ge=1, le=survey_rules.MAX_REMINDER_DAYS)]
COLLECT_OPTIONS_HELP = (
    "Survey page, email and widget options: comment (bool), reasons (list of texts shown "
    "after a low score), reasons_i18n, review_url, referral_url, allowed_origins (web "
    "origins allowed to show the widget), link_days (1-365), track_opens (bool), thanks "
    '({language: {"low"/"middle"/"high": text}}: the thank-you after each band), '
    "contact_consent (bool: ask after a low score whether the customer may be contacted; "
    "default true)."
)


class SurveyCreate(Body):
    model_config = _IN
    slug: Slug = Field(examples=["support-csat"])
    name: Name200 = Field(examples=["CSAT after a support ticket"])
    metric: MetricName
    scale_low: ScaleEnd | None = Field(None, description="Default: the metric's usual scale.")
    scale_high: ScaleEnd | None = None
    top_min: Threshold | None = Field(
        None, description="Lowest answer in the top band; default: the metric's."
    )
    bottom_max: Threshold | None = Field(
        None, description="Highest answer in the bottom band; default: the metric's."
    )
    questions: dict[Language, QuestionText] | None = Field(
        None, max_length=100, description="Question text and comment prompt per language."
    )
    default_language: Language = "en"
    touchpoint: Text100 | None = Field(None, examples=["after support ticket"])
    status: SurveyStatus = "draft"
    presentation: Presentation = "numbers"
    collect_options: dict[str, Any] | None = Field(None, description=COLLECT_OPTIONS_HELP)
    throttle_days: ThrottleDays | None = Field(
        None, description="Overrides the organisation's days between two invitations."
    )
    reminder_days: ReminderDays | None = Field(
        None, description="Days without an answer before the one reminder; null: none."
    )


class SurveyUpdate(Body):
    """Only the fields sent change; ``null`` thresholds go back to the metric's defaults."""

    model_config = _IN
    slug: Slug | None = None
    name: Name200 | None = None
    metric: MetricName | None = None
    scale_low: ScaleEnd | None = None
    scale_high: ScaleEnd | None = None
    top_min: Threshold | None = None
    bottom_max: Threshold | None = None
    questions: dict[Language, QuestionText] | None = Field(None, max_length=100)
    default_language: Language | None = None
    touchpoint: Text100 | None = None
    status: SurveyStatus | None = None
    presentation: Presentation | None = None
    collect_options: dict[str, Any] | None = Field(None, description=COLLECT_OPTIONS_HELP)
    throttle_days: ThrottleDays | None = None
    reminder_days: ReminderDays | None = None


class SurveyOut(BaseModel):
    model_config = _OUT
    id: int
    slug: str
    name: str
    metric: str
    scale: str
    scale_low: int
    scale_high: int
    top_min: float | None
    bottom_max: float | None
    questions: dict[str, dict[str, str]]
    default_language: str
    touchpoint: str | None
    status: str
    presentation: str
    collect_options: dict[str, Any]
    throttle_days: int | None
    reminder_days: int | None
    created_at: datetime
    updated_at: datetime


class SurveyList(BaseModel):
    items: list[SurveyOut]


# Responses


class ResponseCreate(Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "score": 5,
                    "comment": "Quick and friendly",
                    "channel": "email",
                    "language": "en",
                    "properties": {"agent": "anna", "team": "billing"},
                    "idempotency_key": "ticket-48213",
                }
            ]
        },
    )
    score: Score = Field(description="An answer on the survey's scale (whole numbers).")
    submitted_at: Instant | None = Field(None, description="With a time zone; default: now.")
    comment: Comment | None = Field(None, description=f"At most {MAX_COMMENT_LENGTH:,} characters.")
    language: Text35 | None = None
    channel: Text50 | None = None
    touchpoint: Text100 | None = Field(None, description="Default: the survey's touchpoint.")
    properties: Attributes | None = Field(
        None, description="Segments such as agent, team, product, region; stored as text."
    )
    contact_id: Id | None = None
    source: Source = "api"
    idempotency_key: Text200 | None = Field(
        None,
        description="A repeat with the same key (per survey) stores nothing and answers 200 "
        "with the response stored first. The Idempotency-Key header does the same.",
    )


class ResponseBatch(Body):
    model_config = _IN
    items: list[ResponseCreate] = Field(min_length=1, max_length=MAX_BATCH_SIZE)


# The fields from id to source are the store's ``ResponseValues``, declared there once;
# pydantic takes a dataclass base's fields as its own, before these. Frozen as that base is
# (its frozen-ness must match for type checkers); answers are never changed once built.
class ResponseOut(BaseModel, ResponseValues, frozen=True):
    model_config = _OUT
    idempotency_key: str | None
    contact_consent: bool | None = None
    """Whether the customer allowed a follow-up after a low score; null when not asked."""
    unverified: bool = False
    """True when it came through an unsigned helpdesk link (docs/sharing.md): anyone with
    the link could have sent it."""


class BatchItemOut(ResponseOut, frozen=True):
    created: bool
    """False when the idempotency key was already stored (or repeated within the batch)."""


class BatchOut(BaseModel):
    created: int
    existing: int
    items: list[BatchItemOut]


class ResponsePage(BaseModel):
    items: list[ResponseOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


# Metrics


class MetricRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    group: dict[str, str | None]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    counts: dict[str, int]
    too_small: bool


class Thresholds(BaseModel):
    top_min: float
    bottom_max: float


class MetricsOut(BaseModel):
    metric: str
    level: float
    scale: str
    thresholds: Thresholds
    min_n: int
    rows: list[MetricRow]


# Contacts


class ContactCreate(Body):
    model_config = _IN
    external_id: Text200 | None = Field(None, description="The id in your CRM, shop or helpdesk.")
    email: Text320 | None = None
    name: Text200 | None = None
    locale: Text35 | None = None
    attributes: Attributes | None = Field(None, description="Such as plan or vip; stored as text.")
    phone: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="In international form, such as +46701234567; stored in E.164 form."
    )


class ContactUpdate(ContactCreate):
    """Only the fields sent change; ``attributes`` replaces the whole set."""


class ContactOut(BaseModel):
    model_config = _OUT
    id: int
    external_id: str | None
    email: str | None
    name: str | None
    locale: str | None
    attributes: dict[str, str]
    phone: str | None
    created_at: datetime
    updated_at: datetime


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None


# Accounts


class LoginIn(Body):
    model_config = _IN
    email: Text320
    password: Password


class UserOut(BaseModel):
    model_config = _OUT
    id: int
    email: str
    name: str | None
    role: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(Body):
    model_config = _IN
    email: Text320
    password: Password = Field(description="At least 8 characters.")
    role: Role
    name: Text200 | None = None


class UserUpdate(Body):
    model_config = _IN
    role: Role | None = None
    name: Text200 | None = None
    is_active: bool | None = None


class UserList(BaseModel):
    items: list[UserOut]


class OrganisationOut(BaseModel):
    model_config = _OUT
    id: int
    slug: str
    name: str


class LoginOut(BaseModel):
    user: UserOut
    organisation: OrganisationOut
    csrf_token: str = Field(
        description="Send it as the X-CSRF-Token header with every POST, PATCH and DELETE "
        "(it is also in the cxpulse_csrf cookie)."
    )


class ApiKeyCreate(Body):
    model_config = _IN
    name: Name100 = Field(examples=["helpdesk integration"])
    scope: KeyScope = Field(description="read, or write (which includes read).")


class ApiKeyOut(BaseModel):
    model_config = _OUT
    id: int
    name: str
    prefix: str
    scope: str
    created_by: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown now and never again.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


class Me(BaseModel):
    organisation: OrganisationOut
    user: UserOut | None
    api_key: ApiKeyOut | None
    permissions: list[str]


class AuditEntry(BaseModel):
    model_config = _OUT
    id: int
    actor: str
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, Any]
    at: datetime


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
