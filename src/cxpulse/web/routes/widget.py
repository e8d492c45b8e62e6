"""The embeddable web widget: widget.js and its public, rate-limited submission endpoint."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
