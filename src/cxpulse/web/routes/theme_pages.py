"""The signed-in pages of comment themes, plain HTML forms that work without JavaScript:

- ``/app/themes``: the organisation's taxonomy, each theme with its mentions of the last 30
  days, and a form to add a theme;
- ``/app/themes/{id}``: one theme: its name and phrases in each of the eight languages, a
  merge into another theme, and deletion (with a confirmation box that the server checks);
- the discovered themes of a survey are ``discovered_theme_pages``, which shares this
  module's form helpers (``form_caller``, ``form_text``, ``form_problem``).

Reading the taxonomy needs ``surveys:read``; every form needs ``surveys:write`` (analysts and
above) and carries the page's CSRF token as a field (``access.form_principal``), as the goal
forms do. A refused form comes back as its page with status 422 and each message next to its
field, the values typed kept. The rules are ``act.theme_taxonomy``'s, shared with the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.act import theme_taxonomy
from cxpulse.i18n import LANGUAGE_NAMES
from cxpulse.store import _values as values
from cxpulse.store import surveys
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.text_themes import MAX_PHRASE_LENGTH, MAX_PHRASES_PER_LANGUAGE
from cxpulse.text.comments import LANGUAGES
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, render
from cxpulse.web.routes.page_flow import Change, ItemPages, run_form, typed_values
from cxpulse.web.schemas import MAX_SMALL_ID

router = APIRouter(include_in_schema=False)
PAGES = ItemPages("/app/themes", "theme", Permission.SURVEYS_READ, Permission.SURVEYS_WRITE)

ThemeId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
MAX_NAME_LENGTH = 200
LANGUAGE_CHOICES = [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


# -- forms -------------------------------------------------------------------------------------


def form_text(form: FormData, name: str, limit: int = MAX_NAME_LENGTH) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    problem = values.text_problem(text)
    if problem is not None:
        raise Invalid(name, problem)
    if len(text) > limit:
        raise Invalid(name, f"must be at most {limit} characters")
    return text


def phrase_fields(form: FormData) -> dict[str, list[str]]:
    """The phrases of a theme form: one textarea per language, ``phrases_<code>``, one
    phrase per line."""
    phrases: dict[str, list[str]] = {}
    for language in LANGUAGES:
        field = f"phrases.{language}"
        raw = form.get(f"phrases_{language}")
        text = raw if isinstance(raw, str) else ""
        lines = [" ".join(line.split()) for line in text.splitlines()]
        kept = [line for line in lines if line]
        problem = values.text_problem(text)
        if problem is not None:
            raise Invalid(field, problem)
        if len(kept) > MAX_PHRASES_PER_LANGUAGE:
            raise Invalid(field, f"at most {MAX_PHRASES_PER_LANGUAGE} phrases per language")
        too_long = next((line for line in kept if len(line) > MAX_PHRASE_LENGTH), None)
        if too_long is not None:
            raise Invalid(
                field, f"each phrase at most {MAX_PHRASE_LENGTH} characters: {too_long[:40]}…"
            )
        phrases[language] = kept
    return phrases


def _phrase_text(phrases: dict[str, Any]) -> dict[str, str]:
    return {language: "\n".join(phrases.get(language, ())) for language in LANGUAGES}


def _error_field(error: Invalid | Conflict) -> str:
    """The form field a store message belongs to (``phrases.sv`` stays ``phrases.sv``)."""
    return "name" if error.field == "key" else error.field


async def form_caller(request: Request, session: Session) -> tuple[Principal, FormData]:
    return await page_forms.form_caller(request, session, Permission.SURVEYS_WRITE)


def form_problem(request: Request, problem: PageProblem, back: str) -> HTMLResponse:
    return page_forms.form_problem(request, problem, back)


# -- the taxonomy ------------------------------------------------------------------------------


def _list_page(
    request: Request,
    session: Session,
    caller: Principal,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = theme_taxonomy.taxonomy(session, caller.organisation_id, include_inactive=True)
    typed = typed or {}
    context = {
        "themes": [item for item in found if item.theme.is_active],
        "merged": [item for item in found if not item.theme.is_active],
        "languages": LANGUAGE_CHOICES,
        "mention_days": theme_taxonomy.MENTION_DAYS,
        "can_edit": Permission.SURVEYS_WRITE in caller.permissions,
        "can_discover": Permission.RESPONSES_READ in caller.permissions,
        "surveys": surveys.list_surveys(session, caller.organisation_id),
        "errors": errors or {},
        "typed": typed,
        "typed_phrases": {language: typed.get(f"phrases_{language}", "") for language in LANGUAGES},
        "notice": _notice(request),
    }
    return render(request, "app/themes.html", context, status_code)


def _notice(request: Request) -> str | None:
    notices = {
        "deleted": "The theme was deleted.",
        "saved": "Saved. Comments are matched again in the background, within a minute or so.",
        "added": "Added. Comments are matched against it in the background, within a minute or so.",
        "merged": "Merged: its mentions were moved here at once.",
    }
    for name, text in notices.items():
        if name in request.query_params:
            return text
    return None


@router.get("/app/themes", response_class=HTMLResponse)
def themes_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return PAGES.page(request, caller, lambda: _list_page(request, session, caller))


@router.post("/app/themes")
async def create_theme_form(request: Request, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> str:
        theme = theme_taxonomy.create_theme(
            session,
            caller.organisation_id,
            name=form_text(form, "name"),
            phrases=phrase_fields(form),
        )
        audit.record(session, caller, "create", "theme", theme.id, {"key": theme.key})
        return f"/app/themes/{theme.id}?added=1"

    def refused(caller: Principal, form: FormData, error: Invalid | Conflict) -> HTMLResponse:
        errors = {_error_field(error): error.message}
        return _list_page(
            request, session, caller, errors=errors, typed=typed_values(form), status_code=422
        )

    return await run_form(
        request,
        session,
        PAGES.write,
        change,
        back=PAGES.list_url,
        refused=refused,
        refusals=(Invalid, Conflict),
    )


# -- one theme ---------------------------------------------------------------------------------


def _theme_page(
    request: Request,
    session: Session,
    caller: Principal,
    theme_id: int,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = theme_taxonomy.summary(session, caller.organisation_id, theme_id)
    others = [
        item
        for item in theme_taxonomy.taxonomy(session, caller.organisation_id)
        if item.theme.id != theme_id
    ]
    phrases = _phrase_text(found.theme.phrases or {})
    if typed:
        phrases = {language: typed.get(f"phrases_{language}", "") for language in LANGUAGES}
    context = {
        "item": found,
        "theme": found.theme,
        "others": others,
        "languages": LANGUAGE_CHOICES,
        "mention_days": theme_taxonomy.MENTION_DAYS,
        "can_edit": Permission.SURVEYS_WRITE in caller.permissions,
        "errors": errors or {},
        "typed": typed or {},
        "name": (typed or {}).get("name", found.theme.name),
        "typed_phrases": phrases,
        "notice": _notice(request),
    }
    return render(request, "app/themes/theme.html", context, status_code)


@router.get("/app/themes/{theme_id}", response_class=HTMLResponse)
def theme_page(
    theme_id: ThemeId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return PAGES.item_page(request, caller, lambda: _theme_page(request, session, caller, theme_id))


async def _theme_form(
    request: Request, session: Session, theme_id: int, change: Change
) -> Response:
    """Post a form of theme ``theme_id``'s page; a change the store refuses shows the page
    again, with the message by the field it names."""

    def by_field(caller: Principal, form: FormData, error: Invalid | Conflict) -> HTMLResponse:
        errors = {error.field: error.message}
        return _theme_page(request, session, caller, theme_id, errors=errors, status_code=422)

    return await PAGES.item_form(request, session, theme_id, change, by_field)


@router.post("/app/themes/{theme_id}")
async def update_theme_form(request: Request, theme_id: ThemeId, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> str:
        theme_taxonomy.update_theme(
            session,
            caller.organisation_id,
            theme_id,
            name=form_text(form, "name"),
            phrases=phrase_fields(form),
        )
        audit.record(session, caller, "update", "theme", theme_id, {"fields": ["name", "phrases"]})
        return f"/app/themes/{theme_id}?saved=1"

    def refused(caller: Principal, form: FormData, error: Invalid | Conflict) -> HTMLResponse:
        return _theme_page(
            request,
            session,
            caller,
            theme_id,
            errors={_error_field(error): error.message},
            typed=typed_values(form),
            status_code=422,
        )

    return await PAGES.item_form(request, session, theme_id, change, refused, (Invalid, Conflict))


@router.post("/app/themes/{theme_id}/merge")
async def merge_theme_form(request: Request, theme_id: ThemeId, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> str:
        into_text = form_text(form, "into", 20)
        if not (into_text.isascii() and into_text.isdecimal()):
            raise Invalid("into", "choose the theme to merge into")
        into = int(into_text)
        if not 1 <= into <= MAX_SMALL_ID:
            raise Invalid("into", "no such theme")
        target = theme_taxonomy.merge_theme(session, caller.organisation_id, theme_id, into)
        audit.record(session, caller, "merge", "theme", theme_id, {"into": target.id})
        return f"/app/themes/{target.id}?merged=1"

    return await _theme_form(request, session, theme_id, change)


@router.post("/app/themes/{theme_id}/delete")
async def delete_theme_form(request: Request, theme_id: ThemeId, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> str:
        if form.get("confirm") != "yes":
            theme_taxonomy.summary(session, caller.organisation_id, theme_id)  # 404 first
            raise Invalid("confirm", "tick the box to confirm the deletion")
        theme_taxonomy.delete_theme(session, caller.organisation_id, theme_id)
        audit.record(session, caller, "delete", "theme", theme_id)
        return "/app/themes?deleted=1"

    return await _theme_form(request, session, theme_id, change)
