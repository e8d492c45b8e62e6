"""Themes through API v1: the organisation's taxonomy (list, create, change, merge, delete),
the themes of a survey and period, the themes discovered in its comments (and promoting
one into the taxonomy), and the analysis of one response's comment.

Reading the taxonomy needs ``surveys:read`` (viewers and read keys); changing it
``surveys:write`` (analysts and above, write keys); the themes of a survey, counts only,
``metrics:read``; discovered themes and a response's analysis show comments, so they need
``responses:read``. Every comment in an answer is redacted. The rules of an edit are
``act.theme_taxonomy``'s, shared with the taxonomy pages.

A little over 400 lines on purpose: every themes call of the API in one module, read beside
docs/api.md's "Themes" section; the bodies are in ``web/theme_schemas.py``.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from cxpulse.act import theme_taxonomy
from cxpulse.metrics import MetricResult
from cxpulse.report import theme_discovery
from cxpulse.report.filters_url import ViewFilters, Window
from cxpulse.report.themes_view import themes_view
from cxpulse.store import _values as values
from cxpulse.store import comment_listing, shown_comments
from cxpulse.store.errors import Invalid
from cxpulse.store.response_reads import get_response
from cxpulse.store.surveys import get_survey
from cxpulse.store.text_themes import taxonomy_version
from cxpulse.store.types import utc_now
from cxpulse.web import audit
from cxpulse.web.access import CanReadMetrics, CanReadResponses, CanReadSurveys, CanWriteSurveys
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors
from cxpulse.web.routes.common import ResponseId, SurveyId, problems
from cxpulse.web.schemas import MAX_SMALL_ID
from cxpulse.web.theme_schemas import (
    DiscoveredList,
    DiscoveredOut,
    ExampleOut,
    LanguageCode,
    MentionOut,
    ResponseThemesOut,
    ScoreOut,
    SurveyThemeOut,
    SurveyThemes,
    ThemeCreate,
    ThemeList,
    ThemeMerge,
    ThemeOut,
    ThemePromote,
    ThemeUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["themes"])

ThemeId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The theme's id.")]
FromDay = Annotated[
    date | None,
    Query(
        alias="from",
        description="First day (UTC), inclusive; default: 90 days before `to`.",
    ),
]
ToDay = Annotated[
    date | None,
    Query(description="Last day (UTC), inclusive; default: the day of the latest answer."),
]


def theme_out(found: theme_taxonomy.ThemeSummary) -> ThemeOut:
    theme = found.theme
    return ThemeOut(
        id=theme.id,
        key=theme.key,
        name=theme.name,
        origin=theme.origin,  # type: ignore[arg-type]
        active=theme.is_active,
        merged_into=theme.merged_into_id,
        phrases={language: list(found) for language, found in (theme.phrases or {}).items()},
        mentions_30_days=found.mentions,
        created_at=theme.created_at,
        updated_at=theme.updated_at,
    )


def _plain(phrases: dict[LanguageCode, list[str]]) -> dict[str, list[str]]:
    return {str(language): found for language, found in phrases.items()}


def _summary(session: DbSession, organisation_id: int, theme_id: int) -> ThemeOut:
    return theme_out(theme_taxonomy.summary(session, organisation_id, theme_id))


# -- the taxonomy ------------------------------------------------------------------------------


@router.get(
    "/themes",
    operation_id="listThemes",
    summary="The organisation's taxonomy of comment themes",
    description="Active themes by name, each with its phrases per language and its mentions "
    "in the last 30 days; `include_inactive=true` adds merged and switched-off themes. A new "
    "organisation starts with cxpulse's starter themes once its first comment is analysed or "
    "its taxonomy is first edited.",
    response_model=ThemeList,
    responses=problems(),
)
def list_themes(
    caller: CanReadSurveys,
    session: DbSession,
    include_inactive: Annotated[bool, Query(description="Also merged and inactive themes.")] = (
        False
    ),
) -> ThemeList:
    found = theme_taxonomy.taxonomy(
        session, caller.organisation_id, include_inactive=include_inactive
    )
    return ThemeList(
        items=[theme_out(item) for item in found],
        taxonomy_version=taxonomy_version(session, caller.organisation_id),
    )


@router.post(
    "/themes",
    operation_id="createTheme",
    summary="Add a theme",
    description="Comments are matched against it in the background, within a minute or so.",
    status_code=status.HTTP_201_CREATED,
    response_model=ThemeOut,
    responses=problems(409),
)
def create_theme(body: ThemeCreate, caller: CanWriteSurveys, session: DbSession) -> ThemeOut:
    theme = theme_taxonomy.create_theme(
        session,
        caller.organisation_id,
        name=body.name,
        phrases=_plain(body.phrases),
        key=body.key,
    )
    audit.record(session, caller, "create", "theme", theme.id, {"key": theme.key})
    session.commit()
    return _summary(session, caller.organisation_id, theme.id)


@router.get(
    "/themes/{theme_id}",
    operation_id="getTheme",
    summary="Get a theme",
    response_model=ThemeOut,
    responses=problems(404),
)
def get_theme(theme_id: ThemeId, caller: CanReadSurveys, session: DbSession) -> ThemeOut:
    return _summary(session, caller.organisation_id, theme_id)


@router.patch(
    "/themes/{theme_id}",
    operation_id="updateTheme",
    summary="Rename a theme, change its phrases, switch it off or on",
    response_model=ThemeOut,
    responses=problems(404),
)
def update_theme(
    theme_id: ThemeId, body: ThemeUpdate, caller: CanWriteSurveys, session: DbSession
) -> ThemeOut:
    sent = body.model_fields_set
    theme_taxonomy.update_theme(
        session,
        caller.organisation_id,
        theme_id,
        name=body.name if "name" in sent else None,
        phrases=_plain(body.phrases) if "phrases" in sent and body.phrases is not None else None,
        active=body.active if "active" in sent else None,
    )
    audit.record(session, caller, "update", "theme", theme_id, {"fields": sorted(sent)})
    session.commit()
    return _summary(session, caller.organisation_id, theme_id)


@router.post(
    "/themes/{theme_id}/merge",
    operation_id="mergeTheme",
    summary="Merge a theme into another",
    description="Its mentions move to the other theme at once (an answer mentioning both "
    "keeps one mention), its phrases join the other's, and it stays as an inactive theme "
    "pointing at the other. Answers the theme merged into.",
    response_model=ThemeOut,
    responses=problems(404),
)
def merge_theme(
    theme_id: ThemeId, body: ThemeMerge, caller: CanWriteSurveys, session: DbSession
) -> ThemeOut:
    target = theme_taxonomy.merge_theme(session, caller.organisation_id, theme_id, body.into)
    audit.record(session, caller, "merge", "theme", theme_id, {"into": target.id})
    session.commit()
    return _summary(session, caller.organisation_id, target.id)


@router.delete(
    "/themes/{theme_id}",
    operation_id="deleteTheme",
    summary="Delete a theme and its mentions",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_theme(theme_id: ThemeId, caller: CanWriteSurveys, session: DbSession) -> Response:
    theme_taxonomy.delete_theme(session, caller.organisation_id, theme_id)
    audit.record(session, caller, "delete", "theme", theme_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- a survey's themes -------------------------------------------------------------------------


def period(
    session: DbSession, organisation_id: int, survey_id: int, start: date | None, to: date | None
) -> Window:
    """The days asked for (``report.theme_discovery.period_window``); 422 naming the query
    parameter at fault."""
    for name, day in (("from", start), ("to", to)):
        problem = values.day_problem(day) if day is not None else None
        if problem is not None:
            raise FieldErrors.one(["query", name], problem)
    try:
        return theme_discovery.period_window(
            session, organisation_id, survey_id, start, to, utc_now().date()
        )
    except Invalid as error:
        raise FieldErrors.one(["query", error.field], error.message) from None


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _score_out(result: MetricResult) -> ScoreOut:
    return ScoreOut(
        value=_number(result.value),
        ci_low=_number(result.ci_low),
        ci_high=_number(result.ci_high),
        n=result.n,
        too_small=result.too_small,
    )


@router.get(
    "/surveys/{survey_id}/themes",
    operation_id="getSurveyThemes",
    summary="The themes of a survey's comments in a period, with the points they cost or win",
    description="For each theme mentioned in the period: mentions, share of the analysed "
    "comments with its interval, the score of the answers that mention it and of the rest, "
    "and its impact on the overall score in the metric's points with an interval. Only "
    "analysed comments count; `waiting` says how many are still in the worker's queue.",
    response_model=SurveyThemes,
    responses=problems(404),
)
def survey_themes(
    survey_id: SurveyId,
    caller: CanReadMetrics,
    session: DbSession,
    start: FromDay = None,
    to: ToDay = None,
) -> SurveyThemes:
    org = caller.organisation_id
    survey = get_survey(session, org, survey_id)
    window = period(session, org, survey_id, start, to)
    view = themes_view(session, org, survey, ViewFilters(), window, examples=0)
    return SurveyThemes(
        metric=view.metric.value,
        level=view.level,
        min_n=view.min_n,
        start=window.start,
        to=window.last_day,
        overall=_score_out(view.overall),
        answers=view.answers,
        analysed=view.analysed,
        waiting=view.waiting,
        items=[
            SurveyThemeOut(
                key=row.key,
                name=row.name,
                origin=row.origin,  # type: ignore[arg-type]
                mentions=row.mentions,
                share=_number(row.share),
                share_ci_low=_number(row.share_low),
                share_ci_high=_number(row.share_high),
                score_with=_score_out(row.with_theme),
                score_without=_score_out(row.without_theme),
                impact=_number(row.impact),
                impact_ci_low=_number(row.impact_low),
                impact_ci_high=_number(row.impact_high),
                direction=row.direction,
                significant=row.significant,
                too_few=row.too_few,
            )
            for row in view.themes
        ],
    )


@router.get(
    "/surveys/{survey_id}/themes/discovered",
    operation_id="listDiscoveredThemes",
    summary="Themes discovered in a survey's comments of a period",
    description="Groups of comments that share phrases no theme of the taxonomy covers, per "
    "language, labelled by their top phrases, largest first, with example comments "
    f"(redacted). Reads the newest {theme_discovery.MAX_COMMENTS:,} analysed comments of the "
    "period at most (`read` and `analysed` say when there were more). Takes a second or "
    "two on a large period.",
    response_model=DiscoveredList,
    responses=problems(404),
)
def list_discovered(
    survey_id: SurveyId,
    caller: CanReadResponses,
    session: DbSession,
    start: FromDay = None,
    to: ToDay = None,
    language: Annotated[
        LanguageCode | None,
        Query(description="Only this language's themes (the others' comments are counted)."),
    ] = None,
) -> DiscoveredList:
    org = caller.organisation_id
    get_survey(session, org, survey_id)
    window = period(session, org, survey_id, start, to)
    found = theme_discovery.discover(session, org, survey_id, window, language=language)
    return DiscoveredList(
        start=window.start,
        to=window.last_day,
        analysed=found.analysed,
        read=found.read,
        cap=found.cap,
        waiting=found.waiting,
        languages=found.languages,
        mean_score=found.mean_score,
        items=[
            DiscoveredOut(
                language=theme.language,
                key=theme.key,
                label=theme.label,
                top_phrases=list(theme.top_phrases),
                size=theme.size,
                share=theme.share,
                mean_score=theme.mean_score,
                examples=[
                    ExampleOut(
                        response_id=example.response_id,
                        submitted_at=example.submitted_at,
                        score=example.score,
                        comment=example.text,
                    )
                    for example in theme.examples
                ],
            )
            for theme in found.themes
        ],
    )


@router.post(
    "/surveys/{survey_id}/themes/discovered/promote",
    operation_id="promoteDiscoveredTheme",
    summary="Add a discovered theme to the taxonomy",
    description="One call: the theme becomes a theme of the taxonomy (origin `discovered`) "
    "with the phrases sent, in its language, named by its label unless `name` is given. "
    "A key taken already is a 409, so a repeat adds nothing.",
    status_code=status.HTTP_201_CREATED,
    response_model=ThemeOut,
    responses=problems(404, 409),
)
def promote_discovered(
    survey_id: SurveyId, body: ThemePromote, caller: CanWriteSurveys, session: DbSession
) -> ThemeOut:
    get_survey(session, caller.organisation_id, survey_id)
    theme = theme_taxonomy.promote(
        session,
        caller.organisation_id,
        language=body.language,
        label=body.label,
        phrases=body.phrases,
        name=body.name,
        key=body.key,
    )
    audit.record(
        session, caller, "create", "theme", theme.id, {"key": theme.key, "survey_id": survey_id}
    )
    session.commit()
    return _summary(session, caller.organisation_id, theme.id)


# -- one response ------------------------------------------------------------------------------


@router.get(
    "/responses/{response_id}/themes",
    operation_id="getResponseThemes",
    summary="The analysis of a response's comment: language, sentiment, themes",
    description="`analysed` is false for a response without a comment and for one the "
    "worker has not analysed yet (seconds after it arrives); the comment is redacted either "
    "way.",
    response_model=ResponseThemesOut,
    responses=problems(404),
)
def response_themes(
    response_id: ResponseId, caller: CanReadResponses, session: DbSession
) -> ResponseThemesOut:
    org = caller.organisation_id
    response = get_response(session, org, response_id)
    found = comment_listing.get_comment(session, org, response_id)
    if found is None:
        return ResponseThemesOut(
            response_id=response.id,
            survey_id=response.survey_id,
            analysed=False,
            language=None,
            sentiment=None,
            sentiment_source=None,
            comment=shown_comments.shown_comment(response.comment),
            themes=[],
        )
    return ResponseThemesOut(
        response_id=found.response_id,
        survey_id=found.survey_id,
        analysed=True,
        language=found.language,
        sentiment=found.sentiment,  # type: ignore[arg-type]
        sentiment_source=found.sentiment_source,  # type: ignore[arg-type]
        comment=found.text,
        themes=[
            MentionOut(id=m.theme_id, key=m.key, name=m.name, sentiment=m.sentiment)  # type: ignore[arg-type]
            for m in found.themes
        ],
    )
