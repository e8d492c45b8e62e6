"""Routes of the closed loop: alerts (pages)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
