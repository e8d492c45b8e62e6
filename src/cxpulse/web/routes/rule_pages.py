"""Routes of the closed loop: rules (pages)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
