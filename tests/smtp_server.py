"""A real SMTP server on loopback for tests: aiosmtpd in a thread, keeping what it receives.

    with smtp_server() as server:
        settings = server.settings(public_url="https://cx.example")
        ...                                  # send through 127.0.0.1:server.port
        server.wait_for(3)
        message = server.messages[0]         # an email.message.EmailMessage

``refuse_next(n, code)`` makes the next ``n`` messages fail at the end of DATA (451 by
default: a temporary failure), ``refuse_rcpt`` refuses recipients, to test retries;
``hang_up_after_next(n)`` keeps the next ``n`` messages but hangs up before the reply.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from cxpulse.collect.smtp import SmtpSettings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    refuse_data: list[str] = field(default_factory=list)
    """Replies to give at the end of DATA instead of 250, one per message, in order."""
    refuse_rcpt: str | None = None
    drop_after_data: int = 0
    """Messages to keep and then hang up on, without the reply to their end of data."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.refuse_data:
                return self.refuse_data.pop(0)
            content = envelope.original_content or b""
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
            )
            self.arrived.notify_all()
            if self.drop_after_data > 0:
                self.drop_after_data -= 1
                if server.transport is not None:
                    server.transport.close()
        return "250 Message accepted"


class SmtpTestServer:
    def __init__(self, handler: RecordingHandler, port: int) -> None:
        self.handler = handler
        self.port = port

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.parsed() for r in self.received]

    def settings(self, **overrides: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "mail_from": "Acme Surveys <surveys@acme.example>",
            "public_url": "https://cx.example",
            "timeout_seconds": 10.0,
        }
        values.update(overrides)
        return SmtpSettings(**values)

    def refuse_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        with self.handler.lock:
            self.handler.refuse_data.extend([reply] * count)

    def hang_up_after_next(self, count: int) -> None:
        """Keep the next ``count`` messages but close the connection before replying."""
        with self.handler.lock:
            self.handler.drop_after_data += count

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.handler.arrived:
            while len(self.handler.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} emails, got {len(self.handler.received)}"
                    )
                self.handler.arrived.wait(left)
            return list(self.handler.received)


@contextmanager
def smtp_server() -> Iterator[SmtpTestServer]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpTestServer(handler, port)
    finally:
        controller.stop()
