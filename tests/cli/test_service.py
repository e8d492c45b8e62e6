"""The service commands through the real ``cxpulse`` console script, as an operator runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cxpulse.demo.seed import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_ORG_SLUG
from cxpulse.store import accounts
from cxpulse.store.db import create_engine_for, current_revision, head_revision, session_factory
from cxpulse.store.models import AuditLog, Organisation, Response, Survey

CXPULSE = str(Path(sys.executable).parent / "cxpulse")
SURVEY_SLUGS = {"support-csat", "relationship-nps", "returns-ces"}


class Cli:
    """Runs ``cxpulse`` in a scratch directory with ``CXPULSE_DATABASE_URL`` set."""

    def __init__(self, cwd: Path, database_url: str) -> None:
        self.cwd = cwd
        # A wide terminal, so that tables are not squeezed.
        self.env = {**os.environ, "CXPULSE_DATABASE_URL": database_url, "COLUMNS": "160"}

    def run(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CXPULSE, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.cwd,
            env=self.env,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def fails(self, *args: str, code: int = 1, input: str | None = None) -> str:
        """Run a command that must fail with one clear line on stderr; return that line."""
        result = self.run(*args, input=input, check=False)
        assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        return lines[0]


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    """The CLI on an empty database, SQLite and PostgreSQL."""
    return Cli(tmp_path, database_url)


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    """An engine on the database the CLI uses (the CLI migrates it)."""
    engine = create_engine_for(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_json(url: str, token: str | None = None) -> Any:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_migrate_reports_the_revisions(cli: Cli, store: Engine) -> None:
    first = cli.run("migrate")
    assert f"from revision (empty database) to {head_revision()}" in first.stdout
    assert current_revision(store) == head_revision()
    again = cli.run("migrate")
    assert f"is up to date (revision {head_revision()})" in again.stdout


def test_create_user_then_login_works(cli: Cli, store: Engine) -> None:
    created = cli.run(
        "create-user",
        "--org",
        "acme",
        "--create-org",
        "Acme Ltd",
        "--email",
        "Ana@Acme.example",
        "--role",
        "owner",
        "--name",
        "Ana",
        "--password",
        "-",
        input="correct horse battery\n",
    )
    assert "created organisation acme (Acme Ltd)" in created.stdout
    assert "ana@acme.example, owner of acme" in created.stdout
    # A second user in the organisation, now that it exists.
    cli.run(
        "create-user",
        *("--org", "acme", "--email", "bo@acme.example", "--role", "analyst", "--password", "-"),
        input="another secret\n",
    )

    sessions = session_factory(store)
    with sessions.begin() as session:
        user = accounts.authenticate(session, "ana@acme.example", "correct horse battery")
        assert user is not None
        assert (user.role, user.name) == ("owner", "Ana")
        organisation = session.get(Organisation, user.organisation_id)
        assert organisation is not None
        assert (organisation.slug, organisation.name) == ("acme", "Acme Ltd")
        assert accounts.authenticate(session, "ana@acme.example", "wrong password") is None
        analyst = accounts.authenticate(session, "bo@acme.example", "another secret")
        assert analyst is not None
        assert analyst.role == "analyst"
        entries = session.scalars(select(AuditLog.entity).where(AuditLog.action == "create"))
        assert sorted(entries) == ["organisation", "user", "user"]


def add_admin(cli: Cli, org: str, email: str) -> None:
    cli.run(
        "create-user",
        *("--org", org, "--create-org", org.title(), "--email", email),
        *("--role", "admin", "--password", "-"),
        input="12345678\n",
    )


def test_create_user_errors_are_one_line(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    add_admin(cli, "acme", "ana@acme.example")
    args = ("create-user", "--org", "acme", "--role", "admin")
    taken = cli.fails(*args, "--email", "ana@acme.example", "--password", "-", input="12345678\n")
    assert "exists already" in taken
    short = cli.fails(*args, "--email", "cy@acme.example", "--password", "-", input="short\n")
    assert "at least 8 characters" in short
    empty = cli.fails(*args, "--email", "cy@acme.example", "--password", "-", input="")
    assert "no password" in empty
    literal = cli.fails(*args, "--email", "cy@acme.example", "--password", "hunter2222", code=2)
    assert "standard input" in literal
    no_terminal = cli.fails(*args, "--email", "cy@acme.example", code=2)
    assert "--password -" in no_terminal
    unknown = cli.fails(
        "create-user",
        *("--org", "nobody", "--email", "cy@acme.example", "--role", "admin"),
        *("--password", "-"),
        input="12345678\n",
    )
    assert "no organisation 'nobody'" in unknown
    assert "--create-org" in unknown
    bad_role = cli.run(*args[:3], "--role", "boss", "--email", "x@y.example", check=False)
    assert bad_role.returncode == 2
    assert "Traceback" not in bad_role.stderr


def test_api_key_create_list_and_revoke(cli: Cli, store: Engine) -> None:
    add_admin(cli, "acme", "a@acme.example")
    created = cli.run(
        "api-key", "create", "--org", "acme", "--name", "Zendesk sync", "--scope", "write"
    )
    key = created.stdout.strip()
    assert key.startswith("cxp_")
    assert "\n" not in key
    assert "shown only this once" in created.stderr
    assert "Zendesk sync" in created.stderr
    assert key not in created.stderr
    read_key = cli.run("api-key", "create", "--org", "acme", "--name", "dash", "--scope", "read")

    sessions = session_factory(store)
    with sessions.begin() as session:
        found = accounts.lookup_api_key(session, key)
        assert found is not None
        assert (found.name, found.scope) == ("Zendesk sync", "write")
        key_id = found.id
        assert accounts.lookup_api_key(session, read_key.stdout.strip()) is not None

    listed = json.loads(cli.run("api-key", "list", "--format", "json").stdout)
    assert [(k["name"], k["scope"], k["revoked_at"]) for k in listed] == [
        ("Zendesk sync", "write", None),
        ("dash", "read", None),
    ]
    assert listed[0]["prefix"] == key[: len(listed[0]["prefix"])]
    assert all(k["organisation"] == "acme" for k in listed)
    assert all(key not in json.dumps(k) for k in listed)
    table = cli.run("api-key", "list", "--org", "acme", "--format", "table").stdout
    assert "Zendesk sync" in table
    assert "active" in table

    revoked = cli.run("api-key", "revoke", str(key_id), "--org", "acme")
    assert f"revoked API key {key_id}" in revoked.stdout
    with sessions() as session:
        assert accounts.lookup_api_key(session, key) is None
    listed = json.loads(cli.run("api-key", "list", "--org", "acme", "--format", "json").stdout)
    assert listed[0]["revoked_at"] is not None
    assert listed[1]["revoked_at"] is None
    again = cli.run("api-key", "revoke", str(key_id))
    assert "already revoked" in again.stdout


def test_api_key_errors_are_one_line(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    add_admin(cli, "acme", "a@acme.example")
    add_admin(cli, "other", "o@other.example")
    cli.run("api-key", "create", "--org", "acme", "--name", "sync", "--scope", "read")
    assert "no API key 999" in cli.fails("api-key", "revoke", "999")
    # The key exists, but not in the organisation named.
    assert "no API key 1 in other" in cli.fails("api-key", "revoke", "1", "--org", "other")
    assert "no organisation 'nope'" in cli.fails(
        "api-key", "create", "--org", "nope", "--name", "x", "--scope", "read", code=2
    )
    assert cli.run("api-key", "list", "--org", "other", "--format", "json").stdout.strip() == "[]"


def test_demo_no_serve_seeds_once(cli: Cli, store: Engine) -> None:
    first = cli.run("demo", "--no-serve", "--months", "3", "--seed", "11")
    assert "Demo Shop" in first.stdout
    assert "created" in first.stdout
    assert DEMO_ADMIN_EMAIL in first.stdout
    assert DEMO_ADMIN_PASSWORD in first.stdout
    for slug in SURVEY_SLUGS:
        assert slug in first.stdout

    sessions = session_factory(store)
    with sessions() as session:
        responses = session.scalar(select(func.count()).select_from(Response))
        assert responses is not None
        assert responses > 1000
        assert set(session.scalars(select(Survey.slug))) == SURVEY_SLUGS

    second = cli.run("demo", "--no-serve")
    assert "already there, reused" in second.stdout
    assert DEMO_ADMIN_PASSWORD in second.stdout
    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == responses
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1
        assert accounts.authenticate(session, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD) is not None


def test_demo_serves_the_api(sqlite_cli: Cli, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out, err = tmp_path / "demo.out", tmp_path / "demo.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [CXPULSE, "demo", "--port", str(port), "--months", "2"],
            cwd=sqlite_cli.cwd,
            env=sqlite_cli.env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, err.read_text()
            try:
                health = get_json(f"{base}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the demo server did not come up in 60 s"
                time.sleep(0.25)
        assert health["status"] == "ok"

        key = sqlite_cli.run(
            "api-key", "create", "--org", DEMO_ORG_SLUG, "--name", "test", "--scope", "read"
        ).stdout.strip()
        surveys = get_json(f"{base}/api/v1/surveys", key)
        assert {s["slug"] for s in surveys["items"]} == SURVEY_SLUGS
        assert {s["metric"] for s in surveys["items"]} == {"csat", "nps", "ces"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            get_json(f"{base}/api/v1/surveys", "cxp_000000000000_wrong")
        assert refused.value.code == 401
        refused.value.close()
        # The pages the demo prints: a survey page to answer, the dashboard's login.
        with urllib.request.urlopen(f"{base}/s/{DEMO_ORG_SLUG}/support-csat") as page:
            assert "How satisfied are you" in page.read().decode()
        with urllib.request.urlopen(f"{base}/login") as page:
            assert page.status == 200
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    # Uvicorn shuts down gracefully, then re-raises SIGTERM so that the parent sees it.
    assert code in (0, -signal.SIGTERM), err.read_text()
    assert "Application shutdown complete" in err.read_text()
    printed = out.read_text()
    assert f"http://localhost:{port}" in printed
    assert f"http://localhost:{port}/docs" in printed
    assert f"/s/{DEMO_ORG_SLUG}/relationship-nps" in printed
    assert f"{base}/login" in printed
    assert DEMO_ADMIN_EMAIL in printed
    assert DEMO_ADMIN_PASSWORD in printed


def test_serve_refuses_a_port_in_use(sqlite_cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = sqlite_cli.fails("serve", "--port", str(port))
        assert f"127.0.0.1:{port}: Address already in use" in line
        line = sqlite_cli.fails("demo", "--port", str(port))
        assert "Address already in use" in line


def test_database_problems_are_one_line(tmp_path: Path) -> None:
    unsupported = Cli(tmp_path, "mysql://root@127.0.0.1/cx")
    assert "sqlite:/// or postgresql://" in unsupported.fails("migrate", code=2)
    not_a_url = Cli(tmp_path, "not a url")
    assert "CXPULSE_DATABASE_URL" in not_a_url.fails("api-key", "list", code=2)
    unreachable = Cli(tmp_path, "postgresql://nobody:secret@127.0.0.1:1/cx")
    line = unreachable.fails("migrate")
    assert "127.0.0.1:1" in line
    assert "secret" not in line
    no_folder = Cli(tmp_path, "sqlite:////proc/no/such/folder/x.db")
    assert "cannot use the database folder" in no_folder.fails("migrate", code=2)
    nested = Cli(tmp_path, f"sqlite:///{tmp_path / 'new' / 'folder' / 'x.db'}")
    assert "from revision (empty database)" in nested.run("migrate").stdout
    # --database wins over the environment.
    override = unreachable.run("migrate", "--database", f"sqlite:///{tmp_path / 'o.db'}")
    assert "o.db" in override.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["serve"],
        ["demo"],
        ["create-user"],
        ["api-key", "create"],
        ["api-key", "list"],
        ["api-key", "revoke"],
    ],
)
def test_every_command_has_help_with_an_example(command: list[str], tmp_path: Path) -> None:
    result = Cli(tmp_path, f"sqlite:///{tmp_path / 'x.db'}").run(*command, "--help")
    assert "Example" in result.stdout
    assert "cxpulse " + " ".join(command) in result.stdout
    assert not (tmp_path / "x.db").exists()
