"""Sending e-mail through the operator's SMTP server (``HOOKLINE_SMTP_URL``).

``smtp://host:port`` speaks plain SMTP, ``smtp+starttls://user:pass@host:port`` upgrades with STARTTLS
before logging in, ``smtps://`` connects over TLS from the start. The stdlib client runs in a thread: a
notice is a handful of messages an hour, not worth a driver of its own, and the loop never waits on it.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailError(Exception):
    """The message was not accepted; the text says why (it is stored with the notice)."""


@dataclass(frozen=True, slots=True)
class Server:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never the password
        return f"Server({self.scheme}://{self.host}:{self.port})"


def parse(url: str) -> Server:
    """The server of ``HOOKLINE_SMTP_URL``; ValueError says what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"scheme {parts.scheme!r} is not one of {', '.join(SCHEMES)}")
    if not parts.hostname:
        raise ValueError("no host")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        raise ValueError("the port is not a number between 0 and 65535") from None
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return Server(parts.scheme, parts.hostname, port, user, password)


class Mailer:
    """Sends plain-text messages from ``sender`` through ``server``."""

    def __init__(
        self, server: Server, sender: str, timeout_s: float = 10.0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.server = server
        self.sender = sender
        self.timeout_s = timeout_s
        # Certificates are verified against the system's authorities (a test passes its own).
        self.tls = tls or ssl.create_default_context()

    async def send(self, to: Sequence[str], subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(body)
        try:
            await asyncio.to_thread(self._send, message, list(to))
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(_words(exc)) from None

    def _open(self) -> smtplib.SMTP:
        server = self.server
        if server.scheme == "smtps":
            return smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout_s, context=self.tls)
        return smtplib.SMTP(server.host, server.port, timeout=self.timeout_s)

    def _send(self, message: EmailMessage, to: list[str]) -> None:
        server = self.server
        with self._open() as client:
            if server.scheme == "smtp+starttls":
                client.starttls(context=self.tls)
            if server.username is not None:
                client.login(server.username, server.password or "")
            refused = client.send_message(message, self.sender, to)
        if refused:
            raise MailError(f"refused recipients: {', '.join(sorted(refused))}")

    async def reachable(self) -> str | None:
        """Why the server cannot be reached (None when it greets, starts TLS if asked, and answers NOOP), for
        ``hookline doctor``."""
        try:
            await asyncio.to_thread(self._noop)
        except (OSError, smtplib.SMTPException) as exc:
            return _words(exc)
        return None

    def _noop(self) -> None:
        with self._open() as client:
            if self.server.scheme == "smtp+starttls":
                client.starttls(context=self.tls)
            client.noop()


def _words(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return f"SMTP {exc.smtp_code}: {text}"
    return str(exc) or type(exc).__name__
