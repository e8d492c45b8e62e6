"""Data files bundled with cxpulse.metrics (read with importlib.resources)."""
