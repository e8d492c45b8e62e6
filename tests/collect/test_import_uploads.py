"""Uploads of the answers import waiting between its steps: a folder of the server's user
alone (made 0700, refused when it is another's, open to others, or a link), file names that
never leave an upload's folder, and uploads found by their uploader only."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cxpulse.collect.import_uploads import (
    StagedUpload,
    UnsafeUploadFolder,
    UploadStore,
    clean_filename,
    default_root,
)

CSV = [b"Rating\n", b"5\n"]


def _save(store: UploadStore, name: str = "answers.csv") -> StagedUpload:
    return store.save(CSV, filename=name, organisation_id=1, user_id=2, survey_id=3)


def test_the_default_folder_is_one_per_system_user() -> None:
    assert default_root().name == f"cxpulse-import-uploads-{os.getuid()}"


def test_a_new_folder_is_private_whatever_the_umask(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads")
    before = os.umask(0)
    try:
        staged = store.save(CSV, filename="a.csv", organisation_id=1, user_id=2, survey_id=3)
    finally:
        os.umask(before)
    info = os.lstat(store.root)
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()
    assert store.find(staged.token, organisation_id=1, user_id=2) == staged
    assert store.find(staged.token, organisation_id=1, user_id=9) is None


@pytest.mark.parametrize("mode", [0o755, 0o777, 0o701])
def test_a_folder_others_can_enter_is_refused(tmp_path: Path, mode: int) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    os.chmod(root, mode)
    store = UploadStore(root)
    with pytest.raises(UnsafeUploadFolder, match=f"{root}.*mode is {mode:o}, not 700"):
        _save(store)
    with pytest.raises(UnsafeUploadFolder):
        store.find("a" * 32, organisation_id=1, user_id=2)
    assert list(root.iterdir()) == []  # nothing written there


def test_a_link_in_place_of_the_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "uploads").symlink_to(elsewhere)
    store = UploadStore(tmp_path / "uploads")
    with pytest.raises(UnsafeUploadFolder, match="not a directory"):
        _save(store)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a folder to another user")
def test_a_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    root.mkdir(mode=0o700)
    os.chown(root, 65534, 65534)
    store = UploadStore(root)
    with pytest.raises(UnsafeUploadFolder, match="belongs to user 65534"):
        _save(store)


@pytest.mark.parametrize(
    "stored",
    ["../../outside.csv", "a/b.csv", "..", "sub\\file.csv", "x..csv", "", "/etc/passwd"],
)
def test_a_record_naming_a_path_outside_its_folder_finds_nothing(
    tmp_path: Path, stored: str
) -> None:
    store = UploadStore(tmp_path / "uploads")
    staged = _save(store)
    token = staged.token
    (tmp_path / "outside.csv").write_text("Rating\n1\n")
    record_path = store.root / token / "upload.json"
    record = json.loads(record_path.read_text())
    record["filename"] = stored
    record_path.write_text(json.dumps(record))
    assert store.find(token, organisation_id=1, user_id=2) is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("...csv", "upload.csv"),
        ("report..final.CSV", "report.final.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\me\\answers.xlsx", "answers.xlsx"),
        (".hidden.csv", "hidden.csv"),
        ("a. .csv", "a.csv"),
    ],
)
def test_a_browsers_file_name_is_kept_without_dots_or_separators(given: str, kept: str) -> None:
    assert clean_filename(given) == kept


def test_an_upload_whose_name_had_double_dots_is_found_again(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads")
    staged = _save(store, "march..answers.csv")
    found = store.find(staged.token, organisation_id=1, user_id=2)
    assert found is not None
    assert found.filename == "march.answers.csv"
    assert found.path.read_bytes() == b"Rating\n5\n"
