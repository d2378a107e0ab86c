"""Identifiers: a type prefix and a time-ordered, random suffix (``dlv_01J…``).

Time order lets lists page by id (newest first) without a second sort key; the prefix tells a human at a
glance what an id names. The layout is ULID's: 48 bits of milliseconds, 80 random bits, Crockford base32.
"""

from __future__ import annotations

import os
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every pair of digits, by the 10 bits it stands for.
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)


def new(prefix: str, *, now: float | None = None) -> str:
    """A new id such as ``evt_01JD3M6W9B3QK0Z6N0Y7V4R8TE``."""
    ms = int((time.time() if now is None else now) * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    # 26 base32 digits hold 130 bits: 10 digits for the 48 bits of milliseconds after two zero bits, then
    # 16 for the 80 random bits; each pair of digits is 10 bits, looked up whole (base64's encoder is slow).
    p = _PAIRS
    return (
        f"{prefix}_{p[ms >> 40]}{p[ms >> 30 & 1023]}{p[ms >> 20 & 1023]}{p[ms >> 10 & 1023]}{p[ms & 1023]}"
        f"{p[rand >> 70]}{p[rand >> 60 & 1023]}{p[rand >> 50 & 1023]}{p[rand >> 40 & 1023]}"
        f"{p[rand >> 30 & 1023]}{p[rand >> 20 & 1023]}{p[rand >> 10 & 1023]}{p[rand & 1023]}"
    )


def secret(prefix: str, nbytes: int = 24) -> str:
    """A random secret such as an API key or signing key, URL-safe."""
    return prefix + "_" + secrets.token_urlsafe(nbytes)
