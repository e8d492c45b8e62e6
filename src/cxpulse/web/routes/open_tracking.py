"""The open-tracking pixel behind an invitation email's image (``/o/<token>.gif``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from cxpulse.collect import invitations as triggers
from cxpulse.collect.links import LinkProblem
from cxpulse.store import surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.survey_options import parse_options
from cxpulse.web.state import app_state, database_turn

router = APIRouter()

# The smallest transparent GIF (1x1 pixel).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@router.get("/o/{token}.gif", include_in_schema=False)
async def open_pixel(token: str, request: Request) -> Response:
    """Records the first open when the survey tracks opens; always the same tiny image."""
    state = app_state(request)
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    try:
        claims = state.links.verify(token, "open")
    except LinkProblem:
        return Response(PIXEL, media_type="image/gif", headers=headers)

    def record() -> None:
        with state.sessions() as session:
            try:
                target = triggers.invitation_for_link(
                    session, claims.invitation_id, claims.survey_id
                )
            except NotFound:
                return
            survey = surveys.get_survey(
                session, target.organisation.id, target.invitation.survey_id
            )
            if parse_options(survey.collect_options).track_opens:
                triggers.record_open(session, target.invitation)
                session.commit()

    async with database_turn(state, writes=True):
        await run_in_threadpool(record)
    return Response(PIXEL, media_type="image/gif", headers=headers)
