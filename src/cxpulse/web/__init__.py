"""The web app: API v1 today; public pages, widget and admin UI build on the same app."""

from cxpulse.web.app import create_app

__all__ = ["create_app"]
