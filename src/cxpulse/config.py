"""Every ``CXPULSE_*`` setting, read from the environment into one typed object: ``Settings``.

Each field is one variable (``CXPULSE_`` and the field's name in capitals) with its type,
default and description; docs/configuration.md lists them all (tests/test_docs.py keeps it
true). Nothing else in ``src/`` reads the environment: code is handed a ``Settings``.

- ``get_settings()``: the process-wide settings from ``os.environ`` (cached).
- ``Settings.from_env(mapping, cwd=...)``: settings from any mapping, for tests and the CLI.
- ``Settings(field=value, ...)``: explicit values, the environment for the others.

One reading rule for every variable: an empty value means the default. Booleans take
true/false, 1/0, yes/no or on/off; anything else (and any value of the wrong type) is a
``ConfigError`` naming the variable. A relative SQLite path is made absolute against the
working directory, so that a later chdir cannot move the database; without
``CXPULSE_SECRET_KEY`` a key is generated once and kept in ``.cxpulse-secret`` (mode 0600)
beside the SQLite file.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Mapping
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

ENV_PREFIX = "CXPULSE_"
DEFAULT_DATABASE_URL = "sqlite:///./cxpulse.db"
SECRET_FILE_NAME = ".cxpulse-secret"  # noqa: S105 (a file name, not a secret)
DEFAULT_MIN_N = 30
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_MAIL_FROM = "cxpulse@localhost"
BACKGROUND_PLACES = ("process", "thread", "off")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_UNSTRIPPED = frozenset({"secret_key", "smtp_password", "sms_token"})
"""Secrets are taken as given: a space may be part of a password."""


class ConfigError(ValueError):
    """An environment variable holds a value cxpulse cannot use."""


def env_name(field: str) -> str:
    """The variable of a ``Settings`` field: ``min_n`` -> ``CXPULSE_MIN_N``."""
    return ENV_PREFIX + field.upper()


# Parsers of the raw text; they raise ValueError with the part of the message after the name.


def _flag(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"must be true or false (or 1/0, yes/no, on/off), got {value!r}")


def _background_place(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if text not in BACKGROUND_PLACES:
        raise ValueError(f"must be process, thread or off, got {value!r}")
    return text


def _whole_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"must be a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"must be a whole number, got {value!r}") from None


def _positive_int(value: object) -> int:
    number = _whole_number(value)
    if number < 1:
        raise ValueError(f"must be at least 1, got {number}")
    return number


def _positive_number(value: object) -> float:
    try:
        number = float(value) if isinstance(value, int | float | str) else float("nan")
    except ValueError:
        raise ValueError(f"must be a number, got {value!r}") from None
    if not number > 0:  # also refuses NaN
        raise ValueError(f"must be more than 0, got {value!r}")
    return number


def _port(value: object) -> int:
    try:
        port = _whole_number(value)
    except ValueError:
        raise ValueError(f"must be a port number, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"must be 1-65535, got {port}")
    return port


def _web_address(value: object) -> object:
    if not isinstance(value, str):
        return value
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must start with https://, got {value!r}")
    return value.rstrip("/")


def _email_address(value: object) -> object:
    if isinstance(value, str) and "@" not in parseaddr(value)[1]:
        raise ValueError(f"must be an email address, got {value!r}")
    return value


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _proxy_list(value: object) -> object:
    """Addresses and networks, each in the one spelling uvicorn compares (it would take a
    mistyped entry as a host name that never matches, and trust nobody without a word)."""
    value = _comma_list(value)
    if not isinstance(value, tuple | list):
        return value
    found: list[str] = []
    for item in value:
        text = str(item).strip()
        if text == "*":
            raise ValueError(
                "must list the proxies' addresses, not '*' (which would let any client "
                "choose the address it is limited by)"
            )
        try:
            if "/" in text:
                found.append(str(ipaddress.ip_network(text, strict=False)))
            else:
                found.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise ValueError(
                f"must be IP addresses or networks such as 10.0.0.0/8, got {text!r}"
            ) from None
    return tuple(found)


Flag = Annotated[bool, BeforeValidator(_flag)]
PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
PositiveNumber = Annotated[float, BeforeValidator(_positive_number)]
Port = Annotated[int, BeforeValidator(_port)]
WebAddress = Annotated[str, BeforeValidator(_web_address)]
EmailAddress = Annotated[str, BeforeValidator(_email_address)]
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
ProxyList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_proxy_list)]
BackgroundPlace = Annotated[str, BeforeValidator(_background_place)]


class Settings(BaseSettings):
    """All settings of cxpulse; see the module's docstring for how they are read."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    # Storage
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="The database: sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME; "
        "a relative SQLite path is taken from the working directory.",
    )
    sqlite_busy_timeout_ms: PositiveInt = Field(
        DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
        description="How long an SQLite writer waits for the write lock, in milliseconds.",
    )
    # Backups
    backup_dir: str | None = Field(
        None,
        description="Where `cxpulse backup` and the scheduled backups write; default: a "
        "`backups` folder beside the SQLite file, else in the working directory.",
    )
    backup_every_hours: PositiveNumber | None = Field(
        None,
        description="The worker backs the database up this often, in hours (empty: never).",
    )
    backup_keep: PositiveInt = Field(
        7,
        description="Scheduled backups keep this many of the newest backups in "
        "CXPULSE_BACKUP_DIR and delete the older ones.",
    )
    # Signing
    secret_key: str = Field(
        "",
        repr=False,
        description="The key that signs sessions, links and form tokens; generated once and "
        "kept in .cxpulse-secret beside the SQLite file when unset (set it on every machine "
        "of a PostgreSQL deployment).",
    )
    previous_secret_keys: CommaList = Field(
        (),
        repr=False,
        description="Old secret keys, comma-separated, that still verify what they signed "
        "while the new key signs: rotate by moving the old key here.",
    )
    # Scores
    min_n: PositiveInt = Field(
        DEFAULT_MIN_N, description="Groups with fewer answers are flagged as too small to read."
    )
    # Web app
    cookie_secure: Flag = Field(
        True,
        description="Session cookies carry Secure (browsers accept them from http://localhost); "
        "false only to serve a demo over plain http on another address.",
    )
    session_hours: PositiveNumber = Field(
        12.0,
        description="A browser session expires this many hours after login (sooner when "
        "its user logs out, is signed out by an admin or changes their password).",
    )
    login_burst: PositiveInt = Field(
        10, description="Login attempts one client address may make at once."
    )
    login_per_minute: PositiveNumber = Field(
        10.0, description="Login attempts one client address regains per minute."
    )
    public_burst: PositiveInt = Field(
        30, description="Answers one address may send at once (survey pages, widget)."
    )
    public_per_minute: PositiveNumber = Field(
        60.0, description="Answers one address regains per minute (429 beyond)."
    )
    trusted_proxies: ProxyList = Field(
        (),
        description="Reverse proxies (IP addresses or networks, comma-separated) whose "
        "X-Forwarded-For and X-Forwarded-Proto headers `cxpulse serve` believes; empty: none, "
        "so a client's address is the connection's and no header can change it.",
    )
    import_max_mb: PositiveNumber = Field(
        50.0,
        description="Largest file the import API accepts, in megabytes (413 beyond; "
        "`cxpulse import` has no limit).",
    )
    inline_worker: Flag = Field(
        True,
        description="`cxpulse serve` sends the outbox's emails from its own process; false "
        "when `cxpulse worker` runs apart.",
    )
    background_work: BackgroundPlace = Field(
        "process",
        description="Where `cxpulse serve` does its background work besides sending emails "
        "(analysing comments; the closed loop's rules, webhooks, alerts, retention, SMS): "
        "`process`, a child process whose comment analysis runs at the lowest priority, so "
        "that answers being served never wait for it; `thread`, the worker's thread in the "
        "server's own process (less memory, slower answers while it runs); `off`, not at all "
        "(`cxpulse worker` does it).",
    )
    # Email
    smtp_host: str = Field("localhost", description="The SMTP server (relay).")
    smtp_port: Port = Field(25, description="Its port (587 with STARTTLS is usual for a provider).")
    smtp_user: str | None = Field(None, description="Log in to the SMTP server as this user.")
    smtp_password: str | None = Field(
        None, repr=False, description="The password of CXPULSE_SMTP_USER."
    )
    smtp_starttls: Flag = Field(False, description="Upgrade the connection with STARTTLS.")
    mail_from: EmailAddress = Field(
        DEFAULT_MAIL_FROM,
        description="The From address of every email (may be `Name <address>`).",
    )
    public_url: WebAddress = Field(
        DEFAULT_PUBLIC_URL,
        description="Where the app is reached from outside: the base of links in emails.",
    )
    # SMS (a Twilio-shaped Messages API; off while no account is set)
    sms_base_url: WebAddress = Field(
        "https://api.twilio.com",
        description="The SMS provider's API (Twilio's Messages API shape).",
    )
    sms_account: str | None = Field(
        None, description="The provider account (Twilio: the Account SID)."
    )
    sms_token: str | None = Field(
        None,
        repr=False,
        description="The account's auth token: authenticates sends and checks the signature "
        "of incoming replies.",
    )
    sms_from: str | None = Field(None, description="The sender number (E.164) or sender id of SMS.")
    # Reports
    chromium: str | None = Field(
        None,
        description="The Chromium that prints PDF reports; default: /usr/bin/chromium, "
        "chromium, chromium-browser or google-chrome on the PATH.",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise _config_error(error) from None

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @field_validator("*", mode="before")
    @classmethod
    def _blank_means_default(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            raise PydanticUseDefault()
        return value if info.field_name in _UNSTRIPPED else value.strip()

    @model_validator(mode="before")
    @classmethod
    def _place_database_and_secret(cls, data: Any) -> Any:
        """Explicit settings (``Settings(...)``) are placed against the working directory;
        ``from_env`` places them against its ``cwd`` first, which leaves nothing to do here."""
        return _placed(data, Path.cwd()) if isinstance(data, dict) else data

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        cwd: Path | None = None,
        database_url: str | None = None,
    ) -> Settings:
        """Settings from ``environ`` (default: the process environment) and nothing else;
        relative paths against ``cwd``; ``database_url`` (``--database``) wins over the
        variable, and a generated secret key is then kept beside that database."""
        if environ is None:
            values = dict(EnvSettingsSource(cls)())
        else:
            # Like the environment source: names in any case, empty values left out.
            given = {name.upper(): text for name, text in environ.items() if text != ""}
            values = {
                field: given[env_name(field)]
                for field in cls.model_fields
                if env_name(field) in given
            }
        if database_url is not None:
            values["database_url"] = database_url
        values = _placed(values, cwd or Path.cwd())
        # Every field is given, so that no other source (the process environment) adds any.
        explicit = {
            field: values[field] if field in values else info.get_default(call_default_factory=True)
            for field, info in cls.model_fields.items()
        }
        return cls(**explicit)


def _placed(data: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """``data`` with the SQLite path pinned to ``cwd`` and the secret key found (or made)."""
    given = data.get("database_url")
    url = absolute_sqlite_url(
        (given.strip() if isinstance(given, str) else "") or DEFAULT_DATABASE_URL, cwd
    )
    secret = data.get("secret_key")
    if not (isinstance(secret, str) and secret.strip()):
        secret = load_or_create_secret(secret_file_for(url, cwd))
    return {**data, "database_url": url, "secret_key": secret}


def _config_error(error: ValidationError) -> ConfigError:
    """One ``ConfigError`` naming each variable at fault, in the words of its parser."""
    problems: list[str] = []
    for item in error.errors():
        cause = item.get("ctx", {}).get("error")
        name = env_name(str(item["loc"][0])) if item["loc"] else ""
        if isinstance(cause, ConfigError) or not name:
            problems.append(str(cause or item["msg"]))
        elif isinstance(cause, ValueError):
            problems.append(f"{name} {cause}")
        else:
            problems.append(f"{name}: {item['msg'].lower()}, got {item['input']!r}")
    return ConfigError("; ".join(problems))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings.from_env()


def pass_to_child_processes(settings: Settings) -> None:
    """Put the chosen database in the environment that server processes started from here
    inherit (``cxpulse serve --reload`` or ``--workers``): each builds its own settings from
    the environment, and finds the same secret key file beside the same database."""
    os.environ[env_name("database_url")] = settings.database_url


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
    """Read the key kept at ``path``, creating it (mode 0600) and its folder the first time.

    The key is written to a private temporary file and hard-linked into place: the link either
    appears whole or fails because another process won, so two processes starting at once agree
    on one key and neither can read a half-written file.
    """
    if not path.exists():
        # The folder of a new SQLite database: SQLite creates the file, not its folder.
        path.parent.mkdir(parents=True, exist_ok=True)
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
