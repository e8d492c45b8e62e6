"""Alembic migrations, run by ``cxpulse.store.db.migrate`` (no alembic.ini needed)."""
