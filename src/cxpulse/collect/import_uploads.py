"""Uploaded files waiting between the steps of the import pages (upload, map, import).

A file is kept server-side in a directory of its own, named by a random token (never by
anything the browser sends but that token), with a small JSON record of who uploaded it
(organisation and user), into which survey, under which name and when. It is found again
only by the same user of the same organisation, and only for :data:`UPLOAD_TTL`; expired
uploads are removed whenever another is saved, and an upload is removed once imported.
The pages hold only the token, so a client cannot point the importer at any other path.

The folder is the server user's own (``cxpulse-import-uploads-<uid>``, mode 0700): in a
shared temporary directory another local user could create the folder first, or a link in
its place, and read or swap the uploads. So it is made private, and before each use checked
to be a real directory owned by this user with mode 0700; otherwise the store refuses to
work (``UnsafeUploadFolder``, naming the folder) rather than trust it. A record's file name
is confined too: a name with a path separator or ``..`` is refused, never joined.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

from cxpulse.engine.files import FORMATS

__all__ = [
    "UPLOAD_TTL",
    "StagedUpload",
    "UnsafeUploadFolder",
    "UploadStore",
    "clean_filename",
    "default_root",
]

UPLOAD_TTL = 3600.0
"""Seconds an upload waits for its import."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_RECORD = "upload.json"


def _uid() -> int | None:
    """This process's user id; None where the system has none (Windows)."""
    getuid = getattr(os, "getuid", None)
    return getuid() if getuid is not None else None


def default_root() -> Path:
    """Where uploads wait: a folder of the system's temporary directory, one per system
    user."""
    uid = _uid()
    suffix = f"-{uid}" if uid is not None else ""
    return Path(tempfile.gettempdir()) / f"cxpulse-import-uploads{suffix}"


class UnsafeUploadFolder(RuntimeError):
    """The uploads' folder is not a private directory of this user: nothing is read from it
    or written to it."""


def clean_filename(name: str | None) -> str:
    """The base name of an uploaded file, with characters other than letters, digits, space,
    dot, dash and underscore replaced and runs of dots made one (the browser's name is only
    ever displayed, and never holds a separator or ``..``)."""
    path = PurePath((name or "").replace("\\", "/"))
    stem = re.sub(r"[^\w.\- ]", "_", path.stem)
    stem = re.sub(r"\.{2,}", ".", stem).strip(". ")[:100].rstrip(". ") or "upload"
    return stem + path.suffix.lower()


def _safe_name(name: str) -> bool:
    """Whether a stored record's file name names a file inside its upload's folder."""
    separators = {"/", "\\", os.sep, os.altsep or "/"}
    return (
        bool(name)
        and name not in (".", "..")
        and ".." not in name
        and "\0" not in name
        and not any(sep in name for sep in separators)
    )


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

    def _checked(self) -> bool:
        """Whether the folder exists, after checking that it is ours alone (a directory,
        not a link, owned by this user, mode 0700); ``UnsafeUploadFolder`` otherwise."""
        try:
            info = os.lstat(self.root)
        except FileNotFoundError:
            return False
        uid = _uid()
        problem = None
        if not stat.S_ISDIR(info.st_mode):
            problem = "it is not a directory (a link or a file)"
        elif uid is not None and info.st_uid != uid:
            problem = f"it belongs to user {info.st_uid}, not to this server's user {uid}"
        elif uid is not None and stat.S_IMODE(info.st_mode) != 0o700:
            problem = f"its mode is {stat.S_IMODE(info.st_mode):o}, not 700"
        if problem is not None:
            raise UnsafeUploadFolder(
                f"The import uploads folder {self.root} is unsafe to use: {problem}. "
                "Remove it (or make it this user's with mode 700) and try again."
            )
        return True

    def _ready(self) -> Path:
        """The folder, made private when it does not exist yet, checked when it does."""
        if not self._checked():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.root.mkdir(mode=0o700)
                os.chmod(self.root, 0o700)  # whatever the umask took away or added
            except FileExistsError:  # made meanwhile, by another process or someone else
                pass
            self._checked()
        return self.root

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
        root = self._ready()
        self.remove_expired()
        token = secrets.token_urlsafe(24)
        directory = root / token
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
        if not _TOKEN.fullmatch(token) or not self._checked():
            return None
        directory = self.root / token
        try:
            record = json.loads((directory / _RECORD).read_text(encoding="utf-8"))
            if not _safe_name(str(record["filename"])):
                return None
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
        if not self._checked():
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
