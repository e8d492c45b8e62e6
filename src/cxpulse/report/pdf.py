"""HTML to PDF with the system's Chromium in headless mode (Debian's /usr/bin/chromium).

The report HTML is self-contained, so Chromium prints it from a temporary file with the
network switched off; a private, throw-away profile keeps it from touching the user's own.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
DEFAULT_TIMEOUT_SECONDS = 90.0


class PdfError(RuntimeError):
    """Chromium is missing or could not print the document."""


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium to use: ``explicit`` (``--chromium``, else the ``chromium`` setting, which
    callers pass on), else the usual names."""
    for candidate in (explicit,) if explicit else CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    if explicit:
        raise PdfError(f"Chromium not found at {explicit!r} (from --chromium or $CXPULSE_CHROMIUM)")
    raise PdfError(
        "Chromium is needed for PDF output and was not found; install it "
        "(Debian/Ubuntu: apt-get install chromium) or point $CXPULSE_CHROMIUM at it"
    )


def chromium_command(chromium: str, source: Path, target: Path, profile: Path) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--mute-audio",
        # The document needs nothing from the network; refuse any lookup outright.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={target}",
        source.as_uri(),
    ]


def html_to_pdf(
    html: str,
    target: Path,
    *,
    chromium: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Path:
    """Print ``html`` to the PDF file ``target`` and return its path."""
    executable = find_chromium(chromium)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cxpulse-pdf-") as folder:
        work = Path(folder)
        source = work / "report.html"
        source.write_text(html, encoding="utf-8")
        printed = work / "report.pdf"
        command = chromium_command(executable, source, printed, work / "profile")
        try:
            finished = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not finish printing within {timeout:.0f} s") from None
        except OSError as error:
            raise PdfError(f"cannot run Chromium {executable}: {error}") from None
        if not printed.is_file() or printed.read_bytes()[:5] != b"%PDF-":
            detail = (finished.stderr or finished.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit status {finished.returncode}"
            raise PdfError(f"Chromium did not write a PDF: {last}")
        shutil.move(str(printed), target)
    return target
