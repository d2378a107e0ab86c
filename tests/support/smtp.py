"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, in the test's event loop, keeping each message.

Usage::

    async def test_x(smtp_server: SmtpServer) -> None:
        settings = app_settings(db_url, smtp_url=smtp_server.url)
        ...
        [mail] = await smtp_server.wait_for(1)
        assert mail["Subject"].startswith("hookline:")
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest_asyncio
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class SmtpServer:
    """Keeps every message it accepts: ``messages`` (parsed) and ``envelopes`` (sender, recipients)."""

    def __init__(self) -> None:
        self.url = ""  # "smtp://127.0.0.1:<port>", set once started
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = False  # answer 451 to DATA (a temporary failure)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 try again later"
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"waited {timeout}s for {count} message(s)"
            await asyncio.sleep(0.05)
        return list(self.messages)


@contextlib.asynccontextmanager
async def start_smtp(
    tls: ssl.SSLContext | None = None, credentials: tuple[str, str] | None = None
) -> AsyncIterator[SmtpServer]:
    """A started server; with ``tls`` it requires STARTTLS, with ``credentials`` AUTH too (after TLS)."""
    server = SmtpServer()
    loop = asyncio.get_running_loop()

    def authenticate(_: SMTP, __: Session, ___: Envelope, mechanism: str, data: Any) -> AuthResult:
        given = (data.login.decode(), data.password.decode()) if isinstance(data, LoginPassword) else None
        return AuthResult(success=given == credentials, handled=False)

    options: dict[str, Any] = {}
    if tls is not None:
        options |= {"tls_context": tls, "require_starttls": True}
    if credentials is not None:
        options |= {"authenticator": authenticate, "auth_required": True, "auth_require_tls": True}

    def protocol() -> Any:
        return SMTP(server, hostname="smtp.test", **options)

    listening = await loop.create_server(protocol, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    server.url = f"smtp://127.0.0.1:{port}"
    try:
        yield server
    finally:
        listening.close()
        await listening.wait_closed()


@pytest_asyncio.fixture(name="smtp_server")
async def smtp_server_fixture() -> AsyncIterator[SmtpServer]:
    async with start_smtp() as server:
        yield server
