"""The SMTP client against a real local SMTP server (aiosmtpd), and HOOKLINE_SMTP_URL's forms."""

from __future__ import annotations

import socket

import pytest

from hookline.mail import Mailer, MailError, Server, parse
from support.smtp import SmtpServer, smtp_server_fixture  # noqa: F401  (the fixture smtp_server)


def test_smtp_urls() -> None:
    assert parse("smtp://127.0.0.1:2525") == Server("smtp", "127.0.0.1", 2525)
    assert parse("smtp+starttls://me%40x:p%3Ass@mail.example:587") == Server(
        "smtp+starttls", "mail.example", 587, "me@x", "p:ss"
    )
    assert parse("smtps://mail.example") == Server("smtps", "mail.example", 465)
    assert "p:ss" not in repr(parse("smtp+starttls://me:p:ss@mail.example"))
    for bad in ("http://mail.example", "smtp://", "smtp://mail.example:99999", "mail.example"):
        with pytest.raises(ValueError):
            parse(bad)


async def test_a_message_reaches_the_server(smtp_server: SmtpServer) -> None:
    mailer = Mailer(parse(smtp_server.url), "hookline@example.com")
    assert await mailer.reachable() is None
    await mailer.send(["a@example.com", "b@example.com"], "Subject ü", "Line one\nLine two ü")
    [message] = await smtp_server.wait_for(1)
    assert message["Subject"] == "Subject ü"
    assert message["From"] == "hookline@example.com"
    assert message.get_content().replace("\r\n", "\n") == "Line one\nLine two ü\n"
    assert smtp_server.envelopes == [("hookline@example.com", ["a@example.com", "b@example.com"])]


async def test_a_refusal_or_no_server_is_a_mail_error(smtp_server: SmtpServer) -> None:
    smtp_server.refuse = True
    with pytest.raises(MailError, match="451"):
        await Mailer(parse(smtp_server.url), "hookline@example.com").send(["a@example.com"], "s", "b")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nobody = Mailer(parse(f"smtp://127.0.0.1:{port}"), "hookline@example.com", timeout_s=2)
    with pytest.raises(MailError):
        await nobody.send(["a@example.com"], "s", "b")
    assert await nobody.reachable() is not None
