"""Several processes on one PostgreSQL database, through the real console script.

``cxpulse serve --workers 2`` (two server processes sharing the port; the kernel hands each
new connection to one of them) and two ``cxpulse worker`` processes, on a database made for
the test:

- answers sent through both server processes are each stored once, and the daily rollups
  equal a recount of them;
- the login limit holds for the service: beyond the burst, a 429 whichever process answers
  (each answer's process is found from the kernel's table of sockets);
- two workers send each queued email exactly once between them, each taking its share;
- a worker killed with SIGKILL while it holds claimed items: those are taken over by the
  other worker once their lease (``--lock-seconds``) has run out, and never sent twice.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from tests.smtp_server import RecordingHandler, free_port
from tests.web.helpers import PASSWORD, Org, build_org

from cxpulse.collect.invitation_scheduling import INVITATION_KIND as INVITATION
from cxpulse.collect.invitations import InvitationRequest, create_invitations
from cxpulse.store import accounts, rollups, surveys
from cxpulse.store.db import create_engine_for, migrate, session_factory
from cxpulse.store.models import OutboxItem, Response

pytestmark = pytest.mark.slow

CXPULSE = str(Path(sys.executable).parent / "cxpulse")
SECRET = "several-processes-test-key"


# ------------------------------------------------------------------------------ the database


@pytest.fixture
def database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database at the newest schema, dropped afterwards."""
    name = f"cxpulse_procs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    made = create_engine_for(database)
    migrate(made)
    try:
        yield made
    finally:
        made.dispose()


@pytest.fixture
def org(engine: Engine) -> Org:
    with session_factory(engine).begin() as session:
        return build_org(session, "acme")


def _env(database: str, **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "CXPULSE_DATABASE_URL": database,
        "CXPULSE_SECRET_KEY": SECRET,
        "CXPULSE_COOKIE_SECURE": "false",
        # The workers run apart, as in docs/deployment.md.
        "CXPULSE_INLINE_WORKER": "false",
        "CXPULSE_BACKGROUND_WORK": "off",
        **{f"CXPULSE_{name.upper()}": value for name, value in settings.items()},
    }


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ------------------------------------------------------------------------- the server processes


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    children: list[int]
    log: Path


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # uvicorn's server processes (multiprocessing's spawn), not its resource tracker.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


@contextmanager
def serve(database: str, tmp_path: Path, **settings: str) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CXPULSE, "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
            cwd=tmp_path,
            env=_env(database, **settings),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def up() -> bool:
            assert process.poll() is None, log.read_text()
            return log.read_text().count("Application startup complete") >= 2

        _wait(up, 50, "two server processes")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
        children = _children(process.pid)
        assert len(children) == 2, children
        yield Served(process, port, children, log)
    finally:
        _stop(process)


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            return fields[9]
    return None


