"""Settings read from the environment, in one typed object.

- ``CXPULSE_DATABASE_URL``: default ``sqlite:///./cxpulse.db``, made absolute against the
  working directory so that a later chdir cannot move the database.
- ``CXPULSE_SECRET_KEY``: default generated once and kept in ``.cxpulse-secret`` (mode 0600)
  beside the SQLite file.
- ``CXPULSE_MIN_N``: default 30; groups with fewer answers are flagged as too small to read.
- ``CXPULSE_SQLITE_BUSY_TIMEOUT_MS``: default 5000; how long an SQLite writer waits for the
  write lock.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///./cxpulse.db"
SECRET_FILE_NAME = ".cxpulse-secret"  # noqa: S105 (a file name, not a secret)
DEFAULT_MIN_N = 30
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


class ConfigError(ValueError):
    """An environment variable holds a value cxpulse cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    min_n: int = DEFAULT_MIN_N
    sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, cwd: Path | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ
        base = Path.cwd() if cwd is None else cwd
        database_url = absolute_sqlite_url(
            env.get("CXPULSE_DATABASE_URL") or DEFAULT_DATABASE_URL, base
        )
        secret_key = env.get("CXPULSE_SECRET_KEY") or load_or_create_secret(
            secret_file_for(database_url, base)
        )
        return cls(
            database_url=database_url,
            secret_key=secret_key,
            min_n=_positive_int(env, "CXPULSE_MIN_N", DEFAULT_MIN_N),
            sqlite_busy_timeout_ms=_positive_int(
                env, "CXPULSE_SQLITE_BUSY_TIMEOUT_MS", DEFAULT_SQLITE_BUSY_TIMEOUT_MS
            ),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings.from_env()


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {text!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def absolute_sqlite_url(url: str, base: Path) -> str:
    """Pin a relative SQLite path to ``base`` so a later chdir cannot move the database."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise ConfigError(f"CXPULSE_DATABASE_URL is not a database URL: {error}") from None
    if parsed.get_backend_name() != "sqlite":
        return url
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database)
    if path.is_absolute():
        return url
    return parsed.set(database=str((base / path).resolve())).render_as_string(hide_password=False)


def secret_file_for(database_url: str, base: Path) -> Path:
    parsed = make_url(database_url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database).resolve().parent / SECRET_FILE_NAME
    # A server database has no directory of its own; multi-machine deployments must set
    # CXPULSE_SECRET_KEY so that every machine signs with the same key.
    return base / SECRET_FILE_NAME


def load_or_create_secret(path: Path) -> str:
    """Read the key kept at ``path``, creating it (mode 0600) the first time.

    The key is written to a private temporary file and hard-linked into place: the link either
    appears whole or fails because another process won, so two processes starting at once agree
    on one key and neither can read a half-written file.
    """
    if not path.exists():
        key = secrets.token_urlsafe(48)
        fd, temporary = tempfile.mkstemp(prefix=".cxpulse-secret-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(key + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ConfigError(
            f"{path} is empty: delete it to generate a new key, or set CXPULSE_SECRET_KEY"
        )
    return key
