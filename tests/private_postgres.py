"""A PostgreSQL server of one test's own, in a temporary folder on a free port, that the test
may stop and start at will (the machine's shared server must never be restarted: other
tests use it).

    with private_postgres(tmp_path) as pg:
        pg.url                  # postgresql://postgres@127.0.0.1:<port>/postgres
        pg.stop()               # fast shutdown: clients are disconnected
        pg.start()

The binaries come from Debian's packages (``/usr/lib/postgresql/<version>/bin``, the newest).
``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` system
user and every command runs through ``runuser``. When the binaries or that user are missing
the test skips with the reason, or fails under ``CI=true`` (``browser_support._unavailable``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.browser_support import _unavailable
from tests.load_fleet import free_port

SERVICE_USER = "postgres"


def _binaries() -> Path | None:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    versions = sorted(
        (p for p in root.iterdir() if (p / "bin" / "pg_ctl").exists()),
        key=lambda p: int(p.name) if p.name.isdigit() else 0,
    )
    return versions[-1] / "bin" if versions else None


class PrivatePostgres:
    def __init__(self, bin_dir: Path, folder: Path, port: int, user: str | None) -> None:
        self.bin_dir = bin_dir
        self.data = folder / "data"
        self.sockets = folder / "sockets"
        self.log = folder / "postgres.log"
        self.port = port
        self._user = user

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str, timeout: float = 60.0) -> None:
        prefix = ["runuser", "-u", self._user, "--"] if self._user else []
        tool = str(self.bin_dir / command[0])
        done = subprocess.run(
            [*prefix, tool, *command[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
            )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=60 -c shared_buffers=32MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _binaries()
    if bin_dir is None:
        _unavailable("PostgreSQL's server binaries are not installed (/usr/lib/postgresql)")
        raise AssertionError("unreachable")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            _unavailable(f"initdb refuses root and there is no {SERVICE_USER!r} user to run it")
        if shutil.which("runuser") is None:
            _unavailable("initdb refuses root and runuser is not installed")
        user = SERVICE_USER
    # Not under pytest's tmp_path: the postgres user must reach it through every parent.
    folder = Path(tempfile.mkdtemp(prefix="cxpulse-private-pg-"))
    try:
        (folder / "sockets").mkdir()
        if user is not None:
            folder.chmod(0o755)
            entry = pwd.getpwnam(user)
            for path in (folder, folder / "sockets"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        server = PrivatePostgres(bin_dir, folder, free_port(), user)
        try:
            server.init()
        except (RuntimeError, OSError) as error:
            _unavailable(f"cannot create a private PostgreSQL cluster: {error}")
        server.start()
        try:
            yield server
        finally:
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                server.stop("immediate")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
