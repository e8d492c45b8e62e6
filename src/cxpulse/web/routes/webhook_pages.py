"""Routes of the closed loop: webhooks (pages)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
