"""A contacts file kept on the server between the steps of the browser's import (upload, map
the columns, check, import), so that the client never carries it and cannot change it.

Why on the server, not carried signed in the page: the file may be 10 MB, and every step
would post it back; a signature would stop changes but not the cost. Kept here it is posted
once. Each upload gets a random token (32 bytes from ``secrets``) that names it in the
step's URL; the token is never a path: the file's name is the token's SHA-256, so a forged
token finds nothing and cannot reach another folder. The upload is tied to its owner (the
organisation, the user and the browser session that posted it): another user, another
session, or the same person after logging in again, finds nothing. Uploads expire after
:data:`LIFETIME`; each new upload sweeps the expired ones, and an import or a cancel
deletes its own at once.

The folder is private to the server's user (mode 0700, files 0600). Several processes of
one server on one machine share it; servers behind a load balancer on several machines need
sticky sessions for the import pages (docs/contacts.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LIFETIME", "Owner", "Staged", "UploadGone", "UploadStore", "default_folder"]

LIFETIME = 3600.0
"""Seconds an upload is kept: time to map, check and import, not to forget it there."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{40,64}")


@dataclass(frozen=True)
class Owner:
    """Who may see an upload."""

    organisation_id: int
    user_id: int | None
    session_id: int | None


@dataclass(frozen=True)
class Staged:
    token: str
    filename: str
    text: str
    """The file's text, decoded once by the rule of file imports."""


class UploadGone(LookupError):
    """No such upload for this owner: never made, expired, imported, cancelled, or
    another's."""


def default_folder() -> Path:
    """A folder of the system's temporary place, one per system user."""
    uid = getattr(os, "getuid", lambda: 0)()
    return Path(tempfile.gettempdir()) / f"cxpulse-contact-uploads-{uid}"


class UploadStore:
    def __init__(self, folder: Path, lifetime: float = LIFETIME) -> None:
        self.folder = folder
        self.lifetime = lifetime

    def _ready(self) -> Path:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.folder

    def _paths(self, token: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(token.encode("ascii")).hexdigest()
        return self.folder / f"{digest}.json", self.folder / f"{digest}.txt"

    def put(self, owner: Owner, filename: str, text: str) -> str:
        """Keep ``text``; the token that finds it again (for ``owner`` only)."""
        self.sweep()
        self._ready()
        token = secrets.token_urlsafe(32)
        meta_path, text_path = self._paths(token)
        _write_private(text_path, text.encode("utf-8"))
        meta = {
            "owner": [owner.organisation_id, owner.user_id, owner.session_id],
            "filename": filename[:200],
            "at": time.time(),
        }
        # The description last: an upload without it is never found, and swept.
        _write_private(meta_path, json.dumps(meta).encode("utf-8"))
        return token

    def get(self, owner: Owner, token: str) -> Staged:
        """The upload ``token`` names, if ``owner`` made it and it has not expired."""
        if not _TOKEN.fullmatch(token):
            raise UploadGone(token)
        meta_path, text_path = self._paths(token)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta["owner"] != [owner.organisation_id, owner.user_id, owner.session_id]:
                raise UploadGone(token)
            if time.time() - float(meta["at"]) > self.lifetime:
                self.drop(owner, token)
                raise UploadGone(token)
            text = text_path.read_text(encoding="utf-8")
        except (OSError, ValueError, KeyError, TypeError):
            raise UploadGone(token) from None
        return Staged(token, str(meta["filename"]), text)

    def drop(self, owner: Owner, token: str) -> bool:
        """Delete the upload (its owner's only); whether there was one to delete, so that
        nobody is told they cancelled what is not theirs."""
        if not _TOKEN.fullmatch(token):
            return False
        meta_path, text_path = self._paths(token)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if meta.get("owner") != [owner.organisation_id, owner.user_id, owner.session_id]:
            return False
        for path in (meta_path, text_path):
            path.unlink(missing_ok=True)
        return True

    def sweep(self) -> int:
        """Delete the expired uploads (and halves of interrupted ones); how many files."""
        if not self.folder.is_dir():
            return 0
        deadline = time.time() - self.lifetime
        removed = 0
        for path in self.folder.iterdir():
            try:
                if path.stat().st_mtime < deadline:
                    path.unlink(missing_ok=True)
                    removed += 1
            except OSError:
                continue
        return removed


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
