"""SMTP settings (a view of ``cxpulse.config.Settings``), and a connection that sends in two
steps.

The variables (``CXPULSE_SMTP_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_STARTTLS``,
``CXPULSE_MAIL_FROM``, ``CXPULSE_PUBLIC_URL``) are read and checked by ``Settings``; see
docs/configuration.md.

Why two steps: ``start`` sends MAIL, RCPT, DATA and the whole message except the final
``.`` line; ``complete`` sends that line and reads the server's verdict. The worker commits
"sent" in its database between the two. A crash before the commit leaves the server with
an unfinished message, which it discards when the connection drops, so sending again is
safe; a crash after it leaves a message that was (or is about to be) delivered and is
never sent again.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr

from cxpulse.config import DEFAULT_MAIL_FROM, DEFAULT_PUBLIC_URL, Settings

_EOL = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    mail_from: str = DEFAULT_MAIL_FROM
    public_url: str = DEFAULT_PUBLIC_URL
    timeout_seconds: float = 30.0

    @property
    def from_address(self) -> str:
        """The bare address of ``mail_from`` (which may be ``Name <address>``)."""
        return parseaddr(self.mail_from)[1] or self.mail_from

    @property
    def domain(self) -> str:
        """The domain of the From address, for Message-IDs."""
        return self.from_address.rpartition("@")[2] or "cxpulse.invalid"

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            mail_from=settings.mail_from,
            public_url=settings.public_url,
        )


class SmtpRefused(Exception):
    """The server answered with an error code; ``permanent`` for 5xx (retrying will not help)."""

    def __init__(self, step: str, code: int, message: str) -> None:
        super().__init__(f"{step}: {code} {message}")
        self.step = step
        self.code = code
        self.permanent = 500 <= code < 600


class SmtpUnavailable(Exception):
    """No connection to the server, or it dropped before the message was whole."""


class DeliveryUnknown(Exception):
    """The connection dropped after the end of the message and before the server's reply."""


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def wire_body(message: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, ending in CRLF."""
    data = _LEADING_DOT.sub(b"..", _EOL.sub(b"\r\n", message))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class SmtpConnection:
    """One connection reused for many messages (opened on first use, again after a drop)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._open_message = False

    def _connected(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            if smtp.sock is not None:
                # The end-of-data line goes out as a small write of its own, after a commit:
                # with Nagle's algorithm it would wait for the server's delayed ACK (~40 ms).
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as error:
            raise SmtpRefused("login", error.smtp_code, _text(error.smtp_error)) from None
        except (OSError, smtplib.SMTPException) as error:
            raise SmtpUnavailable(f"cannot connect to {s.host}:{s.port}: {error}") from None
        self._smtp = smtp
        return smtp

    def _reset(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.abandon()

    def start(self, sender: str, recipient: str | Sequence[str], message: bytes) -> None:
        """MAIL, RCPT, DATA and the message without its end: nothing is delivered yet."""
        smtp = self._connected()
        recipients = [recipient] if isinstance(recipient, str) else list(recipient)
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                self._reset(smtp)
                raise SmtpRefused("MAIL FROM", code, _text(reply))
            for each in recipients:
                code, reply = smtp.rcpt(each)
                if code not in (250, 251):
                    self._reset(smtp)
                    raise SmtpRefused("RCPT TO", code, f"{each}: {_text(reply)}")
            smtp.putcmd("data")
            code, reply = smtp.getreply()
            if code != 354:
                self._reset(smtp)
                raise SmtpRefused("DATA", code, _text(reply))
            smtp.send(wire_body(message))
            self._open_message = True
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self.abandon()
            raise SmtpUnavailable(f"connection lost: {error}") from None

    def complete(self) -> None:
        """End the message (``.``) and read the verdict; raises ``SmtpRefused`` on an error
        and ``DeliveryUnknown`` when the connection drops first."""
        smtp = self._smtp
        if smtp is None or not self._open_message:
            raise SmtpUnavailable("no message is open")
        self._open_message = False
        try:
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self.abandon()
            raise DeliveryUnknown(f"connection lost at the end of the message: {error}") from None
        if code != 250:
            raise SmtpRefused("end of DATA", code, _text(reply))

    def abandon(self) -> None:
        """Drop the connection without ending an open message: the server discards it."""
        smtp, self._smtp = self._smtp, None
        self._open_message = False
        if smtp is not None and smtp.sock is not None:
            with contextlib.suppress(OSError):
                smtp.sock.close()
            smtp.sock = None

    def close(self) -> None:
        smtp = self._smtp
        if smtp is None:
            return
        if self._open_message:
            self.abandon()
            return
        self._smtp = None
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            if smtp.sock is not None:
                smtp.sock.close()

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
