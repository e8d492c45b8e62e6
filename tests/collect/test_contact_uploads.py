"""Uploads kept between the import's steps: found by their owner only, until they expire."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from cxpulse.collect.contact_uploads import Owner, UploadGone, UploadStore

ME = Owner(1, 2, 3)


def test_an_upload_is_found_by_its_owner_only(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads")
    token = store.put(ME, "people.csv", "email\nå@example.com\n")
    staged = store.get(ME, token)
    assert (staged.filename, staged.text) == ("people.csv", "email\nå@example.com\n")
    for other in (Owner(1, 2, 4), Owner(1, 5, 3), Owner(9, 2, 3)):
        with pytest.raises(UploadGone):
            store.get(other, token)
        store.drop(other, token)  # another's drop does nothing
    assert store.get(ME, token).text
    assert stat.S_IMODE(os.stat(tmp_path / "uploads").st_mode) == 0o700
    for forged in ("../../etc/passwd", "x" * 10, token[:-1] + "!"):
        with pytest.raises(UploadGone):
            store.get(ME, forged)
    store.drop(ME, token)
    with pytest.raises(UploadGone):
        store.get(ME, token)
    assert list((tmp_path / "uploads").iterdir()) == []


def test_uploads_expire_and_are_swept(tmp_path: Path) -> None:
    store = UploadStore(tmp_path, lifetime=60)
    token = store.put(ME, "a.csv", "email\n")
    for path in tmp_path.iterdir():
        old = time.time() - 120
        os.utime(path, (old, old))
    assert store.sweep() == 2
    with pytest.raises(UploadGone):
        store.get(ME, token)
