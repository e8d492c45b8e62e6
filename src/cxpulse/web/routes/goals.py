"""Goals (baseline, target, due date) and monthly report schedules through API v1."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
