"""Identifiers: a type prefix and a time-ordered, random suffix (``dlv_01J…``).

Time order lets lists page by id (newest first) without a second sort key; the prefix tells a human at a
glance what an id names. The layout is ULID's: 48 bits of milliseconds, 80 random bits, Crockford base32.
"""

from __future__ import annotations

import os
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new(prefix: str, *, now: float | None = None) -> str:
    """A new id such as ``evt_01JD3M6W9B3QK0Z6N0Y7V4R8TE``."""
    ms = int((time.time() if now is None else now) * 1000)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return prefix + "_" + "".join(reversed(chars))


def secret(prefix: str, nbytes: int = 24) -> str:
    """A random secret such as an API key or signing key, URL-safe."""
    return prefix + "_" + secrets.token_urlsafe(nbytes)
