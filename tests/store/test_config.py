from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cxpulse.config import SECRET_FILE_NAME, ConfigError, Settings


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
