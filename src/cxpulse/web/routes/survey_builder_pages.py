"""The survey pages of the signed-in workspace, plain HTML forms that work without JavaScript:

- ``/app/surveys``: the organisation's surveys with their status, answers, last answer and
  headline score (interval and n, from ``report.overview`` as on ``/app``); archived ones
  behind ``?archived=1``; buttons to activate, close, reopen, archive, take out of the
  archive and duplicate;
- ``/app/surveys/new`` and ``/app/surveys/{id}/edit``: the builder, every setting the API
  can set, checked by ``store.survey_rules`` as the API's are; a refused form comes back 422
  with each message by its field and the values kept;
- ``/app/surveys/preview`` and ``/app/surveys/{id}/preview``: the real respondent page
  (``web.survey_page_rendering.survey_page``) of the form's values, unsaved, at a phone's
  width, in a chosen language.

Permissions as the API's: reading ``surveys:read``, changing ``surveys:write``. Every change
is audited. Registered before the dashboard, so that ``/app/surveys/new`` is not read as a
survey id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse import i18n
from cxpulse.act import goals
from cxpulse.collect import questions as wording
from cxpulse.report import overview as overview_data
from cxpulse.report.comparison_windows import DEFAULT_COMPARISON, comparison_windows
from cxpulse.store import accounts, rollups, survey_rules, surveys
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import PRESENTATIONS, Survey
from cxpulse.store.survey_options import THANKS_BANDS, CollectOptions, OptionError, parse_options
from cxpulse.web import audit, survey_form, survey_page_rendering
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, page_survey, render, utc_today
from cxpulse.web.routes.page_access import permitted_page, permitted_survey_page
from cxpulse.web.schemas import MAX_SMALL_ID
from cxpulse.web.state import app_state
from cxpulse.web.survey_page_targets import Target

router = APIRouter(include_in_schema=False)

SurveyPath = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
LIST = "/app/surveys"
STATUS_ORDER = {"active": 0, "draft": 1, "closed": 2, "archived": 3}
ACTION_WORDS = {
    "activate": ("Activate", "The survey is active: it takes answers."),
    "close": ("Close", "The survey is closed: it takes no more answers."),
    "reopen": ("Reopen", "The survey is active again."),
    "archive": ("Archive", "The survey is archived: hidden from the lists, its answers kept."),
    "unarchive": ("Take out of the archive", "The survey is out of the archive (closed)."),
}
NOTICES = {
    "saved": "Saved.",
    "created": "The survey was created as a draft: activate it when it is ready.",
    "copied": "The copy was made as a draft.",
    **{action: words[1] for action, words in ACTION_WORDS.items()},
}


def _problem(request: Request, problem: PageProblem, back: str = LIST) -> HTMLResponse:
    return page_forms.form_problem(request, problem, back)


def _notice(request: Request) -> str | None:
    return next((text for key, text in NOTICES.items() if key in request.query_params), None)


# --------------------------------------------------------------------------- the list


def _rows(request: Request, session: Session, caller: Principal, shown: list[Survey]) -> list[Any]:
    """Each survey with its card of the overview (same counts, same scores) and last answer."""
    cards: dict[int, overview_data.SurveyCard] = {}
    if Permission.METRICS_READ in caller.permissions and shown:
        overview = overview_data.load_overview(
            session,
            caller.organisation_id,
            shown,
            DEFAULT_COMPARISON,
            today=utc_today(),
            min_n=app_state(request).settings.min_n,
            cache=overview_data.MONTHS,
        )
        cards = {card.survey_id: card for card in overview.cards}
    rows = []
    for survey in sorted(shown, key=lambda s: (STATUS_ORDER[s.status], s.name.casefold(), s.id)):
        card = cards.get(survey.id)
        last = card.last_answer if card is not None else None
        if last is None:
            last = rollups.latest_day(session, caller.organisation_id, survey.id)
        actions = [
            (action, words[0])
            for action, words in ACTION_WORDS.items()
            if survey.status in survey_rules.STATUS_ACTIONS[action][0]
        ]
        rows.append({"survey": survey, "card": card, "last": last, "actions": actions})
    return rows


@router.get("/app/surveys", response_class=HTMLResponse)
def surveys_list(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return permitted_page(request, session, caller, Permission.SURVEYS_READ, _list_page)


def _list_page(request: Request, session: Session, caller: Principal) -> HTMLResponse:
    archived = request.query_params.get("archived") == "1"
    org = caller.organisation_id
    shown = surveys.list_surveys(session, org, include_archived=archived)
    hidden = 0 if archived else len(surveys.list_surveys(session, org, status="archived"))
    context = {
        "rows": _rows(request, session, caller, shown),
        "archived": archived,
        "hidden": hidden,
        "period": comparison_windows(DEFAULT_COMPARISON, utc_today()).label,
        "can_edit": Permission.SURVEYS_WRITE in caller.permissions,
        "notice": _notice(request),
    }
    return render(request, "app/surveys/list.html", context)


@router.post("/app/surveys/{survey_id}/status")
async def change_status_form(
    request: Request, survey_id: SurveyPath, session: DbSession
) -> Response:
    try:
        caller, form = await page_forms.form_caller(request, session, Permission.SURVEYS_WRITE)
        action = str(form.get("action") or "")
        survey, before = surveys.change_status(session, caller.organisation_id, survey_id, action)
    except PageProblem as problem:
        return _problem(request, problem)
    except NotFound:
        return _problem(request, _missing())
    except Invalid as error:
        session.rollback()
        return _problem(request, PageProblem(409, "Not changed", error.message))
    audit.record(
        session, caller, action, "survey", survey.id, {"from": before, "to": survey.status}
    )
    session.commit()
    back = LIST + ("?archived=1&" if survey.status == "archived" else "?")
    return RedirectResponse(f"{back}{action}=1", status_code=303)


@router.post("/app/surveys/{survey_id}/duplicate")
async def duplicate_form(request: Request, survey_id: SurveyPath, session: DbSession) -> Response:
    try:
        caller, _ = await page_forms.form_caller(request, session, Permission.SURVEYS_WRITE)
        copied = surveys.duplicate_survey(session, caller.organisation_id, survey_id)
    except PageProblem as problem:
        return _problem(request, problem)
    except NotFound:
        return _problem(request, _missing())
    audit.record(
        session, caller, "duplicate", "survey", copied.id, {"from": survey_id, "slug": copied.slug}
    )
    session.commit()
    return RedirectResponse(f"/app/surveys/{copied.id}/edit?copied=1", status_code=303)


def _missing() -> PageProblem:
    return PageProblem(404, "Not found", "There is no such survey in your organisation.")


# --------------------------------------------------------------------------- the builder


def _languages_with_errors(languages: list[str], errors: dict[str, str]) -> set[str]:
    """The languages whose texts hold a problem: their part of the form opens."""
    found = set()
    for code in languages:
        names = {f"question_{code}", f"comment_prompt_{code}", f"reasons_{code}"}
        names |= {f"thanks_{code}_{band}" for band in THANKS_BANDS}
        if names & set(errors):
            found.add(code)
    return found


def _form_page(
    request: Request,
    session: Session,
    caller: Principal,
    survey: Survey | None = None,
    values: dict[str, Any] | None = None,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The builder of ``survey`` (None: a new survey) showing ``values`` (by default the
    survey's own, or a new survey's)."""
    if values is None:
        values = survey_form.form_values(survey)
    organisation = accounts.get_organisation(session, caller.organisation_id)
    base = f"/app/surveys/{survey.id}" if survey is not None else "/app/surveys"
    context = {
        "survey": survey,
        "v": values,
        "errors": errors or {},
        "error_languages": _languages_with_errors(values["languages"], errors or {}),
        "action": f"{base}/edit" if survey is not None else "/app/surveys/new",
        "preview_action": f"{base}/preview",
        "languages": survey_form.language_rows(values, organisation.name),
        "extra_languages": [c for c in values["languages"] if c not in i18n.LANGUAGES],
        "language_names": i18n.LANGUAGE_NAMES,
        "metric_names": survey_form.METRIC_NAMES,
        "presentation_names": survey_form.PRESENTATION_NAMES,
        "presentations": PRESENTATIONS,
        "scale_help": survey_form.scale_help(),
        "band_names": survey_form.BAND_NAMES,
        "bands": THANKS_BANDS,
        "preview_language": values.get("preview_language") or values.get("default_language"),
        "can_edit": Permission.SURVEYS_WRITE in caller.permissions,
        "notice": _notice(request),
    }
    return render(request, "app/surveys/form.html", context, status_code)


