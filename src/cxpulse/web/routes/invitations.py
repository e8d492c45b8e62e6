"""Invitations, unsubscribes and response rates through API v1."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
