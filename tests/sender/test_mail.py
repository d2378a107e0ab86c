"""The SMTP client against a real local SMTP server (aiosmtpd), and HOOKLINE_SMTP_URL's forms."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hookline.sender.mail import Mailer, MailError, Server, parse
from support.smtp import SmtpServer, smtp_server_fixture, start_smtp  # noqa: F401  (the fixture smtp_server)


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


def _tls_pair(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate for 127.0.0.1, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


async def test_starttls_then_login(tmp_path: Path) -> None:
    server_tls, client_tls = _tls_pair(tmp_path)
    async with start_smtp(tls=server_tls, credentials=("hook line", "s3:cr@t")) as smtp:
        port = smtp.url.rsplit(":", 1)[1]
        url = f"smtp+starttls://hook%20line:s3%3Acr%40t@127.0.0.1:{port}"
        mailer = Mailer(parse(url), "hookline@example.com", tls=client_tls)
        assert await mailer.reachable() is None
        await mailer.send(["ops@example.com"], "over TLS", "body")
        [message] = await smtp.wait_for(1)
        assert message["Subject"] == "over TLS"

        wrong = Mailer(
            parse(f"smtp+starttls://hook%20line:nope@127.0.0.1:{port}"), "h@example.com", tls=client_tls
        )
        with pytest.raises(MailError, match="535"):
            await wrong.send(["ops@example.com"], "s", "b")
        untrusted = Mailer(parse(url), "hookline@example.com", timeout_s=2)  # the system's authorities
        with pytest.raises(MailError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            await untrusted.send(["ops@example.com"], "s", "b")
        plain = Mailer(parse(f"smtp://127.0.0.1:{port}"), "hookline@example.com")  # no STARTTLS
        with pytest.raises(MailError, match="530"):
            await plain.send(["ops@example.com"], "s", "b")
        assert len(smtp.messages) == 1
