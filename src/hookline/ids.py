"""Identifiers: a type prefix and a time-ordered, random suffix (``dlv_01J…``).

Time order lets lists page by id (newest first) without a second sort key; the prefix tells a human at a
glance what an id names. The layout is ULID's: 48 bits of milliseconds, 80 random bits, Crockford base32.
"""

from __future__ import annotations

import base64
import os
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# base64's base32 alphabet, letter for letter, to Crockford's (ULID's).
_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def new(prefix: str, *, now: float | None = None) -> str:
    """A new id such as ``evt_01JD3M6W9B3QK0Z6N0Y7V4R8TE``."""
    ms = int((time.time() if now is None else now) * 1000)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    # 26 base32 digits hold 130 bits: the 128 of the value after two zero bits. Shifted left by 6 into 17
    # bytes, the value's first 130 bits are those, and base32 encodes from the first bit.
    digits = base64.b32encode((value << 6).to_bytes(17, "big"))[:26]
    return prefix + "_" + digits.translate(_CROCKFORD).decode()


def secret(prefix: str, nbytes: int = 24) -> str:
    """A random secret such as an API key or signing key, URL-safe."""
    return prefix + "_" + secrets.token_urlsafe(nbytes)
