"""``cxpulse serve`` and the client address: X-Forwarded-For is believed only from the proxies
of ``CXPULSE_TRUSTED_PROXIES`` (none by default), through the real console script, uvicorn and
loopback sockets.

Defect 6: uvicorn's default trusts the header from 127.0.0.1, so 20 wrong passwords sent with
a new X-Forwarded-For each were all answered 401, and the right password then worked; the
public pages' limit fell the same way.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cxpulse.cli.serving import ProxyOptions, proxy_options
from cxpulse.config import Settings

from .test_service import CXPULSE, Cli, free_port

EMAIL = "ana@acme.example"
PASSWORD = "correct horse battery"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    made = Cli(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")
    made.run(
        "create-user",
        *("--org", "acme", "--create-org", "Acme", "--email", EMAIL, "--role", "owner"),
        *("--password", "-"),
        input=PASSWORD + "\n",
    )
    return made


@contextmanager
def serving(cli: Cli, **env: str) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = cli.cwd / f"serve-{port}.err"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [CXPULSE, "serve", "--port", str(port), "--no-access-log"],
            cwd=cli.cwd,
            env={**cli.env, "CXPULSE_INLINE_WORKER": "false", **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the server did not come up in 60 s"
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call(
    url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, list[str], Any]:
    """Status, cookies set and JSON body (None when not JSON) of a request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, raw = answer.status, answer.read()
            found = answer.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
        found = error.headers.get_all("Set-Cookie") or []
        error.close()
    try:
        return status, found, json.loads(raw)
    except ValueError:
        return status, found, None


def login(base: str, password: str, forwarded: str) -> tuple[int, list[str], Any]:
    return call(
        f"{base}/api/v1/auth/login",
        {"email": EMAIL, "password": password},
        {"X-Forwarded-For": forwarded},
    )


def sessions_of(base: str, cookies: list[str]) -> list[dict[str, Any]]:
    cookie = next(c for c in cookies if c.startswith("cxpulse_session=")).split(";")[0]
    status, _, body = call(f"{base}/api/v1/sessions", headers={"Cookie": cookie})
    assert status == 200
    items: list[dict[str, Any]] = body["items"]
    return items


def test_a_rotating_forwarded_for_cannot_escape_the_limits_by_default(cli: Cli) -> None:
    with serving(cli) as base:
        wrong = [login(base, "wrong password", f"10.0.{n}.1")[0] for n in range(8)]
        assert wrong == [401] * 5 + [429] * 3
        right = login(base, PASSWORD, "10.9.9.9")
        assert right[0] == 429
        assert "from your address" in right[2]["detail"]
        # The survey pages' limit (30 at once per address): the 31st answer is refused.
        public = [
            call(f"{base}/u/not-a-token", {}, {"X-Forwarded-For": f"10.1.{n}.1"})[0]
            for n in range(31)
        ]
        assert 429 not in public[:30]
        assert public[30] == 429


def test_trusted_proxies_are_believed_and_the_limits_count_the_real_client(cli: Cli) -> None:
    with serving(cli, CXPULSE_TRUSTED_PROXIES="127.0.0.1, ::1") as base:
        assert [login(base, "wrong", "198.51.100.7")[0] for _ in range(6)] == [401] * 5 + [429]
        status, headers, _ = login(base, PASSWORD, "203.0.113.5")
        assert status == 200  # another client behind the same proxy is not locked out
        (session,) = sessions_of(base, headers)
        assert session["source"] == "203.0.113.5"
        # What the client wrote itself, before the proxy's own entry, is not believed.
        status, headers, _ = login(base, PASSWORD, "1.2.3.4, 203.0.113.6")
        assert status == 200
        assert {s["source"] for s in sessions_of(base, headers)} == {"203.0.113.5", "203.0.113.6"}


def test_proxy_options_for_uvicorn(tmp_path: Path) -> None:
    def options(value: str) -> ProxyOptions:
        env = {"CXPULSE_SECRET_KEY": "k", "CXPULSE_TRUSTED_PROXIES": value}
        return proxy_options(Settings.from_env(env, cwd=tmp_path))

    # Uvicorn's own default would believe 127.0.0.1: cxpulse turns the headers off instead.
    assert options("") == {"proxy_headers": False, "forwarded_allow_ips": []}
    assert options("10.0.0.1/8, ::1") == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.0/8", "::1"],
    }
