"""The real SMTP server and webhook receiver of ``tests/smtp_server.py`` and
``tests/webhook_receiver.py``, run in a child process for load runs, so that what they
spend receiving hundreds of messages a second is not taken from the load generator's
interpreter (whose latency figures it would spoil).

    with Receivers(hook_port, secret) as receivers:
        receivers.smtp_port                        # point the workers here
        seen = receivers.snapshot()                # Message-IDs and webhook ids so far

The webhook receiver checks each request's Standard Webhooks signature with ``secret``.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True)
class Seen:
    message_ids: list[str] = field(default_factory=list)
    """The Message-ID of each email, in arrival order (repeats kept)."""
    recipients: list[str] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    """The webhook-id of each correctly signed request, in arrival order (repeats kept)."""
    rejected: int = 0


def _serve(pipe: Connection, hook_port: int, secret: str) -> None:
    from tests.smtp_server import smtp_server
    from tests.webhook_receiver import WebhookReceiver

    hooks = WebhookReceiver(secrets=[secret], port=hook_port)
    hooks.start()
    parser = BytesHeaderParser()
    try:
        with smtp_server() as smtp:
            pipe.send(smtp.port)
            while True:
                order = pipe.recv()
                received = smtp.received
                seen = Seen(
                    [str(parser.parsebytes(r.data)["Message-ID"]) for r in received],
                    [address for r in received for address in r.recipients],
                    hooks.event_ids(),
                    len(hooks.rejected),
                )
                pipe.send(seen)
                if order == "stop":
                    return
    finally:
        hooks.stop()


class Receivers:
    def __init__(self, hook_port: int, secret: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process: Any = context.Process(
            target=_serve, args=(child, hook_port, secret), daemon=True
        )
        self.smtp_port = 0

    def __enter__(self) -> Receivers:
        self._process.start()
        if not self._pipe.poll(60):
            raise RuntimeError("the receivers did not start")
        self.smtp_port = int(self._pipe.recv())
        return self

    def snapshot(self) -> Seen:
        self._pipe.send("snapshot")
        seen: Seen = self._pipe.recv()
        return seen

    def __exit__(self, *exc: object) -> None:
        try:
            self._pipe.send("stop")
            if self._pipe.poll(30):
                self._pipe.recv()
        except (OSError, EOFError):
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
