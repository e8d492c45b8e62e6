"""A real HTTP server on loopback playing an SMS provider with Twilio's Messages API: it
records each message posted and answers as Twilio does (201 with the message's ``sid``), or
with the error a test asks for."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cxpulse.collect.sms import SmsSettings

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
TOKEN = "auth-token-of-the-test"
SENDER = "+46701740605"


@dataclass
class Posted:
    path: str
    authorization: str
    form: dict[str, str]


@dataclass
class SmsReceiver:
    base_url: str
    messages: list[Posted] = field(default_factory=list)
    failures: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    """Answers to give, first in first out, before answering 201 again."""

    def settings(self, **changes: object) -> SmsSettings:
        chosen: dict[str, object] = {
            "base_url": self.base_url,
            "account": ACCOUNT,
            "token": TOKEN,
            "sender": SENDER,
            "timeout": 5.0,
            **changes,
        }
        return SmsSettings(**chosen)  # type: ignore[arg-type]

    def credentials_ok(self, posted: Posted) -> bool:
        expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        return posted.authorization == f"Basic {expected}"


@contextmanager
def sms_receiver() -> Iterator[SmsReceiver]:
    numbers = itertools.count(1)
    lock = threading.Lock()
    receiver = SmsReceiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
            posted = Posted(self.path, self.headers.get("Authorization", ""), form)
            with lock:
                failure = receiver.failures.pop(0) if receiver.failures else None
                if failure is None:
                    receiver.messages.append(posted)
            if failure is not None:
                self._json(*failure)
                return
            sid = f"SM{next(numbers):032d}"
            self._json(201, {"sid": sid, "status": "queued", "to": form.get("To")})

        def _json(self, status: int, document: dict[str, object]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
