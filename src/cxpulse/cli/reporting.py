"""Commands of the report stage: the monthly report."""

from __future__ import annotations

from cxpulse.cli.app import app  # noqa: F401  (commands register on it)
