"""Routes of the closed loop: follow-up cases (pages)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
