"""A real HTTP receiver on loopback for webhook tests: a threaded ``http.server`` that checks
each request's Standard Webhooks signature and keeps what it receives.

    with webhook_receiver(secret) as receiver:
        endpoint_url = receiver.url          # http://127.0.0.1:<port>/hook
        ...                                  # deliver to it
        receiver.wait_for(3)                 # at least 3 signed events arrived (or fail)
        receiver.event_ids()                 # the webhook-id of each, in arrival order
        receiver.received[0].json()          # the body of the first

- ``secrets``: the secrets it accepts (a list, so a test can rotate); a request whose
  signature matches none is answered 400 and kept in ``rejected``, not ``received``.
  ``webhook_receiver()`` without a secret keeps every request unverified (Slack, Teams).
- ``answer_next(n, status)``: the next ``n`` requests get ``status`` (503, say, or 410);
  ``answer_normally()`` forgets those not given yet.
- ``stop()`` closes the port and every open connection (the receiver is down: connections
  are refused); ``start()`` listens on the same port again.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cxpulse.act.webhook_signing import InvalidSignature, verify


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    secrets: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    rejected: list[tuple[Received, str]] = field(default_factory=list)
    port: int = 0
    _answers: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _connections: set[socket.socket] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer_next(self, count: int, status: int) -> None:
        with self._lock:
            self._answers.extend([status] * count)

    def answer_normally(self) -> None:
        """Forget the answers set by ``answer_next`` that were not given yet."""
        with self._lock:
            self._answers.clear()

    def event_ids(self) -> list[str]:
        with self._lock:
            return [item.event_id for item in self.received]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.received)} of {count} webhooks arrived "
                        f"({len(self.rejected)} rejected)"
                    )
                self._arrived.wait(left)
            return list(self.received)

    def _handle(self, item: Received) -> int:
        with self._arrived:
            if self._answers:
                return self._answers.pop(0)
            if self.secrets:
                try:
                    verify(self.secrets, item.headers, item.body, now=datetime.now(UTC))
                except InvalidSignature as error:
                    self.rejected.append((item, str(error)))
                    self._arrived.notify_all()
                    return 400
            self.received.append(item)
            self._arrived.notify_all()
            return 204

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver._handle(Received(self.path, headers, body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        server = Server(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Down: the port closed and every kept-alive connection cut."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for connection in list(self._connections):
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.clear()
        self._server = None


@contextmanager
def webhook_receiver(*secrets: str) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secrets=list(secrets))
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
