"""Routes of the closed loop: follow-up cases and teams (API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
