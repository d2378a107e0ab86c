"""Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``.

The signature header is a space-separated list of ``<version>,<base64>`` entries over
``"{webhook-id}.{webhook-timestamp}.{body}"``: ``v1`` is HMAC-SHA256 with the secret (``whsec_`` + base64 of
the key bytes), ``v1a`` is Ed25519, checked with a public key (``whpk_`` + base64 of its 32 bytes) or the keys
of a JWKS document. One matching entry is enough: during a rotation each kind comes twice (new key first).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hookline_verify._headers import DEFAULT_TOLERANCE_S, body_bytes, lower_keys, timestamp
from hookline_verify.errors import VerificationError

if TYPE_CHECKING:
    from hookline_verify._ed25519 import PublicKey
    from hookline_verify.jwks import Jwks

SECRET_PREFIX = "whsec_"
PUBLIC_KEY_PREFIX = "whpk_"


class StandardWebhooks:
    """Verifies Standard Webhooks signatures with any of the keys given.

    ``secret``: ``whsec_…`` (``v1``); ``public_key``: ``whpk_…`` (``v1a``); ``jwks_url``: the target's
    ``/jwks/{target_id}.json`` (``v1a``, keys fetched and cached for ``jwks_cache_s``). ``v1a`` needs the
    ``cryptography`` package (``pip install 'hookline-verify[ed25519]'``).
    """

    def __init__(
        self,
        *,
        secret: str | Sequence[str] = (),
        public_key: str | Sequence[str] = (),
        jwks_url: str | None = None,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        jwks_cache_s: float = 300.0,
    ) -> None:
        secrets, public_keys = _listed(secret), _listed(public_key)
        if not (secrets or public_keys or jwks_url):
            raise ValueError("give a secret (whsec_…), a public key (whpk_…) or a JWKS URL")
        self._secrets = [_decoded(s, SECRET_PREFIX, "secret") for s in secrets]
        self._public_keys: list[PublicKey] = []
        self._jwks: Jwks | None = None
        if public_keys or jwks_url:
            from hookline_verify._ed25519 import PublicKey
            from hookline_verify.jwks import Jwks

            self._public_keys = [PublicKey(_decoded(k, PUBLIC_KEY_PREFIX, "public key")) for k in public_keys]
            self._jwks = Jwks(jwks_url, cache_s=jwks_cache_s) if jwks_url else None
        self._tolerance_s = tolerance_s

    def verify(self, body: bytes | str, headers: Mapping[str, str], *, now: float | None = None) -> None:
        """Return if one signature entry is ``body``'s by one of the keys, made within the tolerance of
        ``now`` (default: the clock); raise ``VerificationError`` otherwise (``KeyFetchError`` when the
        JWKS document cannot be had)."""
        found = lower_keys(headers)
        msg_id, signatures = found.get("webhook-id"), found.get("webhook-signature")
        if not msg_id or not signatures:
            raise VerificationError("the webhook-id or webhook-signature header is missing")
        ts = timestamp(found.get("webhook-timestamp"), self._tolerance_s, now)
        message = f"{msg_id}.{ts}.".encode() + body_bytes(body)
        v1, v1a = _entries(signatures)
        if self._hmac_matches(v1, message) or self._ed25519_matches(v1a, message):
            return
        raise VerificationError("no signature of the webhook-signature header matches")

    def _hmac_matches(self, given: list[str], message: bytes) -> bool:
        for secret in self._secrets:
            expected = base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest())
            if any(hmac.compare_digest(expected, sig.encode()) for sig in given):
                return True
        return False

    def _ed25519_matches(self, given: list[bytes], message: bytes) -> bool:
        if not given or not (self._public_keys or self._jwks):
            return False
        keys = self._public_keys + (self._jwks.current() if self._jwks else [])
        if _any_verifies(keys, given, message):
            return True
        # A key we have not seen: the document may have changed since it was cached.
        fresh = self._jwks.refreshed() if self._jwks else None
        return fresh is not None and _any_verifies(fresh, given, message)


def _any_verifies(keys: list[PublicKey], given: list[bytes], message: bytes) -> bool:
    return any(key.verifies(sig, message) for key in keys for sig in given)


def _entries(header: str) -> tuple[list[str], list[bytes]]:
    """The ``v1`` entries (as base64 text) and the decodable ``v1a`` ones (bytes); other versions skipped."""
    v1: list[str] = []
    v1a: list[bytes] = []
    for entry in header.split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1":
            v1.append(signature)
        elif version == "v1a":
            try:
                v1a.append(base64.b64decode(signature, validate=True))
            except (binascii.Error, ValueError):
                continue
    return v1, v1a


def _listed(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _decoded(text: str, prefix: str, what: str) -> bytes:
    """The bytes of a ``whsec_``/``whpk_`` key; the prefix is optional, and so is base64's padding."""
    if not isinstance(text, str):
        raise TypeError(f"the {what} must be a string ({prefix}…)")
    raw = text.removeprefix(prefix)
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the {what} is not base64 after {prefix!r}") from exc
    if not decoded:
        raise ValueError(f"the {what} is empty")
    return decoded