def _owner(served: Served, client_port: int) -> int | None:
    """Which server process holds the connection from ``client_port``."""
    inode = _socket_inode(served.port, client_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in served.children:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == wanted:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def _request(
    served: Served, method: str, path: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, int | None, dict[str, str]]:
    """Send one request on a new connection: its status, the process that answered it and
    the response headers."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        answer = connection.getresponse()
        answer.read()
        assert connection.sock is not None
        owner = _owner(served, connection.sock.getsockname()[1])
        return answer.status, owner, {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()


def test_answers_and_the_login_limit_span_both_server_processes(
    database: str, engine: Engine, org: Org, tmp_path: Path
) -> None:
    burst = 5
    with session_factory(engine)() as session:
        before = session.scalar(select(func.count()).select_from(Response))
    with (
        serve(database, tmp_path, login_burst=str(burst), login_per_minute="0.2") as served,
        ThreadPoolExecutor(8) as pool,
    ):
        path = f"/api/v1/surveys/{org.survey_id}/responses"
        auth = {"Authorization": f"Bearer {org.write_key}"}

        def answer(n: int) -> tuple[int, int | None, dict[str, str]]:
            body = {"score": 1 + n % 5, "channel": ("email", "chat")[n % 2]}
            return _request(served, "POST", path, body, auth)

        answers = list(pool.map(answer, range(150)))
        assert Counter(status for status, _, _ in answers) == {201: 150}
        by_process = Counter(owner for _, owner, _ in answers)
        assert set(by_process) == set(served.children), by_process

        # Logins with the right password: the first `burst` of the whole service succeed.
        login = {"email": org.emails["owner"], "password": PASSWORD}
        attempts: list[tuple[int, int | None, dict[str, str]]] = []
        refused_by: set[int | None] = set()
        while refused_by != set(served.children) and len(attempts) < 120:
            batch = list(
                pool.map(lambda _: _request(served, "POST", "/api/v1/auth/login", login), range(8))
            )
            attempts.extend(batch)
            refused_by |= {owner for status, owner, _ in batch if status == 429}
        assert refused_by == set(served.children), "429s did not come from both processes"
        statuses = Counter(status for status, _, _ in attempts)
        assert statuses == {200: burst, 429: len(attempts) - burst}
        assert all(
            int(headers["retry-after"]) > 60 for status, _, headers in attempts if status == 429
        )
        assert served.process.poll() is None

    with session_factory(engine)() as session:
        stored = session.scalar(select(func.count()).select_from(Response))
        assert stored == (before or 0) + 150
        assert rollups.stored(session, org.id) == rollups.recount(session, org.id)


# --------------------------------------------------------------------------------- the workers


@dataclass
class Arrival:
    at: float
    sender: str
    message_id: str


@dataclass
class TimedHandler(RecordingHandler):
    """Keeps when each message arrived and from which envelope sender, after ``delay``
    seconds of work per message (so that batches take a while to send)."""

    delay: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        reply = await super().handle_DATA(server, session, envelope)
        received = self.received[-1]
        with self.lock:
            self.arrivals.append(
                Arrival(time.time(), received.sender, str(received.parsed()["Message-ID"]))
            )
        return reply


@contextmanager
def smtp(delay: float) -> Iterator[tuple[TimedHandler, int]]:
    handler = TimedHandler(delay=delay)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _worker(
    database: str, smtp_port: int, sender: str, log: Path, lock_seconds: float
) -> subprocess.Popen[bytes]:
    env = _env(
        database,
        smtp_host="127.0.0.1",
        smtp_port=str(smtp_port),
        mail_from=f"{sender}@acme.example",
        public_url="https://cx.example",
    )
    with log.open("ab") as output:
        return subprocess.Popen(
            [CXPULSE, "worker", "--batch-size", "20", "--lock-seconds", str(lock_seconds)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _invite(engine: Engine, count: int) -> dict[int, str]:
    """An organisation whose survey invites ``count`` people by email, and nothing else
    queued: the invitations' Message-IDs by invitation id."""
    with session_factory(engine).begin() as session:
        organisation = accounts.create_organisation(session, slug="acme", name="Acme")
        survey = surveys.create_survey(
            session, organisation.id, slug="csat", name="CSAT", metric="csat", status="active"
        )
        made = create_invitations(
            session,
            organisation.id,
            survey.id,
            [InvitationRequest(email=f"c{n}@example.com") for n in range(count)],
        )
        ids = [t.invitation.id for t in made]
    return {i: f"<cxpulse.invitation.{i}@acme.example>" for i in ids}


def _states(engine: Engine) -> Counter[str]:
    with session_factory(engine)() as session:
        return Counter(
            dict(
                session.execute(
                    select(OutboxItem.state, func.count())
                    .where(OutboxItem.kind == INVITATION)
                    .group_by(OutboxItem.state)
                ).all()
            )
        )


def test_two_workers_send_each_email_once(database: str, engine: Engine, tmp_path: Path) -> None:
    count = 200
    expected = _invite(engine, count)
    with smtp(delay=0.01) as (handler, port):
        workers = [
            _worker(database, port, name, tmp_path / f"{name}.log", 60.0) for name in ("a", "b")
        ]
        try:
            _wait(lambda: _states(engine)["sent"] == count, 50, "every email sent")
            time.sleep(1.0)  # anything sent twice would arrive by now
        finally:
            for process in workers:
                _stop(process)
        arrivals = list(handler.arrivals)
    ids = Counter(arrival.message_id for arrival in arrivals)
    assert set(ids) == set(expected.values())
    assert set(ids.values()) == {1}, "an email arrived twice"
    senders = Counter(arrival.sender for arrival in arrivals)
    assert set(senders) == {"a@acme.example", "b@acme.example"}, senders
    assert _states(engine) == {"sent": count}
    assert [process.returncode for process in workers] == [0, 0]


def test_a_killed_workers_claims_are_taken_over_after_their_lease(
    database: str, engine: Engine, tmp_path: Path
) -> None:
    count, lease = 160, 4.0
    expected = _invite(engine, count)
    by_message = {message: invitation for invitation, message in expected.items()}
    with smtp(delay=0.03) as (handler, port):
        doomed = _worker(database, port, "a", tmp_path / "a.log", lease)
        survivor = _worker(database, port, "b", tmp_path / "b.log", lease)
        try:

            def both_sending() -> bool:
                senders = Counter(arrival.sender for arrival in list(handler.arrivals))
                return min(senders["a@acme.example"], senders["b@acme.example"]) >= 5

            _wait(both_sending, 40, "both workers sending")
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait(10)
            killed_at = time.time()
            # The claims held at the kill (the survivor's too: those it finishes itself).
            with session_factory(engine)() as session:
                held = {
                    int(payload["invitation_id"]): locked_until
                    for payload, locked_until in session.execute(
                        select(OutboxItem.payload, OutboxItem.locked_until).where(
                            OutboxItem.kind == INVITATION,
                            OutboxItem.state.in_(("sending", "completing")),
                        )
                    )
                }

            def settled() -> bool:
                states = _states(engine)
                return states["sent"] + states["unconfirmed"] == count

            _wait(settled, 45, "every item sent or unconfirmed")
            time.sleep(0.5)
        finally:
            _stop(survivor)
            if doomed.poll() is None:
                doomed.kill()
        arrivals = list(handler.arrivals)
    ids = Counter(arrival.message_id for arrival in arrivals)
    assert set(ids.values()) == {1}, "an email arrived twice"
    with session_factory(engine)() as session:
        items = session.execute(
            select(OutboxItem.payload, OutboxItem.state, OutboxItem.attempts).where(
                OutboxItem.kind == INVITATION
            )
        ).all()
    attempts = {int(payload["invitation_id"]): n for payload, _, n in items}
    unconfirmed = {int(payload["invitation_id"]) for payload, state, _ in items if state != "sent"}
    # At most the one item the killed worker's thread was finishing is of unknown fate.
    assert len(unconfirmed) <= 1
    missing = {i for i, message in expected.items() if message not in ids}
    assert missing <= unconfirmed
    # Claimed twice: held by the killed worker, then taken over by the other one, only
    # once the killed worker's lease had run out.
    taken_over = {i for i, n in attempts.items() if n >= 2}
    assert taken_over, "the killed worker held no claimed item"
    assert taken_over <= set(held)
    for arrival in arrivals:
        invitation = by_message[arrival.message_id]
        if invitation in taken_over:
            assert arrival.sender == "b@acme.example"
            lease_end = held[invitation]
            assert isinstance(lease_end, datetime)
            assert arrival.at >= lease_end.timestamp() - 0.05
            assert arrival.at > killed_at
    assert survivor.returncode == 0
