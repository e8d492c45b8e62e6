"""The FastAPI application: ``create_app()`` builds one, ``cxpulse serve`` runs it.

    from cxpulse.web import create_app
    app = create_app()                   # settings from the environment
    # uvicorn.run(app, host="127.0.0.1", port=8000)

Starting the app migrates the database to the newest schema. An engine passed in is used as
is and left open at shutdown; one created here is disposed of.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from cxpulse import __version__
from cxpulse.config import Settings, get_settings
from cxpulse.store import db
from cxpulse.store.db import create_engine_for, is_sqlite, migrate, session_factory
from cxpulse.store.rate_buckets import SharedBuckets
from cxpulse.web.api_docs import install_api_docs
from cxpulse.web.deps import pool_capacity
from cxpulse.web.errors import install_error_handlers
from cxpulse.web.routes import (
    account_pages,
    alert_pages,
    alerts_api,
    audit_log,
    auth,
    case_pages,
    cases_api,
    chart_images,
    contact_pages,
    contacts,
    dashboard,
    dashboard_exports,
    discovered_theme_pages,
    exports,
    follow_up_pages,
    follow_ups_api,
    goal_pages,
    goals,
    import_pages,
    import_upload,
    inbound_api,
    invitation_pages,
    invitations,
    keys,
    login_pages,
    loop_figures_api,
    metrics,
    open_tracking,
    organisation,
    overview,
    privacy_api,
    referral_codes,
    report_pages,
    response_rates,
    responses,
    rule_pages,
    rules_api,
    sessions,
    settings_pages,
    setup_pages,
    share_pages,
    sms_api,
    survey_builder_pages,
    survey_pages,
    surveys,
    team_pages,
    theme_pages,
    themes_api,
    unsigned_answers,
    unsubscribes,
    users,
    webhook_pages,
    webhooks_api,
    widget,
)
from cxpulse.web.schemas import MAX_BODY_BYTES, Health, Problem
from cxpulse.web.security_headers import FastAPIWithHeaders
from cxpulse.web.state import (
    AppState,
    WebOptions,
    app_state,
    database_turn,
    freeze_startup_objects,
    thaw_startup_objects,
)
from cxpulse.web.tokens import SessionSigner, limiter

STATIC_DIR = Path(__file__).parent / "static"

_charts_warming: threading.Thread | None = None


def _warm_up_charts() -> None:
    """Start the chart renderer's JavaScript engine beside the server, once per process, so
    that the first dashboard visitor does not wait ~0.5 s for it."""
    global _charts_warming
    if _charts_warming is None:

        def warm() -> None:
            from cxpulse.report import charts

            try:
                charts.warm_up()
            except Exception:  # the first chart drawn will try again and report
                logging.getLogger("cxpulse.web").debug("chart warm-up failed", exc_info=True)

        _charts_warming = threading.Thread(target=warm, name="cxpulse-charts-warm-up", daemon=True)
        _charts_warming.start()


DESCRIPTION = """\
The cxpulse REST API: surveys, responses, scores with confidence intervals, contacts and
exports, each scoped to the caller's organisation.

