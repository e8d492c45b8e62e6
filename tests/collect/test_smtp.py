"""SMTP settings made from ``Settings``, and the two-step send against a real server."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from tests.smtp_server import SmtpTestServer, free_port, smtp_server

from cxpulse.collect.smtp import (
    SmtpConnection,
    SmtpRefused,
    SmtpSettings,
    SmtpUnavailable,
    wire_body,
)
from cxpulse.config import DEFAULT_PUBLIC_URL, ConfigError, Settings

MESSAGE = b"Subject: hi\r\nMessage-ID: <m1@x.example>\r\n\r\n.leading dot\nbare newline\r\nend"


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with smtp_server() as running:
        yield running


def smtp_settings(environ: Mapping[str, str], tmp_path: Path) -> SmtpSettings:
    """What the worker uses, from the variables in ``environ``."""
    settings = Settings.from_env({**environ, "CXPULSE_SECRET_KEY": "k"}, cwd=tmp_path)
    return SmtpSettings.from_settings(settings)


def test_settings_default_and_from_the_environment(tmp_path: Path) -> None:
    default = smtp_settings({}, tmp_path)
    assert (default.host, default.port, default.starttls, default.user) == (
        "localhost",
        25,
        False,
        None,
    )
    assert default.public_url == DEFAULT_PUBLIC_URL
    chosen = smtp_settings(
        {
            "CXPULSE_SMTP_HOST": "smtp.example.com",
            "CXPULSE_SMTP_PORT": "587",
            "CXPULSE_SMTP_USER": "cx",
            "CXPULSE_SMTP_PASSWORD": "secret",
            "CXPULSE_SMTP_STARTTLS": "true",
            "CXPULSE_MAIL_FROM": "Acme Surveys <surveys@acme.example>",
            "CXPULSE_PUBLIC_URL": "https://cx.acme.example/",
        },
        tmp_path,
    )
    assert (chosen.host, chosen.port, chosen.user, chosen.password) == (
        "smtp.example.com",
        587,
        "cx",
        "secret",
    )
    assert chosen.starttls
    assert chosen.from_address == "surveys@acme.example"
    assert chosen.domain == "acme.example"
    assert chosen.public_url == "https://cx.acme.example"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CXPULSE_SMTP_PORT", "smtp"),
        ("CXPULSE_SMTP_PORT", "70000"),
        ("CXPULSE_SMTP_STARTTLS", "maybe"),
        ("CXPULSE_MAIL_FROM", "nobody"),
        ("CXPULSE_PUBLIC_URL", "cx.example"),
    ],
)
def test_bad_settings_are_named(name: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=name):
        smtp_settings({name: value}, tmp_path)


def test_wire_body_doubles_leading_dots_and_ends_lines_with_crlf() -> None:
    assert wire_body(b".a\n..b\rc") == b"..a\r\n...b\r\nc\r\n"


def test_nothing_is_delivered_until_the_message_is_completed(server: SmtpTestServer) -> None:
    connection = SmtpConnection(server.settings())
    connection.start("s@acme.example", "r@example.com", MESSAGE)
    connection.abandon()  # as a crash before the commit would
    connection.start("s@acme.example", "r@example.com", MESSAGE)
    connection.complete()
    connection.start("s@acme.example", "r2@example.com", MESSAGE)
    connection.complete()
    connection.close()
    received = server.wait_for(2)
    assert [r.recipients for r in received] == [["r@example.com"], ["r2@example.com"]]
    assert received[0].parsed().get_content().splitlines() == [
        ".leading dot",
        "bare newline",
        "end",
    ]
    assert len(server.received) == 2


def test_refusals_and_an_absent_server(server: SmtpTestServer) -> None:
    connection = SmtpConnection(server.settings())
    server.refuse_next(1)
    connection.start("s@acme.example", "r@example.com", MESSAGE)
    with pytest.raises(SmtpRefused) as temporary:
        connection.complete()
    assert (temporary.value.code, temporary.value.permanent) == (451, False)
    server.handler.refuse_rcpt = "550 5.1.1 no such user"
    with pytest.raises(SmtpRefused) as permanent:
        connection.start("s@acme.example", "r@example.com", MESSAGE)
    assert permanent.value.permanent
    server.handler.refuse_rcpt = None
    connection.start("s@acme.example", "r@example.com", MESSAGE)  # the connection still works
    connection.complete()
    connection.close()
    assert len(server.wait_for(1)) == 1
    closed_port = free_port()
    with pytest.raises(SmtpUnavailable, match=str(closed_port)):
        SmtpConnection(server.settings(port=closed_port)).start("s@a.example", "r@b.example", b"x")
