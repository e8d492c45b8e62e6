"""Routes of the closed loop: webhook endpoints and deliveries (API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
