"""``cxpulse.config``: one ``Settings`` from the environment, the secret key beside the
database, one rule for every variable, and no other reader of the environment."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from cxpulse.config import SECRET_FILE_NAME, ConfigError, Settings, env_name
from cxpulse.web.state import WebOptions

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_put_the_database_and_its_secret_in_the_working_directory(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'cxpulse.db'}"
    assert settings.is_sqlite
    assert settings.min_n == 30
    secret = tmp_path / SECRET_FILE_NAME
    assert secret.read_text().strip() == settings.secret_key
    assert len(settings.secret_key) >= 32
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_the_generated_secret_is_kept_across_starts(tmp_path: Path) -> None:
    first = Settings.from_env({}, cwd=tmp_path)
    second = Settings.from_env({}, cwd=tmp_path)
    assert first.secret_key == second.secret_key


def test_the_secret_lives_beside_the_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'x.db'}"
    (tmp_path / "data").mkdir()
    Settings.from_env({"CXPULSE_DATABASE_URL": url}, cwd=tmp_path)
    assert (tmp_path / "data" / SECRET_FILE_NAME).exists()
    assert not (tmp_path / SECRET_FILE_NAME).exists()


def test_environment_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "CXPULSE_DATABASE_URL": "postgresql://postgres@127.0.0.1/cx",
            "CXPULSE_SECRET_KEY": "s3cret",
            "CXPULSE_MIN_N": "50",
        },
        cwd=tmp_path,
    )
    assert settings.database_url == "postgresql://postgres@127.0.0.1/cx"
    assert not settings.is_sqlite
    assert settings.secret_key == "s3cret"
    assert settings.min_n == 50
    assert not (tmp_path / SECRET_FILE_NAME).exists()


@pytest.mark.parametrize("value", ["zero", "0", "-3"])
def test_bad_numbers_are_refused_by_name(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="CXPULSE_MIN_N"):
        Settings.from_env({"CXPULSE_MIN_N": value, "CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path)


def test_an_empty_secret_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE_NAME).write_text("")
    with pytest.raises(ConfigError, match="empty"):
        Settings.from_env({}, cwd=tmp_path)


def test_web_options_from_the_environment(tmp_path: Path) -> None:
    def options(environ: dict[str, str]) -> WebOptions:
        settings = Settings.from_env({**environ, "CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path)
        return WebOptions.from_settings(settings)

    assert options({}) == WebOptions()
    chosen = options(
        {
            "CXPULSE_COOKIE_SECURE": "false",
            "CXPULSE_SESSION_HOURS": "0.5",
            "CXPULSE_LOGIN_BURST": "3",
            "CXPULSE_LOGIN_PER_MINUTE": "2",
        }
    )
    assert chosen == WebOptions(
        cookie_secure=False, session_max_age_seconds=1800, login_burst=3, login_per_minute=2.0
    )
    with pytest.raises(ConfigError):
        options({"CXPULSE_COOKIE_SECURE": "maybe"})
    with pytest.raises(ConfigError):
        options({"CXPULSE_LOGIN_BURST": "-1"})


FLAGS = ["cookie_secure", "inline_worker", "smtp_starttls"]


@pytest.mark.parametrize("field", FLAGS)
@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("true", True), ("1", True), ("YES", True), (" on ", True)],
        *[("false", False), ("0", False), ("no", False), ("Off", False)],
    ],
)
def test_every_flag_reads_the_same_words(
    field: str, text: str, value: bool, tmp_path: Path
) -> None:
    settings = Settings.from_env({env_name(field): text, "CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path)
    assert getattr(settings, field) is value


@pytest.mark.parametrize("field", FLAGS)
def test_an_empty_flag_means_the_default_and_a_wrong_one_is_named(
    field: str, tmp_path: Path
) -> None:
    default = Settings.model_fields[field].default
    for empty in ("", "  "):
        chosen = Settings.from_env(
            {env_name(field): empty, "CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path
        )
        assert getattr(chosen, field) is default
    with pytest.raises(ConfigError, match=f"{env_name(field)} must be true or false"):
        Settings.from_env({env_name(field): "maybe", "CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path)


def test_previous_secret_keys_are_a_comma_separated_list(tmp_path: Path) -> None:
    default = Settings.from_env({"CXPULSE_SECRET_KEY": "new"}, cwd=tmp_path)
    assert default.previous_secret_keys == ()
    rotated = Settings.from_env(
        {"CXPULSE_SECRET_KEY": "new", "CXPULSE_PREVIOUS_SECRET_KEYS": "old, older,,"},
        cwd=tmp_path,
    )
    assert rotated.previous_secret_keys == ("old", "older")
    assert "old" not in repr(rotated)
    assert "new" not in repr(rotated)


def test_other_settings_are_read_typed_and_checked(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "CXPULSE_SECRET_KEY": "k",
            "CXPULSE_IMPORT_MAX_MB": "2.5",
            "CXPULSE_CHROMIUM": "/opt/chromium",
            "CXPULSE_SQLITE_BUSY_TIMEOUT_MS": "100",
            "CXPULSE_PUBLIC_URL": "https://cx.example/",
        },
        cwd=tmp_path,
    )
    assert settings.import_max_mb == 2.5
    assert settings.chromium == "/opt/chromium"
    assert settings.sqlite_busy_timeout_ms == 100
    assert settings.public_url == "https://cx.example"
    with pytest.raises(ConfigError, match="CXPULSE_IMPORT_MAX_MB must be more than 0"):
        Settings.from_env({"CXPULSE_IMPORT_MAX_MB": "-1", "CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path)


def test_a_mapping_is_read_alone_and_explicit_values_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXPULSE_MIN_N", "77")
    assert Settings.from_env({"CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path).min_n == 30
    assert Settings(database_url="sqlite://", secret_key="k").min_n == 77
    assert Settings(database_url="sqlite://", secret_key="k", min_n=5).min_n == 5
    monkeypatch.setenv("CXPULSE_MIN_N", "none")
    with pytest.raises(ConfigError, match="CXPULSE_MIN_N must be a whole number"):
        Settings(database_url="sqlite://", secret_key="k")


def test_the_database_option_wins_and_keeps_its_secret_beside_it(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"CXPULSE_DATABASE_URL": "sqlite:///elsewhere.db"},
        cwd=tmp_path,
        database_url="sqlite:///new/folder/x.db",
    )
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'new' / 'folder' / 'x.db'}"
    assert (tmp_path / "new" / "folder" / SECRET_FILE_NAME).is_file()


ENVIRONMENT_READ = re.compile(r"\bos\.environ\b|\bgetenv\b|\benviron\.get\b")


def test_nothing_but_config_reads_the_environment() -> None:
    source = ROOT / "src" / "cxpulse"
    readers = sorted(
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if path.name != "config.py" or path.parent != source
        if ENVIRONMENT_READ.search(path.read_text(encoding="utf-8"))
    )
    assert readers == []


def test_the_generated_secret_is_ignored_by_git() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in (SECRET_FILE_NAME, f"demo/{SECRET_FILE_NAME}"):
        found = subprocess.run(
            ["git", "check-ignore", "--quiet", "--no-index", path],
            cwd=ROOT,
            check=False,
        )
        assert found.returncode == 0, f"{path} is not ignored by .gitignore"


def test_trusted_proxies_are_addresses_or_networks_and_none_by_default(tmp_path: Path) -> None:
    def proxies(value: str) -> tuple[str, ...]:
        env = {"CXPULSE_SECRET_KEY": "k", "CXPULSE_TRUSTED_PROXIES": value}
        return Settings.from_env(env, cwd=tmp_path).trusted_proxies

    assert Settings.from_env({"CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path).trusted_proxies == ()
    assert proxies("") == ()
    # Written the one way uvicorn compares them (it would never match 10.0.0.1/8 as given).
    assert proxies(" 10.0.0.1/8, 192.0.2.1,  ::1,,") == ("10.0.0.0/8", "192.0.2.1", "::1")
    assert proxies("2001:DB8::/32") == ("2001:db8::/32",)
    for bad in ("*", "nginx", "10.0.0.0/33", "127.0.0.1:8080", "10.0.0.1, proxy.local"):
        with pytest.raises(ConfigError, match="CXPULSE_TRUSTED_PROXIES must"):
            proxies(bad)
