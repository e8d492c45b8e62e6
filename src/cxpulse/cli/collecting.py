"""Commands of the collect stage: contacts, invitations, the outbox worker, response rates."""

from __future__ import annotations

from cxpulse.cli.app import app  # noqa: F401  (commands register on it)
