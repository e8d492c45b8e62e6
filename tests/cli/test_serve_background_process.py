"""``cxpulse serve`` analyses comments in a child process (its text thread at the lowest
priority), through the real
console script: the child is there while the server runs, it leaves by itself when the
server is killed without a chance to stop it (kill -9), so no orphan keeps working, and
Ctrl+C in a terminal or a service manager's stop (a signal to the whole process group)
stops both promptly."""

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


def _lowered_threads(pid: int) -> list[int]:
    """Threads of ``pid`` scheduled below the server: SCHED_IDLE (policy 5) or niced."""
    lowered = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        # After the name: field 19 (nice) is at 16, field 41 (policy) at 38.
        if int(fields[16]) >= 10 or int(fields[38]) == 5:
            lowered.append(int(task.name))
    return lowered


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
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
            # A process group of its own, as a terminal gives a command.
            start_new_session=True,
        )
    return server, port, log


def _child_of(server: subprocess.Popen[bytes], port: int, log: Path) -> int:
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
    # Only the text stage's thread is lowered: the thread holding SQLite's write lock keeps
    # the server's priority, so that it is never preempted inside a transaction.
    while not _lowered_threads(child):
        assert time.monotonic() < deadline, "no thread of the child has a lower priority"
        time.sleep(0.1)
    assert child not in _lowered_threads(child), "the child's main thread was lowered"
    return child


def test_the_child_runs_beside_the_server_and_leaves_with_it(tmp_path: Path) -> None:
    server, port, log = _serve(tmp_path)
    try:
        child = _child_of(server, port, log)
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


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_group_stops_the_server_and_its_child(
    tmp_path: Path, signum: signal.Signals
) -> None:
    server, port, log = _serve(tmp_path)
    try:
        child = _child_of(server, port, log)
        # What a terminal does on Ctrl+C (SIGINT), and `timeout` or a service manager on
        # stop (SIGTERM): the signal reaches every process of the group. The server must
        # still stop its child and exit (it once waited forever on a child killed so).
        time.sleep(3.0)  # the child idles between rounds: the moment that once hung
        os.killpg(server.pid, signum)
        server.wait(timeout=30)
        gone = time.monotonic() + 15
        while _alive(child):
            assert time.monotonic() < gone, "the child outlived its server by 15 s"
            time.sleep(0.1)
        assert "Finished server process" in log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
