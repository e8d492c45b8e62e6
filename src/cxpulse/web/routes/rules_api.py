"""Routes of the closed loop: rules (API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
