"""Routes of the closed loop: inbound webhooks and their endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
