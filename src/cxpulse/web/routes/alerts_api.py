"""Routes of the closed loop: alerts (API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
