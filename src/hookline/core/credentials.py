"""Endpoint authentication of targets: the ``auth`` objects, their public views, and their sealing.

A target may authenticate to its receiver with HTTP Basic, an OAuth2 client-credentials bearer token, or a
client certificate (mTLS). The secrets in them (``password``, ``client_secret``, ``private_key``) are
write-only: they are sealed with ``HOOKLINE_SECRET_KEY`` (Fernet: AES-128-CBC with an HMAC-SHA256, from
``cryptography``) before they are stored, and only the worker opens them, to send. A stored ``auth`` is
``{"type", …the non-secret fields, "sealed": <Fernet token of the whole object>}``: the API shows it without
the key, and the token's HMAC vouches for what the worker sends.

Rotation (docs/security.md): ``HOOKLINE_SECRET_KEY`` seals; it and the comma-separated
``HOOKLINE_SECRET_KEY_OLD`` keys all open (``MultiFernet``), and ``Keyring.reseal`` re-seals a token with the
current key.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from typing import Any

from cryptography import x509
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import serialization


@dataclass(frozen=True, slots=True)
class Basic:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class OAuth2:
    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class Mtls:
    certificate: str  # PEM, the chain's first certificate the client's own
    private_key: str  # PEM, unencrypted


Auth = Basic | OAuth2 | Mtls

TYPES: dict[str, type[Auth]] = {"basic": Basic, "oauth2": OAuth2, "mtls": Mtls}
SECRET_FIELDS = frozenset({"password", "client_secret", "private_key"})
SEALED = "sealed"
MAX_FIELD = 16384  # a certificate chain fits; a field is not a place to store megabytes


class BadAuth(ValueError):
    """An ``auth`` object that cannot be used; ``field`` names the part at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def parse(value: object) -> Auth:
    """The auth of an API ``auth`` object; ``BadAuth`` saying what is wrong (never echoing a secret)."""
    if not isinstance(value, dict):
        raise BadAuth("auth", "must be an object with a type (basic, oauth2 or mtls), or null")
    given_type = value.get("type")
    kind = TYPES.get(given_type) if isinstance(given_type, str) else None
    if kind is None:
        raise BadAuth("auth.type", "must be one of basic, oauth2, mtls")
    names = list(kind.__dataclass_fields__)
    unknown = sorted(set(value) - {"type", *names})
    if unknown:
        raise BadAuth(f"auth.{unknown[0]}", f"is not a field of {value['type']} auth")
    fields: dict[str, Any] = {name: _field(name, value.get(name)) for name in names}
    auth = kind(**fields)
    if isinstance(auth, Basic) and ":" in auth.username:
        raise BadAuth("auth.username", "must not contain ':' (HTTP Basic cannot carry it)")
    if isinstance(auth, Mtls):
        check_pair(auth)
    return auth


def _field(name: str, given: object) -> str | None:
    if given is None and name == "scope":
        return None
    if not isinstance(given, str) or not given.strip():
        raise BadAuth(f"auth.{name}", "required (a non-empty string)")
    if len(given) > MAX_FIELD:
        raise BadAuth(f"auth.{name}", f"too long ({MAX_FIELD} characters at most)")
    if name not in ("certificate", "private_key") and ("\r" in given or "\n" in given):
        raise BadAuth(f"auth.{name}", "must not contain line breaks")
    return given


def check_pair(auth: Mtls) -> None:
    """The certificate and private key are PEM, the key unencrypted and the certificate's."""
    try:
        certificate = x509.load_pem_x509_certificate(auth.certificate.encode())
    except ValueError:
        raise BadAuth("auth.certificate", "is not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(auth.private_key.encode(), password=None)
    except (ValueError, TypeError):
        raise BadAuth("auth.private_key", "is not an unencrypted PEM private key") from None
    ours = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    theirs = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if ours != theirs:
        raise BadAuth("auth.private_key", "is not the private key of the certificate")


def type_of(auth: Auth) -> str:
    return next(name for name, kind in TYPES.items() if isinstance(auth, kind))


def public(auth: Auth) -> dict[str, Any]:
    """What answers show: the type and the non-secret fields."""
    fields = {name: value for name, value in asdict(auth).items() if name not in SECRET_FIELDS}
    return {"type": type_of(auth), **fields}


def shown(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """The public view of a stored ``auth`` (see the module docstring), without opening it."""
    if not stored:
        return None
    return {name: value for name, value in stored.items() if name != SEALED and name not in SECRET_FIELDS}


class Keyring:
    """The secret key that seals, and the old ones that still open (``MultiFernet``)."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_settings(cls, current: str, old: str) -> Keyring | None:
        """The keyring of ``HOOKLINE_SECRET_KEY`` and ``HOOKLINE_SECRET_KEY_OLD``; None without a key.

        ``ValueError`` naming the setting when a key is not a Fernet key (32 url-safe base64 bytes).
        """
        olds = [word.strip() for word in old.split(",") if word.strip()]
        if not current.strip():
            if olds:
                raise ValueError("HOOKLINE_SECRET_KEY_OLD is set but HOOKLINE_SECRET_KEY is not")
            return None
        keys = []
        for name, key in [("HOOKLINE_SECRET_KEY", current.strip())] + [
            ("HOOKLINE_SECRET_KEY_OLD", key) for key in olds
        ]:
            try:
                if len(base64.urlsafe_b64decode(key.encode())) != 32:
                    raise ValueError
            except (ValueError, binascii.Error):
                raise ValueError(
                    f"{name} is not a Fernet key (32 bytes in url-safe base64, as `python -c 'from "
                    "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` makes)"
                ) from None
            keys.append(key.encode())
        return cls(keys)

    def seal(self, auth: Auth) -> dict[str, Any]:
        """The stored form: the public view, and the whole object sealed."""
        whole = {"type": type_of(auth), **asdict(auth)}
        token = self._fernet.encrypt(json.dumps(whole, sort_keys=True).encode()).decode()
        return {**public(auth), SEALED: token}

    def open(self, token: str) -> Auth:
        """The auth sealed in ``token``; ``InvalidToken`` when no key of the ring sealed it."""
        whole = json.loads(self._fernet.decrypt(token.encode()))
        kind = TYPES[whole.pop("type")]
        return kind(**whole)

    def reseal(self, stored: dict[str, Any]) -> dict[str, Any]:
        """``stored`` sealed with the current key (for a rotation); ``InvalidToken`` as ``open``."""
        return {**stored, SEALED: self._fernet.rotate(stored[SEALED].encode()).decode()}


__all__ = ["Auth", "BadAuth", "Basic", "InvalidToken", "Keyring", "Mtls", "OAuth2", "parse"]
