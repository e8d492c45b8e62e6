"""The signed-in pages of rules, plain HTML forms that work without JavaScript:

- ``/app/rules``: the organisation's rules in running order, each with what it looks for,
  what it does and how many answers it matched;
- ``/app/rules/new`` and ``/app/rules/{id}``: the rule's form. Its two buttons save the
  rule, or test it on the scope's last 1,000 answers and show the result on the page
  (nothing saved, no action run); ``/app/rules/{id}/delete`` deletes it.

Reading needs ``surveys:read``; saving, testing and deleting need ``rules:write`` (analysts
and above). Forms carry the page's CSRF token (``access.form_principal``) like the other
pages' forms. A refused form comes back with status 422, each message by its field and the
values typed kept. The rules themselves are ``act.rules``', shared with the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.act import rules
from cxpulse.act.rule_conditions import InvalidRule, Problem
from cxpulse.act.rules import TrialResult
from cxpulse.store import rule_matches
from cxpulse.store import rules as store
from cxpulse.store.errors import NotFound
from cxpulse.store.models import CASE_PRIORITIES, Rule
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import (
    PageCaller,
    PageProblem,
    check_allowed,
    problem_page,
    render,
)
from cxpulse.web.rule_forms import (
    BANDS,
    SENTIMENTS,
    Posted,
    documents,
    field_of,
    form_values,
    posted_values,
    summary,
)
from cxpulse.web.schemas import MAX_SMALL_ID

router = APIRouter(include_in_schema=False)

RuleId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
LIST = "/app/rules"


async def _form_caller(request: Request, session: Session) -> tuple[Principal, FormData]:
    return await page_forms.form_caller(request, session, Permission.RULES_WRITE)


def _problem(request: Request, problem: PageProblem, back: str = LIST) -> HTMLResponse:
    return page_forms.form_problem(request, problem, back)


def _missing() -> PageProblem:
    return PageProblem(404, "Not found", "There is no such rule in your organisation.")


@router.get("/app/rules", response_class=HTMLResponse)
def rules_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.SURVEYS_READ)
    except PageProblem as problem:
        return problem_page(request, problem)
    org = caller.organisation_id
    counts = rule_matches.counts_by_rule(session, org)
    surveys = {c.id: c.label for c in store.choices(session, org).surveys}
    items = [
        {
            "rule": rule,
            "scope": surveys.get(rule.survey_id, "") if rule.survey_id else "Every survey",
            "when": summary(rule)[0],
            "then": summary(rule)[1],
            "matched": counts.get(rule.id, 0),
        }
        for rule in rules.list_rules(session, org)
    ]
    notices = {"deleted": "The rule was deleted.", "saved": "Saved."}
    notice = next((text for key, text in notices.items() if key in request.query_params), None)
    context = {
        "items": items,
        "can_edit": Permission.RULES_WRITE in caller.permissions,
        "notice": notice,
    }
    return render(request, "app/rules/list.html", context)


def _form_page(
    request: Request,
    session: Session,
    caller: Principal,
    rule: Rule | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    trial: TrialResult | None = None,
    testing: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "testing": testing,
        "rule": rule,
        "v": values,
        "errors": errors or {},
        "trial": trial,
        "choices": store.choices(session, caller.organisation_id),
        "bands": BANDS,
        "sentiments": SENTIMENTS,
        "priorities": CASE_PRIORITIES,
        "can_edit": Permission.RULES_WRITE in caller.permissions,
        "action": f"/app/rules/{rule.id}" if rule else "/app/rules/new",
        "notice": "Saved." if "saved" in request.query_params else None,
    }
    return render(request, "app/rules/form.html", context, status_code)


def _errors(problems: list[Problem]) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in problems:
        found.setdefault(field_of(problem.field), problem.message)
    return found


@router.get("/app/rules/new", response_class=HTMLResponse)
def new_rule_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.RULES_WRITE)
    except PageProblem as problem:
        return problem_page(request, problem)
    return _form_page(request, session, caller, None, values=form_values(None))


@router.get("/app/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(
    request: Request, rule_id: RuleId, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.SURVEYS_READ)
        rule = rules.get_rule(session, caller.organisation_id, rule_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    except NotFound:
        return problem_page(request, _missing())
    return _form_page(request, session, caller, rule, values=form_values(rule))


def _save_or_test(
    request: Request,
    session: Session,
    caller: Principal,
    form: FormData,
    rule: Rule | None,
) -> Response:
    posted: Posted = documents(form)
    values = posted_values(posted)
    org = caller.organisation_id
    testing = form.get("intent") == "test"
    problems = list(posted.problems)
    trial: TrialResult | None = None
    saved: Rule | None = None
    try:
        # The act stage checks what could be read even when some fields could not, so that
        # every message shows at once.
        if testing:
            trial = rules.try_rule(
                session, org, survey_id=posted.survey_id, conditions=posted.conditions
            )
        else:
            fields: dict[str, Any] = {
                "name": posted.name,
                "survey_id": posted.survey_id,
                "conditions": posted.conditions,
                "actions": posted.actions,
                "enabled": posted.enabled,
            }
            if rule is None:
                saved = rules.create_rule(session, org, **fields)
            else:
                saved = rules.update_rule(session, org, rule.id, **fields)
    except InvalidRule as error:
        problems += error.problems
    if testing:
        # Actions do not matter to a test: only the conditions' problems are shown.
        problems = [p for p in problems if not p.field.startswith("actions")]
    if problems:
        session.rollback()
        return _form_page(
            request,
            session,
            caller,
            rule,
            values=values,
            errors=_errors(problems),
            testing=testing,
            status_code=422,
        )
    if trial is not None:
        return _form_page(request, session, caller, rule, values=values, trial=trial)
    assert saved is not None
    action = "create" if rule is None else "update"
    audit.record(session, caller, action, "rule", saved.id, {"name": saved.name})
    session.commit()
    return RedirectResponse(f"/app/rules/{saved.id}?saved=1", status_code=303)


@router.post("/app/rules/new")
async def create_rule_form(request: Request, session: DbSession) -> Response:
    try:
        caller, form = await _form_caller(request, session)
    except PageProblem as problem:
        return _problem(request, problem, "/app/rules/new")
    return _save_or_test(request, session, caller, form, None)


@router.post("/app/rules/{rule_id}")
async def update_rule_form(request: Request, rule_id: RuleId, session: DbSession) -> Response:
    back = f"/app/rules/{rule_id}"
    try:
        caller, form = await _form_caller(request, session)
        rule = rules.get_rule(session, caller.organisation_id, rule_id)
    except PageProblem as problem:
        return _problem(request, problem, back)
    except NotFound:
        return _problem(request, _missing())
    return _save_or_test(request, session, caller, form, rule)


@router.post("/app/rules/{rule_id}/delete")
async def delete_rule_form(request: Request, rule_id: RuleId, session: DbSession) -> Response:
    try:
        caller, _ = await _form_caller(request, session)
        rules.delete_rule(session, caller.organisation_id, rule_id)
        audit.record(session, caller, "delete", "rule", rule_id)
        session.commit()
    except PageProblem as problem:
        return _problem(request, problem, f"/app/rules/{rule_id}")
    except NotFound:
        return _problem(request, _missing())
    return RedirectResponse(f"{LIST}?deleted=1", status_code=303)
