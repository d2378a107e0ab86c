"""Ed25519 key pairs of targets: Standard Webhooks ``v1a`` signatures, checked with a public key.

With an HMAC key, whoever can verify a webhook can also forge one; with ``v1a`` the receiver holds only the
public key, published as ``whpk_`` + base64 of its 32 bytes and in a JWKS document (RFC 8037 ``OKP`` keys)
whose ``kid`` is the key's RFC 7638 thumbprint, so it is the same wherever and whenever it is computed.

A private key is stored as base64 of its 32-byte seed (RFC 8032's secret key). Loading one into OpenSSL
costs about as much as a signature, so the worker's signing keys come from ``signer``, which loads each key
version once per process.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PUBLIC_KEY_PREFIX = "whpk_"
# Two per target during a rotation: room for a few thousand targets sending at once; the least recently used
# key is dropped beyond that and loaded again on its next delivery.
_CACHED_KEYS = 8192


def new_private_key() -> str:
    """A fresh private key as stored: every 32-byte string is an Ed25519 seed (RFC 8032 §5.1.5)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


@lru_cache(maxsize=_CACHED_KEYS)
def signer(private_key: str) -> Ed25519PrivateKey:
    """The loaded key for a stored private key, once per process.

    Keyed by the stored text, which is one key version of one target: a rotation stores a new key, which
    gets an entry of its own, and the retired one ages out.
    """
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key))


def public_bytes(private_key: str) -> bytes:
    """The 32-byte public key of a stored private key."""
    return signer(private_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def standard_public_key(private_key: str) -> str:
    """The public key as Standard Webhooks serialises it: ``whpk_`` + base64."""
    return PUBLIC_KEY_PREFIX + base64.b64encode(public_bytes(private_key)).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(private_key: str) -> dict[str, str]:
    """The public key as a JWK (RFC 8037), ``kid`` its thumbprint."""
    x = _b64url(public_bytes(private_key))
    # RFC 7638: the required members, in lexicographic order, without whitespace.
    canonical = f'{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}'.encode()
    kid = _b64url(hashlib.sha256(canonical).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}
