"""Routes of the closed loop: SMS replies (opt-out by keyword)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
