"""Real parts for page tests: a live server on a free loopback port and Debian's Chromium.

- ``LiveServer``: uvicorn serving an app in a background thread of the test process, so that
  a real browser (or any HTTP client) can reach it at ``server.url``.
- ``chromium_path()``: /usr/bin/chromium, installed with apt-get when missing and running
  as root. When it cannot be had, tests skip with the reason, or fail under ``CI=true``.
- ``launch_chromium(playwright)``: headless, no sandbox (containers), no background
  networking: nothing leaves the machine.

Screenshots go to ``test-artifacts/screenshots`` at the repository root (``artifact_dir``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from fastapi import FastAPI

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
    "--disable-dev-shm-usage",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1366, "height": 900}


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str) -> None:
    if is_ci():
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


_install_lock = threading.Lock()


def chromium_path() -> str:
    """Debian's Chromium, installing it the first time when possible."""
    with _install_lock:
        if not Path(CHROMIUM).exists() and shutil.which("apt-get") and os.geteuid() == 0:
            subprocess.run(
                ["apt-get", "install", "-y", "-q", "chromium"],
                check=False,
                capture_output=True,
                timeout=900,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
    if not Path(CHROMIUM).exists():
        _unavailable("Chromium is not installed (apt-get install chromium, as root)")
    return CHROMIUM


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium browser from a ``sync_playwright()`` context."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


def artifact_dir(*parts: str) -> Path:
    path = REPO.joinpath("test-artifacts", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    """``with LiveServer(app) as server: ... server.url ...``"""

    def __init__(self, app: FastAPI, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