@router.get("/app/surveys/new", response_class=HTMLResponse)
def new_survey_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return permitted_page(request, session, caller, Permission.SURVEYS_WRITE, _form_page, back=LIST)


@router.get("/app/surveys/{survey_id}/edit", response_class=HTMLResponse)
def edit_survey_page(
    request: Request, survey_id: SurveyPath, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return permitted_survey_page(
        request, session, caller, survey_id, Permission.SURVEYS_READ, _form_page, back=LIST
    )


def _refused(
    request: Request,
    session: Session,
    caller: Principal,
    survey: Survey | None,
    posted: survey_form.Posted,
    errors: dict[str, str],
) -> HTMLResponse:
    session.rollback()
    shown = {survey_form.form_field(name): message for name, message in errors.items()}
    return _form_page(
        request, session, caller, survey, posted.values, errors=shown, status_code=422
    )


def _all_problems(
    organisation_id: int, posted: survey_form.Posted, fields: dict[str, Any], survey: Survey | None
) -> dict[str, str]:
    """What the form could not read, and what the rules refuse of the rest (the rules
    between fields only when every field could be read)."""
    found = survey_rules.problems(
        organisation_id, fields, survey, between_fields=not posted.problems
    )
    return found | posted.problems


def _save(
    request: Request, session: Session, caller: Principal, form: FormData, survey: Survey | None
) -> Response:
    posted = survey_form.parse(form)
    posted.values["preview_language"] = str(form.get("preview_language") or "")
    if form.get("intent") == "back":  # back from a preview: the form again, nothing saved
        return _form_page(request, session, caller, survey, posted.values)
    org = caller.organisation_id
    errors = _all_problems(org, posted, posted.fields, survey)
    if errors:
        return _refused(request, session, caller, survey, posted, errors)
    try:
        if survey is None:
            saved = surveys.create_survey(session, org, **posted.fields)
            audit.record(session, caller, "create", "survey", saved.id, {"slug": saved.slug})
            where = "created"
        else:
            changes = survey_rules.changed_fields(survey, posted.fields)
            goals.check_survey_metric_change(session, org, survey.id, changes.get("metric"))
            saved = surveys.update_survey(session, org, survey.id, **changes)
            audit.record(session, caller, "update", "survey", saved.id, {"fields": sorted(changes)})
            where = "saved"
    except (Invalid, Conflict) as error:
        return _refused(request, session, caller, survey, posted, {error.field: error.message})
    session.commit()
    return RedirectResponse(f"/app/surveys/{saved.id}/edit?{where}=1", status_code=303)


BuilderForm = Callable[[Request, Session, Principal, FormData, Survey | None], Response]
"""What a form of the builder does (save or preview) with the form and its survey."""


async def _builder_form(
    request: Request,
    session: Session,
    survey_id: int | None,
    permission: Permission,
    handle: BuilderForm,
) -> Response:
    """``handle`` of a builder's form of survey ``survey_id`` (None: a new survey) posted by
    a caller with ``permission``; a refusal is a page that links back to the builder."""
    back = f"/app/surveys/{survey_id}/edit" if survey_id is not None else "/app/surveys/new"
    try:
        caller, form = await page_forms.form_caller(request, session, permission)
        survey = page_survey(session, caller, survey_id) if survey_id is not None else None
    except PageProblem as problem:
        return _problem(request, problem, back)
    return handle(request, session, caller, form, survey)


@router.post("/app/surveys/new")
async def create_survey_form(request: Request, session: DbSession) -> Response:
    return await _builder_form(request, session, None, Permission.SURVEYS_WRITE, _save)


@router.post("/app/surveys/{survey_id}/edit")
async def update_survey_form(
    request: Request, survey_id: SurveyPath, session: DbSession
) -> Response:
    return await _builder_form(request, session, survey_id, Permission.SURVEYS_WRITE, _save)


# --------------------------------------------------------------------------- the preview


def _preview_options(survey: Survey) -> CollectOptions:
    try:
        return parse_options(survey.collect_options)
    except OptionError:
        return CollectOptions()


def _preview(
    request: Request, session: Session, caller: Principal, form: FormData, survey: Survey | None
) -> Response:
    """The respondent's page of the form's values; nothing is stored."""
    posted = survey_form.parse(form)
    org = caller.organisation_id
    # A preview needs no name or slug yet: the wording is what is being tried.
    fields = dict(posted.fields)
    if not fields.get("slug"):
        fields.pop("slug")
    if not fields.get("name"):
        fields.pop("name")
    errors = _all_problems(org, posted, fields, survey)
    if errors:
        return _refused(request, session, caller, survey, posted, errors)
    transient = survey_rules.transient_survey(org, fields, survey)
    if transient.id is None:
        transient.id = 0  # the page's form token names a survey; this one has none yet
    organisation = accounts.get_organisation(session, org)
    target = Target(organisation.name, transient, _preview_options(transient))
    chosen = str(form.get("preview_language") or transient.default_language)
    language = i18n.normalise(chosen) or i18n.DEFAULT_LANGUAGE
    page = survey_page_rendering.survey_page(
        request,
        target,
        language,
        action="#preview",
        selected=None,
        one_click=False,
        switch_languages=False,
    )
    session.rollback()  # nothing of a preview is ever written
    source = transient.default_language
    thanks = [
        (
            survey_form.BAND_NAMES[band],
            wording.thanks_in(
                target.options.thanks, band, language, organisation.name, source_language=source
            ),
        )
        for band in THANKS_BANDS
    ]
    hidden = [
        (key, value)
        for key, value in form.multi_items()
        if key not in ("csrf_token", "preview_language", "intent") and isinstance(value, str)
    ]
    base = f"/app/surveys/{survey.id}" if survey is not None else "/app/surveys"
    context = {
        "survey": survey,
        "name": transient.name,
        "page_html": bytes(page.body).decode("utf-8"),
        "language": language,
        "languages": [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES],
        "hidden": hidden,
        "thanks": thanks,
        "review_url": target.options.review_url,
        "referral_url": target.options.referral_url,
        "preview_action": f"{base}/preview",
        "back_action": f"{base}/edit" if survey is not None else "/app/surveys/new",
    }
    return render(request, "app/surveys/preview.html", context)


@router.post("/app/surveys/preview")
async def preview_new_form(request: Request, session: DbSession) -> Response:
    return await _builder_form(request, session, None, Permission.SURVEYS_READ, _preview)


@router.post("/app/surveys/{survey_id}/preview")
async def preview_form(request: Request, survey_id: SurveyPath, session: DbSession) -> Response:
    return await _builder_form(request, session, survey_id, Permission.SURVEYS_READ, _preview)
