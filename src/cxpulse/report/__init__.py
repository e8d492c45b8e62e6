"""Turning scores into things people read: tables, documents, exports."""
