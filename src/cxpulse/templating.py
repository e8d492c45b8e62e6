"""The one Jinja environment (filled in by the architecture work)."""
