"""Ed25519 verification through ``cryptography``, the optional dependency (``hookline-verify[ed25519]``).

Imported only when a public key or a JWKS URL is given, so that HMAC-only receivers install nothing more.
"""

from __future__ import annotations

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "v1a signatures need the 'cryptography' package: pip install 'hookline-verify[ed25519]'"
    ) from exc

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


class PublicKey:
    """One Ed25519 public key, from its 32 raw bytes."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) != PUBLIC_KEY_BYTES:
            raise ValueError(f"an Ed25519 public key has {PUBLIC_KEY_BYTES} bytes, not {len(raw)}")
        self.raw = raw
        self._key = Ed25519PublicKey.from_public_bytes(raw)

    def verifies(self, signature: bytes, message: bytes) -> bool:
        if len(signature) != SIGNATURE_BYTES:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True
