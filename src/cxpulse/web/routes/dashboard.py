"""The signed-in web UI: login page, survey dashboards, drill-down and exports of a view."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
