from __future__ import annotations

from cxpulse.web.key_cache import KeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_live_for_the_ttl_only() -> None:
    clock = Clock()
    cache: KeyCache[str] = KeyCache(5.0, clock=clock)
    cache.put("cxp_abc.secret", 1, "org 1")
    assert cache.get("cxp_abc.secret") == "org 1"
    assert cache.get("cxp_abc.other") is None
    clock.now += 4.9
    assert cache.get("cxp_abc.secret") == "org 1"
    clock.now += 0.2
    assert cache.get("cxp_abc.secret") is None


def test_forget_drops_every_token_of_a_key() -> None:
    cache: KeyCache[str] = KeyCache(60.0)
    cache.put("token-a", 7, "a")
    cache.put("token-b", 7, "b")
    cache.put("token-c", 8, "c")
    cache.forget(7)
    assert (cache.get("token-a"), cache.get("token-b"), cache.get("token-c")) == (None, None, "c")


def test_no_plaintext_is_kept_and_size_is_bounded() -> None:
    clock = Clock()
    cache: KeyCache[int] = KeyCache(60.0, max_entries=3, clock=clock)
    for n in range(5):
        clock.now += 1
        cache.put(f"secret-{n}", n, n)
    assert len(cache) == 3
    assert cache.get("secret-0") is None
    assert cache.get("secret-1") is None
    assert cache.get("secret-4") == 4
    assert not any("secret" in repr(key) for key in cache._entries)


def test_a_zero_ttl_caches_nothing() -> None:
    cache: KeyCache[int] = KeyCache(0)
    cache.put("t", 1, 1)
    assert cache.get("t") is None
    assert len(cache) == 0
