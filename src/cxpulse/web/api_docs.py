"""The interactive API documentation at /docs, served from an installed package.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script;
cxpulse loads nothing from the internet at run time and allows no inline script (its
Content-Security-Policy, ``web/security_headers.py``), so the page here uses the copy of
Swagger UI that the swagger-ui-bundle package ships and starts it from ``/static/api-docs.js``.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/static/swagger-ui"
STARTER = "/static/api-docs.js"
"""Starts Swagger UI on the page (``web/static/api-docs.js``)."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{starter}"></script>
</body>
</html>
"""


def docs_page(title: str, openapi_url: str) -> str:
    return PAGE.format(
        title=escape(title),
        assets=ASSETS_PATH,
        openapi_url=escape(openapi_url),
        starter=STARTER,
    )


def install_api_docs(app: FastAPI, path: str = "/docs") -> None:
    """Serve Swagger UI's files and an HTML page at ``path`` that uses only them."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
    page = docs_page(f"{app.title} API", app.openapi_url or "/openapi.json")

    @app.get(path, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(page)
