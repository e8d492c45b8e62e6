"""(Being written: follow-up questions in the REST API, issue 14.)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["follow-up questions"])
