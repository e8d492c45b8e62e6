"""Uploaded files waiting between the steps of the import pages (upload, map, import).

A file is kept server-side in a directory of its own, named by a random token (never by
anything the browser sends but that token), with a small JSON record of who uploaded it
(organisation and user), into which survey, under which name and when. It is found again
only by the same user of the same organisation, and only for :data:`UPLOAD_TTL`; expired
uploads are removed whenever another is saved, and an upload is removed once imported.
The pages hold only the token, so a client cannot point the importer at any other path.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

from cxpulse.engine.files import FORMATS

__all__ = [
    "UPLOAD_TTL",
    "StagedUpload",
    "UploadStore",
    "clean_filename",
    "default_root",
]

UPLOAD_TTL = 3600.0
"""Seconds an upload waits for its import."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_RECORD = "upload.json"


def default_root() -> Path:
    """Where uploads wait: a folder of the system's temporary directory."""
    return Path(tempfile.gettempdir()) / "cxpulse-import-uploads"


def clean_filename(name: str | None) -> str:
    """The base name of an uploaded file, with characters other than letters, digits, space,
    dot, dash and underscore replaced (the browser's name is only ever displayed)."""
    path = PurePath((name or "").replace("\\", "/"))
    stem = re.sub(r"[^\w.\- ]", "_", path.stem).strip()[:100] or "upload"
    return stem + path.suffix.lower()


@dataclass(frozen=True)
class StagedUpload:
    token: str
    path: Path
    """The file, named like the upload (``clean_filename``)."""
    filename: str
    organisation_id: int
    user_id: int
    survey_id: int
    created: float
    """``time.time()`` of the upload."""
    size: int

    @property
    def directory(self) -> Path:
        return self.path.parent


class UploadStore:
    """Uploads under ``root``: one private directory each."""

    def __init__(self, root: Path | None = None, ttl: float = UPLOAD_TTL) -> None:
        self.root = root or default_root()
        self.ttl = ttl

    def save(
        self,
        chunks: Iterable[bytes],
        *,
        filename: str,
        organisation_id: int,
        user_id: int,
        survey_id: int,
    ) -> StagedUpload:
        """Store the upload's bytes; the file's suffix must be one of ``engine.files.FORMATS``
        (``ValueError`` otherwise, nothing kept)."""
        name = clean_filename(filename)
        if PurePath(name).suffix not in FORMATS:
            raise ValueError(f"unsupported file type {PurePath(name).suffix or '(none)'!r}")
        self.remove_expired()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        token = secrets.token_urlsafe(24)
        directory = self.root / token
        directory.mkdir(mode=0o700)
        path = directory / name
        size = 0
        try:
            with path.open("wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    out.write(chunk)
            created = time.time()
            record = {
                "filename": name,
                "organisation_id": organisation_id,
                "user_id": user_id,
                "survey_id": survey_id,
                "created": created,
                "size": size,
            }
            (directory / _RECORD).write_text(json.dumps(record), encoding="utf-8")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return StagedUpload(token, path, name, organisation_id, user_id, survey_id, created, size)

    def find(self, token: str, *, organisation_id: int, user_id: int) -> StagedUpload | None:
        """The upload ``token`` of this user, or None (unknown, someone else's, expired)."""
        if not _TOKEN.fullmatch(token):
            return None
        directory = self.root / token
        try:
            record = json.loads((directory / _RECORD).read_text(encoding="utf-8"))
            upload = StagedUpload(
                token=token,
                path=directory / str(record["filename"]),
                filename=str(record["filename"]),
                organisation_id=int(record["organisation_id"]),
                user_id=int(record["user_id"]),
                survey_id=int(record["survey_id"]),
                created=float(record["created"]),
                size=int(record["size"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if upload.organisation_id != organisation_id or upload.user_id != user_id:
            return None
        if time.time() - upload.created > self.ttl or not upload.path.is_file():
            self.remove(upload)
            return None
        return upload

    def remove(self, upload: StagedUpload) -> None:
        shutil.rmtree(self.root / upload.token, ignore_errors=True)

    def remove_expired(self) -> None:
        """Delete uploads older than the time to live (a crash may have left some)."""
        if not self.root.is_dir():
            return
        limit = time.time() - self.ttl
        for directory in self.root.iterdir():
            if not _TOKEN.fullmatch(directory.name):
                continue
            try:
                if directory.stat().st_mtime < limit:
                    shutil.rmtree(directory, ignore_errors=True)
            except OSError:
                continue