Authenticate with an API key (`Authorization: Bearer cxp_...`) or a browser session
(POST /api/v1/auth/login); see docs/api.md for roles, limits, pagination and errors.
"""


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    options = WebOptions.from_settings(settings)
    owns_engine = engine is None
    if engine is None:
        engine = create_engine_for(
            settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
    # Several processes share one PostgreSQL database, and so their rate limits; SQLite runs
    # one process, which keeps them in memory (docs/deployment.md, "Several processes").
    shared = None if is_sqlite(engine) else SharedBuckets(engine.url)
    state = AppState(
        settings=settings,
        engine=engine,
        owns_engine=owns_engine,
        sessions=session_factory(engine),
        read_sessions=session_factory(engine, read_only=True),
        signer=SessionSigner(
            settings.secret_key,
            options.session_max_age_seconds,
            previous_secret_keys=settings.previous_secret_keys,
        ),
        login_limiter=limiter("login", options.login_burst, options.login_per_minute, shared),
        public_limiter=limiter("public", options.public_burst, options.public_per_minute, shared),
        rate_buckets=shared,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(migrate, state.engine)
        state.write_lock = asyncio.Lock() if is_sqlite(state.engine) else None
        capacity = pool_capacity(state.engine)
        state.connection_slots = asyncio.Semaphore(capacity) if capacity else None
        state.submissions.start()
        # Sends invitation emails from this process unless CXPULSE_INLINE_WORKER=false
        # (when `cxpulse worker` runs apart, or in tests that drive the worker themselves).
        from cxpulse.act.worker import start_background_process, start_inline_worker
        from cxpulse.report import jobs as report_jobs

        # The worker learns the report stage's jobs (the monthly report email) here, at
        # start-up: act cannot import report (docs/architecture.md, extension points).
        report_jobs.register()
        inline_worker = start_inline_worker(state.engine, settings)
        # Comments are analysed in a child process: the text stage would otherwise hold the
        # interpreter's lock while answers wait (CXPULSE_BACKGROUND_WORK).
        background = start_background_process(state.engine, settings)
        _warm_up_charts()
        if state.owns_engine:
            # A serving process (it opened its own database). An app handed an engine is
            # embedded in a process that starts and stops many (tests): a full collection
            # at each start would cost more than the pauses it saves.
            freeze_startup_objects()
        try:
            yield
        finally:
            if inline_worker is not None:
                await run_in_threadpool(inline_worker.stop)
            if background is not None:
                await run_in_threadpool(background.stop)
            await state.submissions.close()
            state.write_lock = state.connection_slots = None
            if state.rate_buckets is not None:
                state.rate_buckets.close()
            if state.owns_engine:
                thaw_startup_objects()
            if state.owns_engine:
                state.engine.dispose()

    # Every answer carries the security headers of its family (web/security_headers.py).
    app = FastAPIWithHeaders(
        title="cxpulse",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.cxpulse = state
    app.state.unsigned_answers_limiter = limiter(
        "unsigned", unsigned_answers.UNSIGNED_BURST, unsigned_answers.UNSIGNED_PER_MINUTE, shared
    )
    install_error_handlers(app)
    # The busiest route's direct path, before FastAPI's routing (routes/responses.py).
    app.doors = [responses.SubmissionDoor]
    install_api_docs(app)
    # Responses first: routes are matched in order, and submissions are the busiest route.
    app.include_router(responses.router)  # each route sets its own limit
    # Then the respondents' doors, the busiest after it: matching a path against each router
    # before its own cost the survey page's answer a third of its time when it came 16th.
    # None of their paths can be read as another router's (tests/web/test_app.py checks).
    for module in (
        survey_pages,
        widget,
        unsigned_answers,
        open_tracking,
        surveys,
        metrics,
        exports,
        contacts,
        auth,
        keys,
        users,
        organisation,
        audit_log,
        invitations,
        response_rates,
        unsubscribes,
        goals,
        login_pages,
        sessions,
        # The browser workspace (set-up, surveys, sharing, team, settings), before the
        # dashboard: /app/surveys/new must not be read as a survey id.
        setup_pages,
        team_pages,
        account_pages,
        survey_builder_pages,
        follow_ups_api,
        follow_up_pages,
        share_pages,
        overview,
        dashboard,
        chart_images,
        dashboard_exports,
        report_pages,
        goal_pages,
        themes_api,
        theme_pages,
        discovered_theme_pages,
        # The closed loop (rules, cases, webhooks, alerts, privacy).
        rules_api,
        rule_pages,
        referral_codes,
        cases_api,
        case_pages,
        webhooks_api,
        webhook_pages,
        alerts_api,
        alert_pages,
        inbound_api,
        sms_api,
        privacy_api,
        loop_figures_api,
    ):
        _document_body_limit(module.router)
        app.include_router(module.router, max_body_size=MAX_BODY_BYTES)
    # Uploads (files of answers, contacts, invitees; a logo): each route sets its own limit.
    for module in (import_upload, import_pages, contact_pages, invitation_pages, settings_pages):
        app.include_router(module.router)
    # Styles, scripts and fonts of the pages: ours, never from a CDN.
    # The chart bundle is a file of the report stage, which draws the charts.
    app.mount(
        "/static",
        StaticFiles(directory=STATIC_DIR, packages=[("cxpulse.report", "static")]),
        name="static",
    )

    @app.get(
        "/healthz",
        operation_id="healthz",
        summary="Is the service up",
        description="Liveness: 200 when the process answers and the database can be read, "
        "503 when it cannot be reached. It does not try a write: see `/readyz`.",
        tags=["health"],
        response_model=Health,
        responses={503: {"model": Problem, "description": "The database cannot be reached."}},
    )
    async def healthz() -> Health | JSONResponse:
        def ping() -> None:
            with state.read_sessions() as session:
                db.ping(session)

        try:
            async with database_turn(state, writes=False):
                await run_in_threadpool(ping)
        except Exception:
            return JSONResponse({"detail": "the database cannot be reached"}, status_code=503)
        return Health(status="ok", database="ok")

    @app.get(
        "/readyz",
        operation_id="readyz",
        summary="Can the service take traffic",
        description="For load balancers: 200 when the database answers and accepts a write "
        "(a probe that changes nothing), else 503 saying why. `/healthz` checks reads only.",
        tags=["health"],
        response_model=Health,
        responses={503: {"model": Problem, "description": "The database refuses writes."}},
    )
    async def readyz() -> Health | JSONResponse:
        # A writer's turn, as any write takes: on SQLite the answer waits behind the writes
        # queued before it, which is what the next write would do too.
        async with database_turn(state, writes=True):
            found = await run_in_threadpool(db.readiness, state.sessions)
        if not found.ready:
            logging.getLogger("cxpulse.web").warning("not ready: %s", found.error)
            return JSONResponse({"detail": found.reason}, status_code=503)
        return Health(status="ok", database="ok")

    return app


__all__ = ["app_state", "create_app"]


BODY_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {
        "description": f"The body is over {MAX_BODY_BYTES:,} bytes (plain text, before the "
        "route runs).",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def _document_body_limit(router: APIRouter) -> None:
    """Say in the OpenAPI document that each operation taking a body answers 413 past the
    limit: Starlette refuses such a body before the route runs, whatever the route says."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            for status, response in BODY_TOO_LARGE.items():
                route.responses.setdefault(status, response)
