"""The settings hub, ``/app/settings``, plain HTML that works without JavaScript:

- the organisation's settings (name, default language, industry, throttle, comment
  redaction, the emails' sender name and reply-to, the accent colour with its contrast, the
  logo), a form for owners and admins (``users:manage``, as ``PATCH /api/v1/organisation``)
  and read-only values for everyone else;
- "send a test email": one branded email sent now, through the configured SMTP server, to
  the signed-in user, with the server's answer (or why there was none) shown on the page;
- links to the other settings pages (team, profile, sessions, API keys, audit log,
  webhooks, imports).

The rules are ``collect.organisation_changes``', shared with the API. The form is multipart
(it carries the logo): this router is registered without the app's body limit, so its post
sets its own (``MAX_FORM_BYTES``); a logo over 200 kB but within it is refused by its field.
The branding's public files (``/brand/...``) are ``brand_assets``' routes, included here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from cxpulse import i18n
from cxpulse.collect import sample_email
from cxpulse.collect.organisation_changes import InvalidSettings, change_settings
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import accounts, backups, logo_images
from cxpulse.store import organisation_checks as checks
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Organisation
from cxpulse.store.organisation_settings import SettingsChange, logo_version
from cxpulse.store.types import utc_now
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import brand_assets, page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem
from cxpulse.web.routes.dashboard import render as render_page
from cxpulse.web.state import app_state

router = APIRouter(include_in_schema=False)
router.include_router(brand_assets.router)

PAGE = "/app/settings"
EDIT = Permission.USERS_MANAGE
"""Who may change the settings: the API's permission (``PATCH /api/v1/organisation``)."""
MAX_FORM_BYTES = 5_000_000
"""The settings form with its logo: room for a photo sent by mistake, refused by its field."""
ENTITY = "organisation"
TEXT_FIELDS = ("name", "default_language", "industry", "sender_name", "reply_to", "accent_colour")
LINKS = (
    ("/app/team", "Team", "Who works in cxpulse, their roles, invitations."),
    ("/app/account", "Your profile", "Your name, email address and password."),
    ("/app/sessions", "Sessions", "Where you are logged in; end the ones you do not know."),
    ("/app/keys", "API keys", "Keys for the REST API and your own systems."),
    ("/app/audit", "Audit log", "Who changed what, and when."),
    ("/app/webhooks", "Webhooks", "Events posted to your systems, Slack or Teams."),
    ("/app/imports", "Imports", "Files of past answers, and undoing an import."),
)


def _typed_from(organisation: Organisation) -> dict[str, Any]:
    return {
        "name": organisation.name,
        "default_language": organisation.default_language,
        "industry": organisation.industry or "",
        "throttle_days": str(organisation.throttle_days),
        "redact_comments": organisation.redact_comments,
        "sender_name": organisation.sender_name or "",
        "reply_to": organisation.reply_to or "",
        "accent_colour": organisation.accent_colour or "",
    }


def _typed_from_form(form: FormData) -> dict[str, Any]:
    typed: dict[str, Any] = {
        name: value for name, value in form.multi_items() if isinstance(value, str)
    }
    typed["redact_comments"] = form.get("redact_comments") == "on"
    return typed


def _contrast(colour: str) -> checks.Contrast | None:
    try:
        checked = checks.accent_colour(colour)
    except Invalid:
        return None
    return checks.contrast(checked) if checked else None


