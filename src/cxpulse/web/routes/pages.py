"""Hosted survey pages for respondents: /s/<slug>, personal links, one-click answers, thank-you."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
