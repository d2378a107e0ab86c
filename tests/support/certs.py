"""Certificates made for a test with ``cryptography``: a CA, a server certificate for 127.0.0.1 signed by
it, and client certificates (signed by it or by a stranger) as PEM; a server TLS context requiring one."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True, slots=True)
class Pem:
    certificate: str
    private_key: str


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    return Pem(
        certificate.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )


def _issue(
    subject: str,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    ip: str | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage_ext = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage_ext, critical=True)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = builder.add_extension(ski, critical=False)
    else:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        builder = builder.add_extension(aki, critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if ip is not None:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


@dataclass(frozen=True, slots=True)
class Pki:
    ca_file: str  # the CA's certificate, for clients to verify the server with
    server: Pem
    client: Pem  # signed by the CA
    stranger: Pem  # a client certificate the server does not trust

    def server_context(self, directory: Path) -> ssl.SSLContext:
        """A TLS server context for 127.0.0.1 that requires a client certificate signed by the CA."""
        cert, key = directory / "server.pem", directory / "server.key"
        cert.write_text(self.server.certificate)
        key.write_text(self.server.private_key)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.ca_file)
        context.load_cert_chain(cert, key)
        context.verify_mode = ssl.CERT_REQUIRED
        return context


def make_pki(directory: Path) -> Pki:
    ca_cert, ca_key = _issue("hookline test CA", None, ca=True)
    issuer = (ca_cert.subject, ca_key)
    server = _pem(*_issue("127.0.0.1", issuer, usage=ExtendedKeyUsageOID.SERVER_AUTH, ip="127.0.0.1"))
    client = _pem(*_issue("hookline client", issuer, usage=ExtendedKeyUsageOID.CLIENT_AUTH))
    stranger = _pem(*_issue("stranger", None, usage=ExtendedKeyUsageOID.CLIENT_AUTH))
    ca_file = directory / "ca.pem"
    ca_file.write_text(ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    return Pki(str(ca_file), server, client, stranger)
