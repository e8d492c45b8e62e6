"""Placeholder: commands are being added."""

from cxpulse.cli.app import app as app
