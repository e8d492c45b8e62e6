"""The baseline of ``bench/http_submit.py``: the submission route in FastAPI, writing nothing.

Same path, same request model (``ResponseCreate``, so the same JSON parsing and validation)
and the same status code as ``POST /api/v1/surveys/{survey_id}/responses``, but no
authentication, no database and a two-field answer. ``http_submit.py`` serves it with uvicorn
under the settings ``cxpulse serve`` uses, so that the difference between the two is what
cxpulse itself costs per submission::

    .venv/bin/python -m uvicorn --app-dir bench http_submit_baseline:app --no-access-log
"""

from __future__ import annotations

from fastapi import FastAPI, status
from pydantic import BaseModel

from cxpulse.web.schemas import ResponseCreate


class Accepted(BaseModel):
    survey_id: int
    score: float


app = FastAPI(title="cxpulse benchmark baseline", docs_url=None, redoc_url=None)


@app.post(
    "/api/v1/surveys/{survey_id}/responses",
    status_code=status.HTTP_201_CREATED,
    response_model=Accepted,
)
async def accept(survey_id: int, body: ResponseCreate) -> Accepted:
    return Accepted(survey_id=survey_id, score=body.score)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
