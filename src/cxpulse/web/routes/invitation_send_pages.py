"""Sending a survey from the browser, in steps that each work without JavaScript:

1. ``GET /app/invitations/new`` (``?survey=ID``, ``?contact=ID`` to preselect): the form;
2. ``POST /app/invitations/new`` with ``step=review``: the recipients checked (every bad CSV
   row by its line, nothing queued), how many, when, and a preview of the email in each
   language they need; ``step=test`` sends that email to the signed-in user now;
   ``step=send`` makes the invitations with ``collect.invitation_batches.send_batch`` (the
   REST API's stage functions; once per form key) and answers 303 to
3. ``GET /app/invitations/sent``: what the form made: queued, throttled, unsubscribed, why.

``GET /app/invitations/preview?survey=ID&language=xx`` is the email's HTML as a document of
its own (inline style, no script, nothing fetched: the monthly report's headers), since no
cxpulse page may be framed. The form's body is limited here (``SEND_BODY_BYTES``): the
router is registered without a limit so that a file can arrive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.collect import invitation_batches as batches
from cxpulse.collect import invitation_csv, invitation_previews
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import accounts, invitation_audience, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Survey
from cxpulse.store.types import utc_now
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.form_values import MAX_SMALL_ID, over_length, parse_id
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, check_allowed, problem_page
from cxpulse.web.routes.dashboard import render as render_page
from cxpulse.web.routes.invitation_send_forms import (
    AUDIENCES,
    Draft,
    find_contact,
    line_of,
    organisation_zone,
    read_draft,
    typed_values,
    uploaded_bytes,
)
from cxpulse.web.routes.invitations import audit_made
from cxpulse.web.routes.upload_gate import caller_before_body
from cxpulse.web.security_headers import REPORT_HEADERS
from cxpulse.web.state import app_state

router = APIRouter(include_in_schema=False)

SEND_BODY_BYTES = 4 * invitation_csv.MAX_CSV_BYTES
"""The file, or its text carried by the review form (line ends may double on the way), and
the other fields."""
PART_BYTES = 3 * invitation_csv.MAX_CSV_BYTES
BACK = "/app/invitations"


def _smtp(request: Request) -> SmtpSettings:
    return SmtpSettings.from_settings(app_state(request).settings)


def _form_context(
    session: Session, caller: Principal, draft: Draft, notice: str | None = None
) -> dict[str, Any]:
    every = surveys.list_surveys(session, caller.organisation_id)
    return {
        "v": draft.values,
        "errors": draft.errors,
        "row_errors": draft.row_errors,
        "more_row_errors": draft.more_row_errors,
        "active": [s for s in every if s.status == "active"],
        "inactive": [s for s in every if s.status != "active"],
        "audiences": AUDIENCES,
        "languages": [(code, i18n.LANGUAGE_NAMES.get(code, code)) for code in i18n.LANGUAGES],
        "attributes": invitation_audience.attribute_names(session, caller.organisation_id),
        "timezone": draft.timezone,
        "notice": notice,
        "max_mb": invitation_csv.MAX_CSV_BYTES // 1_000_000,
        "max_recipients": invitation_csv.MAX_RECIPIENTS,
    }


@router.get("/app/invitations/new", response_class=HTMLResponse)
def new_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.CONTACTS_WRITE)
    except PageProblem as problem:
        return problem_page(request, problem, back=BACK)
    params = request.query_params
    now = utc_now()
    values = {"form_key": batches.new_form_key(now), "audience": "csv", "when": "now"}
    survey_id = parse_id(params.get("survey"), MAX_SMALL_ID)
    if survey_id is not None:
        values["survey"] = str(survey_id)
    contact_id = parse_id(params.get("contact"))
    if contact_id is not None:
        contact = find_contact(session, caller.organisation_id, str(contact_id))
        if contact is not None and contact.email:
            values["audience"], values["contact"] = "contact", contact.email
    draft = Draft(values=values)
    draft.timezone, _ = organisation_zone(session, caller.organisation_id)
    return render_page(request, "app/invitations/new.html", _form_context(session, caller, draft))


def _too_large(request: Request) -> bool:
    return over_length(request.headers.get("content-length"), SEND_BODY_BYTES)


@router.post("/app/invitations/new", max_body_size=SEND_BODY_BYTES)
async def send_form(request: Request, session: DbSession) -> Response:
    if _too_large(request):
        problem = PageProblem(413, "Too large", "The file is too large to send from here.")
        return page_forms.form_problem(request, problem, "/app/invitations/new")
    try:  # from the headers, before the body (a CSV file) is read; the token after it
        caller_before_body(request, session, (Permission.CONTACTS_WRITE,))
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, "/app/invitations/new")
    # Parsed here with room for the carried CSV text; form_caller reuses the parse.
    parsed = await request.form(max_part_size=PART_BYTES)
    try:
        return await _steps(request, session)
    finally:
        await parsed.close()  # the uploaded file's spool


async def _steps(request: Request, session: Session) -> Response:
    try:
        caller, form = await page_forms.form_caller(request, session, Permission.CONTACTS_WRITE)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, "/app/invitations/new")
    step = "test" if form.get("test") else str(form.get("step") or "review")
    now = utc_now()
    if step == "send" and (done := _sent_before(session, caller, typed_values(form), now)):
        return done
    upload = await uploaded_bytes(form)
    draft = read_draft(session, caller.organisation_id, typed_values(form), upload, now=now)
    if not draft.ok or draft.survey is None:
        if "form_key" in draft.errors:
            draft.values["form_key"] = batches.new_form_key(now)
        status = 413 if upload and len(upload) > invitation_csv.MAX_CSV_BYTES else 422
        context = _form_context(session, caller, draft)
        return render_page(request, "app/invitations/new.html", context, status)
    survey = draft.survey
    if step == "edit":
        context = _form_context(session, caller, draft)
        return render_page(request, "app/invitations/new.html", context)
    if step == "send":
        return _send(request, session, caller, draft, survey)
    notice: dict[str, str] | None = None
    if step == "test":
        notice = await _test(request, session, caller, draft, survey, str(form.get("test") or ""))
    return _review(request, session, caller, draft, survey, notice)


def _sent_before(
    session: Session, caller: Principal, values: dict[str, str], now: datetime
) -> RedirectResponse | None:
    """The result page of this form when it was sent already (a reload, a double click):
    checked before the recipients, which a filter may choose differently by now."""
    survey, key = parse_id(values.get("survey"), MAX_SMALL_ID), values.get("form_key", "")
    if survey is None:
        return None
    try:
        earlier = batches.outcome_of(session, caller.organisation_id, survey, key, now)
    except Invalid:
        return None
    if earlier is None:
        return None
    return RedirectResponse(f"/app/invitations/sent?survey={survey}&key={key}", status_code=303)


def _review(
    request: Request,
    session: Session,
    caller: Principal,
    draft: Draft,
    survey: Survey,
    notice: dict[str, str] | None,
) -> HTMLResponse:
    organisation = accounts.get_organisation(session, caller.organisation_id)
    links, smtp = app_state(request).links, _smtp(request)
    previews = [
        invitation_previews.preview(survey, organisation, code, links=links, settings=smtp)
        for code in draft.languages
    ]
    user = accounts.get_user(session, caller.organisation_id, caller.user_id or 0)
    context = {
        **_form_context(session, caller, draft),
        "draft": draft,
        "survey": survey,
        "previews": previews,
        "me": user.email,
        "test_notice": notice,
    }
    return render_page(request, "app/invitations/review.html", context)


async def _test(
    request: Request,
    session: Session,
    caller: Principal,
    draft: Draft,
    survey: Survey,
    language: str,
) -> dict[str, str]:
    code = language if language in draft.languages else draft.languages[0]
    organisation = accounts.get_organisation(session, caller.organisation_id)
    user = accounts.get_user(session, caller.organisation_id, caller.user_id or 0)
    links, smtp = app_state(request).links, _smtp(request)
    name = i18n.LANGUAGE_NAMES.get(code, code)

    def send() -> None:
        invitation_previews.send_test(
            survey,
            organisation,
            code,
            to_email=user.email,
            to_name=user.name,
            links=links,
            settings=smtp,
        )

    try:
        await run_in_threadpool(send)
    except invitation_previews.SampleNotSent as error:
        return {"kind": "error", "text": f"The test email in {name} was not sent: {error}."}
    audit.record(
        session, caller, "test", "invitation", None, {"survey_id": survey.id, "language": code}
    )
    session.commit()
    return {
        "kind": "notice",
        "text": f"A test email in {name} was sent to {user.email} now: the mail server took it.",
    }


def _send(
    request: Request, session: Session, caller: Principal, draft: Draft, survey: Survey
) -> Response:
    key = draft.values["form_key"]
    try:
        outcome = batches.send_batch(
            session, caller.organisation_id, survey.id, draft.requests, key, now=utc_now()
        )
    except Invalid as refused:
        session.rollback()
        where = line_of(draft, refused.index)
        draft.errors["recipients"] = (
            f"{where + ': ' if where else ''}{refused.field} {refused.message}. Nothing was queued."
        )
        context = _form_context(session, caller, draft)
        return render_page(request, "app/invitations/new.html", context, 422)
    if not outcome.repeated:
        audit_made(
            session,
            caller,
            "create",
            survey.id,
            outcome.total,
            queued=outcome.queued,
            throttled=outcome.throttled,
            unsubscribed=outcome.unsubscribed,
            audience=draft.values.get("audience"),
            form_key=key,
            source="page",
        )
    session.commit()
    return RedirectResponse(f"/app/invitations/sent?survey={survey.id}&key={key}", status_code=303)


def _named_survey(session: Session, caller: Principal, text: str) -> Survey:
    """The survey a page's ``?survey=`` names; ``NotFound`` when it names none of ours."""
    survey_id = parse_id(text, MAX_SMALL_ID)
    if survey_id is None:
        raise NotFound("survey", text[:40])
    return surveys.get_survey(session, caller.organisation_id, survey_id)


