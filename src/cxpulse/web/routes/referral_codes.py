"""Routes of the closed loop: referral codes (API)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
