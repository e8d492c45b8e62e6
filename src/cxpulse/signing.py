"""Signed, expiring tokens (filled in by the architecture work)."""
