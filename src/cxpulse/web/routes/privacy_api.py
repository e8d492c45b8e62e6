"""Routes of the closed loop: privacy: a contact's data exported or erased, retention."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
