"""The /docs page works offline: every script and style it loads is served by the app."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from cxpulse.config import Settings
from cxpulse.web import create_app


def test_docs_page_loads_only_local_assets(tmp_path: Path) -> None:
    folder = tmp_path
    settings = Settings(database_url=f"sqlite:///{folder / 'docs.db'}", secret_key="x" * 32)
    with TestClient(create_app(settings)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources
        for source in sources:
            assert not source.startswith(("http:", "https:", "//")), source
            assert client.get(source).status_code == 200, source
        assert "/openapi.json" in page.text
