"""``cxpulse serve`` analyses comments in a child process of lower priority, through the real
console script: the child is there while the server runs, and it leaves by itself when the
server is killed without a chance to stop it (kill -9), so no orphan keeps working."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .test_service import CXPULSE, free_port

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def _niceness(pid: int) -> int:
    return int((Path(f"/proc/{pid}/stat").read_text()).rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_child_runs_beside_the_server_and_leaves_with_it(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CXPULSE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "CXPULSE_BACKGROUND_WORK": "process",
        "CXPULSE_INLINE_WORKER": "true",
    }
    log = tmp_path / "serve.err"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [CXPULSE, "serve", "--port", str(port), "--no-access-log"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the server did not come up in 60 s"
                time.sleep(0.2)
        children: list[int] = []
        while not children:
            assert time.monotonic() < deadline, "no child process analyses comments"
            children = _children(server.pid)
            time.sleep(0.1)
        [child] = children
        while _niceness(child) < 10:
            assert time.monotonic() < deadline, "the child kept the server's priority"
            time.sleep(0.1)

        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        gone = time.monotonic() + 15
        while _alive(child):
            assert time.monotonic() < gone, "the child outlived its server by 15 s"
            time.sleep(0.1)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
