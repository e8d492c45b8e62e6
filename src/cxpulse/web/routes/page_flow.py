"""The steps every signed-in page and page form takes around its own work, written once:

- ``guarded_page``: check the caller's permissions and build the page; a refusal the work
  raises (``PageProblem``) becomes its problem page, and a row the store does not find
  (``NotFound``) the page's own "not found" problem;
- ``run_form``: check a posted form (``page_forms.form_caller``), make its change and
  commit, then redirect (303); a refused change is rolled back and answered by the page
  again, with the messages (422);
- ``ItemPages``: both, for the pages of one kind of stored thing (a list at ``/app/cases``,
  one at ``/app/cases/{id}`` with its forms), which share a permission to read, one to
  write and the "not found" problem.

The pages' forms are plain HTML, so that they work without JavaScript: what differs between
them is the change and the page, which the callers pass in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.web.access import Principal
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageProblem, check_allowed, problem_page

__all__ = ["Change", "ItemPages", "Refused", "guarded_page", "run_form", "typed_values"]

Page = TypeVar("Page", bound=Response)
Change = Callable[[Principal, FormData], str]
"""A form's change: made with the session of the request, it returns where to go next."""
Refused = Callable[[Principal, FormData, Invalid | Conflict], HTMLResponse]
"""The page again, showing why the store refused a form's change."""


def typed_values(form: FormData) -> dict[str, str]:
    """What was typed into a form, to show again beside the messages when it is refused."""
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


def guarded_page(
    request: Request,
    caller: Principal,
    needs: Permission | Sequence[Permission],
    build: Callable[[], Page],
    *,
    back: str | None = None,
    missing: PageProblem | None = None,
    missing_back: str | None = None,
) -> Page | HTMLResponse:
    """``build()``'s page when ``caller`` holds every permission ``needs``; otherwise, or when
    ``build`` raises ``PageProblem``, the problem's page with a link ``back``. ``NotFound``
    from ``build`` is the page of ``missing`` with a link ``missing_back`` (or ``back``);
    without ``missing`` it is not caught."""
    try:
        for permission in (needs,) if isinstance(needs, Permission) else needs:
            check_allowed(caller, permission)
        return build()
    except PageProblem as problem:
        return problem_page(request, problem, back=back)
    except NotFound:
        if missing is None:
            raise
        return problem_page(request, missing, back=missing_back or back)


async def run_form(
    request: Request,
    session: Session,
    permission: Permission,
    change: Change,
    *,
    back: str,
    refused: Refused | None = None,
    refusals: tuple[type[Invalid | Conflict], ...] = (Invalid,),
    missing: PageProblem | None = None,
    missing_back: str | None = None,
) -> Response:
    """Post a page's form: ``change`` it and commit, then go where ``change`` says (303).

    A form refused before the change (another site, a bad CSRF token, a missing
    ``permission``, an ended session) is its problem page with a link ``back``. A change
    the store refuses with one of ``refusals`` is rolled back and answered by ``refused``;
    ``NotFound`` is rolled back and answered by the page of ``missing`` with a link
    ``missing_back`` (or ``back``). Without ``refused`` or ``missing`` those errors are not
    caught."""
    caught = refusals if refused is not None else ()
    try:
        caller, form = await page_forms.form_caller(request, session, permission)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, back)
    try:
        target = change(caller, form)
        session.commit()
    except NotFound:
        if missing is None:
            raise
        session.rollback()
        return page_forms.form_problem(request, missing, missing_back or back)
    except caught as error:
        session.rollback()
        assert refused is not None
        return refused(caller, form, error)
    return RedirectResponse(target, status_code=303)


@dataclass(frozen=True)
class ItemPages:
    """The pages of one kind of stored thing, a ``noun``: the list at ``list_url``, one thing
    at ``list_url/{id}``; reading needs ``read``, its forms ``write``. A thing the store does
    not find is the page of ``missing``, with a link to the list."""

    list_url: str
    noun: str
    read: Permission
    write: Permission

    @property
    def missing(self) -> PageProblem:
        return PageProblem(404, "Not found", f"There is no such {self.noun} in your organisation.")

    def page(
        self, request: Request, caller: Principal, build: Callable[[], Page]
    ) -> Page | HTMLResponse:
        """A page that needs ``read`` (the list, say): ``guarded_page``."""
        return guarded_page(request, caller, self.read, build)

    def item_page(
        self, request: Request, caller: Principal, build: Callable[[], Page]
    ) -> Page | HTMLResponse:
        """One thing's page: ``guarded_page``, with ``missing`` when it is not found."""
        return guarded_page(
            request, caller, self.read, build, missing=self.missing, missing_back=self.list_url
        )

    def form_page(
        self, request: Request, caller: Principal, item_id: int, build: Callable[[], Page]
    ) -> Page | HTMLResponse:
        """The page of a form of thing ``item_id`` (its edit form, say): ``guarded_page``
        needing ``write``, a refusal linking back to the thing's page."""
        return guarded_page(
            request,
            caller,
            self.write,
            build,
            back=f"{self.list_url}/{item_id}",
            missing=self.missing,
            missing_back=self.list_url,
        )

    async def item_form(
        self,
        request: Request,
        session: Session,
        item_id: int,
        change: Change,
        refused: Refused | None = None,
        refusals: tuple[type[Invalid | Conflict], ...] = (Invalid,),
    ) -> Response:
        """A form of thing ``item_id``'s page: ``run_form``, linking back to that page, with
        ``missing`` when the thing is not found."""
        return await run_form(
            request,
            session,
            self.write,
            change,
            back=f"{self.list_url}/{item_id}",
            refused=refused,
            refusals=refusals,
            missing=self.missing,
            missing_back=self.list_url,
        )
