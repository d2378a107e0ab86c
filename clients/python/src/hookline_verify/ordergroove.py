"""``Ordergroove-Signature``: ``ts=<unix>,sig=<hex HMAC-SHA256 of "{ts}.{body}">``, one ``sig=`` per key.

The key is the UTF-8 bytes of the target's ``signing_key``. During a key rotation the header carries a
second ``sig=`` (new key first), so a receiver holding either key verifies for the 24 hours of the window.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from hookline_verify._headers import DEFAULT_TOLERANCE_S, body_bytes, lower_keys, timestamp
from hookline_verify.errors import VerificationError

HEADER = "ordergroove-signature"


class Ordergroove:
    """Verifies ``Ordergroove-Signature`` with one signing key, or several (say, before and after a rotation
    of your own)."""

    def __init__(self, signing_key: str | Sequence[str], *, tolerance_s: float = DEFAULT_TOLERANCE_S) -> None:
        keys = [signing_key] if isinstance(signing_key, str) else list(signing_key)
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise ValueError("give the target's signing_key (a non-empty string)")
        self._keys = [k.encode() for k in keys]
        self._tolerance_s = tolerance_s

    def verify(self, body: bytes | str, headers: Mapping[str, str], *, now: float | None = None) -> None:
        """Return if a ``sig=`` of the header is ``body``'s signature by one of the keys, made within the
        tolerance of ``now`` (default: the clock); raise ``VerificationError`` otherwise."""
        header = lower_keys(headers).get(HEADER)
        if not header:
            raise VerificationError("no Ordergroove-Signature header")
        ts: str | None = None
        given: list[bytes] = []
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name == "ts":
                ts = value
            elif name == "sig":
                given.append(value.encode())
        ts = timestamp(ts, self._tolerance_s, now)
        message = ts.encode() + b"." + body_bytes(body)
        for key in self._keys:
            expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode()
            if any(hmac.compare_digest(expected, sig) for sig in given):
                return
        raise VerificationError("no signature of the Ordergroove-Signature header matches")