def _page(
    request: Request,
    session: Session,
    caller: Principal,
    *,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    outcome: sample_email.SendOutcome | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    organisation = accounts.get_organisation(session, caller.organisation_id)
    typed = _typed_from_form(form) if form is not None else _typed_from(organisation)
    logo_url = None
    logo_size = None
    if organisation.logo and organisation.logo_type in logo_images.TYPES:
        logo_url = f"/brand/{organisation.slug}/logo?v={logo_version(organisation.logo)}"
        size = logo_images.dimensions(organisation.logo, organisation.logo_type)
        logo_size = f"{size[0]} x {size[1]} pixels, " if size else ""
        logo_size += f"{len(organisation.logo) // 1000 or 1} kB"
    context = {
        "organisation": organisation,
        "can_edit": EDIT in caller.permissions,
        "typed": typed,
        "errors": errors or {},
        "notice": notice or _notice(request),
        "outcome": outcome,
        "languages": [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES],
        "language_name": i18n.LANGUAGE_NAMES.get(organisation.default_language, ""),
        "industries": checks.industries(),
        "contrast": _contrast(str(typed.get("accent_colour", ""))),
        "min_contrast": checks.MIN_CONTRAST,
        "default_accent": checks.DEFAULT_ACCENT,
        "logo_url": logo_url,
        "logo_size": logo_size,
        "logo_limits": {
            "kb": logo_images.MAX_LOGO_BYTES // 1000,
            "width": logo_images.MAX_WIDTH,
            "height": logo_images.MAX_HEIGHT,
        },
        "links": LINKS,
        "backup": _backup_line(request) if EDIT in caller.permissions else None,
    }
    return render_page(request, "app/settings/index.html", context, status_code)


def _backup_line(request: Request) -> str:
    """How old the installation's newest backup is, in words: a backup nobody watches is
    one nobody notices stopping."""
    settings = app_state(request).settings
    age = backups.newest_backup_age(backups.backup_folder(settings), utc_now())
    every = settings.backup_every_hours
    schedule = (
        f"The worker takes one every {every:g} hours."
        if every
        else "No backups are scheduled (CXPULSE_BACKUP_EVERY_HOURS); take one with cxpulse backup."
    )
    if age is None:
        return f"No backup yet. {schedule}"
    hours = age.total_seconds() / 3600
    told = f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"
    return f"The newest backup is {told} old. {schedule}"


def _notice(request: Request) -> str | None:
    if "saved" in request.query_params:
        return "Saved."
    return None


@router.get(PAGE, response_class=HTMLResponse)
def settings_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return _page(request, session, caller)


async def _logo(form: FormData) -> bytes | None:
    """The uploaded logo's bytes; None when no file was chosen."""
    upload = form.get("logo")
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read()
    if not data and not upload.filename:
        return None  # the empty part a browser sends when no file was chosen
    return data


def _throttle(value: object) -> object:
    """A whole number as int; anything else as sent, for the rule to refuse in its words."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
        return int(value.strip())
    return value if value is not None else ""


@router.post(PAGE, max_body_size=MAX_FORM_BYTES)
async def save_settings(request: Request, session: DbSession) -> Response:
    try:
        return await _save(request, session)
    finally:
        await request.close()  # the uploaded logo's temporary file


async def _save(request: Request, session: Session) -> Response:
    try:
        caller, form = await page_forms.form_caller(request, session, EDIT)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, PAGE)
    texts = {
        name: value if isinstance(value := form.get(name), str) else "" for name in TEXT_FIELDS
    }
    logo = await _logo(form)
    change = SettingsChange(
        **texts,
        redact_comments=form.get("redact_comments") == "on",
        logo=logo,
        remove_logo=form.get("remove_logo") == "on",
    )
    try:
        details = change_settings(
            session,
            caller.organisation_id,
            change,
            throttle_days=_throttle(form.get("throttle_days")),
        )
    except InvalidSettings as refused:
        session.rollback()
        return _page(request, session, caller, form=form, errors=refused.problems, status_code=422)
    if details:
        audit.record(session, caller, "update", ENTITY, caller.organisation_id, details)
        session.commit()
    return RedirectResponse(f"{PAGE}?saved=1", status_code=303)


@router.post(f"{PAGE}/test-email", max_body_size=100_000)
async def send_test_email(request: Request, session: DbSession) -> Response:
    try:
        caller, _ = await page_forms.form_caller(request, session, EDIT)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, PAGE)
    finally:
        await request.close()
    assert caller.user_id is not None  # a page's caller is a signed-in person
    user = accounts.get_user(session, caller.organisation_id, caller.user_id)
    organisation = accounts.get_organisation(session, caller.organisation_id)
    smtp = SmtpSettings.from_settings(app_state(request).settings)
    composed = sample_email.compose_sample(organisation, user.email, smtp)
    outcome = await run_in_threadpool(sample_email.send_now, composed, smtp)
    audit.record(
        session,
        caller,
        "test_email",
        ENTITY,
        caller.organisation_id,
        {"to": user.email, "accepted": outcome.accepted, "code": outcome.code},
    )
    session.commit()
    return _page(request, session, caller, outcome=outcome)
