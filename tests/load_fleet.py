"""Real processes for load and fault runs on loopback: ``cxpulse serve`` and ``cxpulse worker``
as child processes, a shop with a rule and a webhook endpoint, and the figures they leave.

Used by ``bench/soak.py`` and ``tests/adversarial/test_faults.py``:

    shop = make_shop(url, hook_url)                 # organisation, survey, key, rule, endpoint
    server = start_server(url, port, log, workers=2)
    worker = start_worker(url, smtp_port, log)
    ...
    rss_kb(server.pid), tree_pids(server.pid)       # from /proc (psutil is not required)
    stop(server)

Every process runs in its own session (process group), so that ``stop`` ends it with its
children and a test can kill one of them with SIGKILL. Servers run without their own outbox
worker (``CXPULSE_INLINE_WORKER=false``, ``CXPULSE_BACKGROUND_WORK=off``): the ``cxpulse
worker`` processes send the emails, run the closed loop and analyse the comments.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECRET_KEY = "load-fleet-secret-key-0123456789abcdef"
NOTICE_ADDRESS = "cx-lead@acme.example"
MAIL_DOMAIN = "acme.example"
LOW_SCORES = frozenset(range(7))
"""Detractors of an NPS survey (0-6): the rule's "bottom" band, each emailed once."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cli() -> list[str]:
    script = Path(sys.executable).with_name("cxpulse")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from cxpulse.cli import main; main()"]


# The shop


@dataclass(frozen=True)
class Shop:
    url: str
    organisation_id: int
    survey_id: int
    key: str
    """A write API key of the organisation."""
    hook_secret: str
    """The webhook endpoint's signing secret (for the receiver)."""
    rule_id: int


def make_shop(url: str, hook_url: str) -> Shop:
    """A migrated database holding one organisation with an active NPS survey, a write key,
    a webhook endpoint for ``response.created`` at ``hook_url`` and a rule that emails
    ``NOTICE_ADDRESS`` about each detractor."""
    from cxpulse.act import rules
    from cxpulse.store import accounts, surveys, webhooks
    from cxpulse.store.db import create_engine_for, migrate, session_factory

    engine = create_engine_for(url)
    try:
        migrate(engine)
        with session_factory(engine).begin() as session:
            org = accounts.create_organisation(session, slug="acme", name="Acme")
            survey = surveys.create_survey(
                session,
                org.id,
                slug="relationship-nps",
                name="Relationship NPS",
                metric="nps",
                status="active",
            )
            _, key = accounts.create_api_key(session, org.id, name="load", scope="write")
            endpoint = webhooks.create_endpoint(
                session, org.id, url=hook_url, events=["response.created"]
            )
            rule = rules.create_rule(
                session,
                org.id,
                name="Tell the lead about detractors",
                survey_id=survey.id,
                conditions={"band": ["bottom"]},
                actions={"email": {"addresses": [NOTICE_ADDRESS]}},
            )
            return Shop(url, org.id, survey.id, key, endpoint.secret, rule.id)
    finally:
        engine.dispose()


# Processes


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid


def _spawn(
    name: str, command: list[str], env: Mapping[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def base_env(url: str, smtp_port: int | None = None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CXPULSE_DATABASE_URL": url,
        "CXPULSE_SECRET_KEY": SECRET_KEY,
        "CXPULSE_INLINE_WORKER": "false",
        "CXPULSE_BACKGROUND_WORK": "off",
        "CXPULSE_MAIL_FROM": f"surveys@{MAIL_DOMAIN}",
        "CXPULSE_PUBLIC_URL": "https://cx.acme.example",
    }
    if smtp_port is not None:
        env.update({"CXPULSE_SMTP_HOST": "127.0.0.1", "CXPULSE_SMTP_PORT": str(smtp_port)})
    env.update(extra)
    return env


def start_server(
    url: str,
    port: int,
    log: Path,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    wait: bool = True,
) -> Proc:
    """``cxpulse serve`` on 127.0.0.1:``port``, answering /healthz (unless ``wait=False``)."""
    command = [*cli(), "serve", "--port", str(port), "--workers", str(workers), "--no-access-log"]
    process = _spawn("server", command, env or base_env(url), log)
    proc = Proc(f"server:{port}", process, log, port)
    if wait:
        wait_healthy(proc)
    return proc


def start_worker(
    url: str, smtp_port: int, log: Path, *, lock_seconds: float = 10.0, threads: int = 1
) -> Proc:
    command = [*cli(), "worker", "--lock-seconds", f"{lock_seconds:g}", "--threads", str(threads)]
    process = _spawn("worker", command, base_env(url, smtp_port), log)
    return Proc(f"worker:{process.pid}", process, log)


def wait_working(proc: Proc, timeout: float = 60.0) -> None:
    """Until ``cxpulse worker`` says it is sending (its imports and the schema check done)."""
    deadline = time.monotonic() + timeout
    while "cxpulse worker: sending through" not in tail(proc.log, 100_000):
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited at start:\n{tail(proc.log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not start within {timeout:.0f} s")
        time.sleep(0.2)


def wait_healthy(proc: Proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    target = f"http://127.0.0.1:{proc.port}/healthz"
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited at start:\n{tail(proc.log)}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(target, timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not answer {target} within {timeout:.0f} s")


def stop(proc: Proc, timeout: float = 20.0) -> None:
    """SIGTERM to the process group, SIGKILL after ``timeout``."""
    if proc.popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=timeout)
    # Children of a killed parent (uvicorn's workers) may outlive it: end the whole group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(timeout=5)


def tail(log: Path, size: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-size:]
    except OSError:
        return ""


# /proc


def rss_kb(pid: int) -> int | None:
    """Resident memory of ``pid`` in kB (VmRSS of /proc/PID/status); None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def tree_pids(root: int) -> list[int]:
    """``root`` and its live descendants, parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop(0)
        if Path(f"/proc/{pid}").exists():
            found.append(pid)
        stack.extend(sorted(children.get(pid, [])))
    return found


def server_children(proc: Proc, count: int, timeout: float = 30.0) -> list[int]:
    """The serving processes of a ``--workers N`` server (uvicorn's children)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in tree_pids(proc.pid) if p != proc.pid and _is_python(p)]
        if len(pids) >= count or time.monotonic() > deadline:
            return pids
        time.sleep(0.2)


def _is_python(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # uvicorn's worker processes are multiprocessing children (spawn): "-c from
    # multiprocessing.spawn"; its resource tracker is one too but is not a server.
    return b"spawn_main" in command and b"resource_tracker" not in command
