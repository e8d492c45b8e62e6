"""The phone drawings of a survey dashboard's charts, as SVG images.

A survey's page inlines each chart drawn for desktops and links its phone drawing
(``charts.NARROW_WIDTH``, whose 13 px text stays about 13 px on a 390 px screen) as an
``<img loading="lazy">`` in a box that only a narrow screen shows. A desktop browser never
fetches it, so a view nobody has seen before costs one drawing per chart instead of two; a
phone without JavaScript fetches it from here.

``GET /app/surveys/{id}/charts/{trend|distribution}.svg?<the view's query>&width=narrow``
answers the chart of exactly the view the page shows: the same caller, permission
(``metrics:read``), survey and filters as the page (``dashboard_views``), the same
numbers (``dashboard_data.load_view``) and the same cached chart (``dashboard_charts``), so a
page and its image agree. ``width=wide`` gives the desktop drawing (the page's own inline SVG
as a file). Problems answer the dashboard's problem page with its status (403, 404), which
an ``<img>`` shows as its ``alt`` text.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from cxpulse.report import charts
from cxpulse.report import dashboard as dashboard_data
from cxpulse.report import filters_url as urls
from cxpulse.store.errors import Invalid
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import SurveyId
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, problem_page
from cxpulse.web.routes.dashboard_charts import ChartName, survey_charts
from cxpulse.web.routes.dashboard_views import permitted_view
from cxpulse.web.security_headers import NO_CONTENT_CSP

router = APIRouter(include_in_schema=False)

SVG_HEADERS = {
    # A signed-in user's numbers: never stored by the browser, like the page that shows them
    # (a shared computer keeps nothing); the server's chart cache makes a repeat cheap.
    "Cache-Control": "no-store",
    # Opened on its own, the drawing may load and run nothing (it has no script anyway).
    "Content-Security-Policy": NO_CONTENT_CSP,
}


@router.get("/app/surveys/{survey_id}/charts/{name}.svg", response_model=None)
def chart_image(
    survey_id: SurveyId,
    name: ChartName,
    request: Request,
    caller: PageCaller,
    session: DbSession,
    width: Literal["narrow", "wide"] = Query("narrow"),
) -> Response | HTMLResponse:
    try:
        organisation, survey, parsed = permitted_view(
            request, session, caller, survey_id, Permission.METRICS_READ
        )
    except PageProblem as problem:
        return problem_page(request, problem)
    try:
        view = dashboard_data.load_view(session, organisation, survey, parsed.view)
    except Invalid:
        # As the page: a view longer than allowed shows the default view.
        view = dashboard_data.load_view(session, organisation, survey, urls.ViewFilters())
    chart = survey_charts(view)[name]
    svg = charts.narrow_svg(chart.source) if width == "narrow" else str(chart.svg)
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)