@router.get("/app/invitations/sent", response_class=HTMLResponse)
def sent_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    params = request.query_params
    survey_text, key = params.get("survey", ""), params.get("key", "")[:100]
    try:
        check_allowed(caller, Permission.CONTACTS_READ)
        survey = _named_survey(session, caller, survey_text)
        outcome = batches.outcome_of(session, caller.organisation_id, survey.id, key, utc_now())
    except PageProblem as problem:
        return problem_page(request, problem, back=BACK)
    except (NotFound, Invalid):
        outcome = None
    if outcome is None:
        missing = PageProblem(404, "Not found", "This form sent no invitations.")
        return problem_page(request, missing, back=BACK)
    zone_name, zone = organisation_zone(session, caller.organisation_id)
    context = {
        "survey": survey,
        "outcome": outcome,
        "timezone": zone_name,
        "local": outcome.first_send_at.astimezone(zone) if outcome.first_send_at else None,
    }
    return render_page(request, "app/invitations/sent.html", context)


@router.get("/app/invitations/preview", response_class=HTMLResponse)
def preview_document(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    """``?survey=ID&language=xx``: the email's HTML as a document of its own."""
    params = request.query_params
    survey_text = params.get("survey", "")
    try:
        check_allowed(caller, Permission.CONTACTS_READ)
        survey = _named_survey(session, caller, survey_text)
    except PageProblem as problem:
        return problem_page(request, problem, back=BACK)
    except NotFound:
        missing = PageProblem(404, "Not found", "There is no such survey in your organisation.")
        return problem_page(request, missing, back=BACK)
    code = i18n.normalise(params.get("language")) or survey.default_language
    organisation = accounts.get_organisation(session, caller.organisation_id)
    shown = invitation_previews.preview(
        survey, organisation, code, links=app_state(request).links, settings=_smtp(request)
    )
    # The monthly report's policy: inline style, images as data only, no script, no form.
    return HTMLResponse(shown.html, headers=REPORT_HEADERS)
