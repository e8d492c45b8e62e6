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


def _apt_install(package: str) -> None:
    """``apt-get install package`` when running as root on Debian; nothing otherwise.

    pytest's workers are processes: two may install at once, and the second would fail at
    once on dpkg's lock while the first is still installing, so apt waits for the lock. On a
    machine whose package lists were never fetched the package is unknown: the lists are
    fetched once and the install tried again."""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=900"]
    install = ["apt-get", *wait, "install", "-y", "-q", package]
    done = subprocess.run(install, check=False, capture_output=True, timeout=1200, env=env)
    if done.returncode != 0:
        subprocess.run(
            ["apt-get", *wait, "update", "-q"],
            check=False,
            capture_output=True,
            timeout=1200,
            env=env,
        )
        subprocess.run(install, check=False, capture_output=True, timeout=1200, env=env)


def chromium_path() -> str:
    """Debian's Chromium, installing it the first time when possible."""
    with _install_lock:
        if not Path(CHROMIUM).exists():
            _apt_install("chromium")
    if not Path(CHROMIUM).exists():
        _unavailable("Chromium is not installed (apt-get install chromium, as root)")
    return CHROMIUM


def debian_tool(command: str, package: str) -> str:
    """The path of ``command`` from Debian's ``package``, installed the first time when
    possible (as root); under CI=true its absence fails the test, elsewhere it skips."""
    with _install_lock:
        if shutil.which(command) is None:
            _apt_install(package)
    found = shutil.which(command)
    if found is None:
        _unavailable(f"{command} is not installed (apt-get install {package}, as root)")
        raise AssertionError("unreachable")  # _unavailable always raises
    return found


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


# Every element of a page, shadow roots included (the widget draws into an open one), is
# walked by FIT_JS. A page "fits" when neither the document nor the body is wider than the
# viewport and no scroll box inside it scrolls sideways (a table that needs a swipe to reach
# its key column is as bad as a page that does). Text is "readable" at 12 CSS px or more as
# drawn: SVG text counts at its rendered size, so a chart scaled down to a phone is caught.
FIT_JS = """() => {
  const vw = window.innerWidth;
  const all = [];
  const walk = root => {
    for (const el of root.querySelectorAll('*')) {
      all.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document.body);
  const describe = el => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += '#' + el.id;
    const cls = typeof el.className === 'string' ? el.className.trim() : '';
    if (cls) name += '.' + cls.split(/\\s+/).join('.');
    const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    return text ? name + ' "' + text + '"' : name;
  };
  const clippedByAncestor = el => {
    for (let p = el.parentElement || (el.getRootNode().host || null); p && p !== document.body;
         p = p.parentElement || (p.getRootNode().host || null)) {
      const s = getComputedStyle(p);
      if (s.overflowX !== 'visible' || s.clipPath !== 'none') return true;
    }
    return false;
  };
  let widest = null;
  for (const el of all) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const right = r.right + window.scrollX;
    if (right <= vw + 0.5) continue;
    if (clippedByAncestor(el)) continue;
    if (!widest || right > widest.right) widest = {right: Math.round(right), what: describe(el)};
  }
  const scrollers = [];
  for (const el of all) {
    const s = getComputedStyle(el);
    if (!['auto', 'scroll'].includes(s.overflowX)) continue;
    if (el.tagName === 'TEXTAREA' || !el.getClientRects().length) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      scrollers.push(describe(el) + ' scrolls ' + el.scrollWidth + ' px in ' + el.clientWidth);
    }
  }
  const small = [];
  for (const el of all) {
    const own = Array.from(el.childNodes).filter(n => n.nodeType === 3 && n.textContent.trim());
    if (!own.length || ['OPTION', 'SCRIPT', 'STYLE', 'TITLE'].includes(el.tagName)) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none') continue;
    const range = document.createRange();
    range.selectNodeContents(own[0]);
    const box = range.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;  // visually hidden, for screen readers
    let size = parseFloat(s.fontSize);
    if (el instanceof SVGElement && el.getScreenCTM) {
      const m = el.getScreenCTM();
      if (m) size *= Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
    }
    if (size < 11.95) small.push(describe(el) + ' ' + size.toFixed(1) + ' px');
  }
  return {
    innerWidth: vw,
    documentWidth: document.documentElement.scrollWidth,
    bodyWidth: document.body.scrollWidth,
    widest: widest,
    scrollers: scrollers,
    small: small,
  };
}"""


def fit_problems(page: Any, name: str) -> list[str]:
    """What keeps the page now open in ``page`` from fitting its viewport, one line each,
    naming the page and the element that is too wide (or the text that is too small)."""
    found: dict[str, Any] = page.evaluate(FIT_JS)
    width = found["innerWidth"]
    problems: list[str] = []
    if found["documentWidth"] > width or found["bodyWidth"] > width:
        widest = found["widest"]
        culprit = (
            f"; widest element {widest['what']} reaches {widest['right']} px" if widest else ""
        )
        problems.append(
            f"{name} at {width} px: the page is {found['documentWidth']} px wide "
            f"(body {found['bodyWidth']} px){culprit}"
        )
    problems.extend(f"{name} at {width} px: {what}" for what in found["scrollers"])
    if found["small"]:
        shown = ", ".join(found["small"][:8])
        more = f" and {len(found['small']) - 8} more" if len(found["small"]) > 8 else ""
        problems.append(f"{name} at {width} px: text under 12 px: {shown}{more}")
    return problems
