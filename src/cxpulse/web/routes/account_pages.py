"""The signed-in account pages: API keys (``key_pages``) and the audit log (``audit_pages``),
gathered in the one router the app registers for them."""

from __future__ import annotations

from fastapi import APIRouter

from cxpulse.web.routes import audit_pages, key_pages

router = APIRouter(include_in_schema=False)
router.include_router(key_pages.router)
router.include_router(audit_pages.router)
