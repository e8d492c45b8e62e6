"""A short-lived, per-process memory of API keys already checked, for the submission route.

``POST /api/v1/surveys/{id}/responses`` is called by machines, many times a second with the
same key. Looking the key up costs a query; this cache answers "which organisation, which
scope, which key" from memory for ``ttl`` seconds (default 5) after a successful lookup.

It never makes a revoked key usable: every submission's transaction checks again, in the
database, that its key is not revoked (``submissions``), so a key revoked anywhere (another
worker process, ``cxpulse api-key revoke``) stores nothing more from the moment its
revocation commits. Revoking through this process also drops the key from this cache at
once. What the cache does delay, by at most ``ttl``, is noticing in other processes that a
key was revoked *before* a submission is queued: such a request gets its 401 from the
transaction instead of from the lookup.

Entries are keyed by a SHA-256 digest of the whole token, so that no plaintext key is kept;
unknown keys are never cached (each try costs a lookup, as without the cache).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_ENTRIES = 10_000


class KeyCache(Generic[V]):
    """token -> value for ``ttl`` seconds; ``forget(key_id)`` drops a key's entries at once."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[float, int, V]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()

    def get(self, token: str) -> V | None:
        entry = self._entries.get(self._digest(token))
        if entry is None:
            return None
        expires, _, value = entry
        if self._clock() >= expires:
            return None
        return value

    def put(self, token: str, key_id: int, value: V) -> None:
        if self.ttl <= 0:
            return
        now = self._clock()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {
                    digest: entry for digest, entry in self._entries.items() if entry[0] > now
                }
                while len(self._entries) >= self.max_entries:
                    # The oldest first: dicts keep insertion order.
                    del self._entries[next(iter(self._entries))]
            self._entries[self._digest(token)] = (now + self.ttl, key_id, value)

    def forget(self, key_id: int) -> None:
        """Drop every entry of the key ``key_id`` (after its revocation commits)."""
        with self._lock:
            self._entries = {
                digest: entry for digest, entry in self._entries.items() if entry[1] != key_id
            }

    def clear(self) -> None:
        with self._lock:
            self._entries = {}

    def __len__(self) -> int:
        return len(self._entries)
