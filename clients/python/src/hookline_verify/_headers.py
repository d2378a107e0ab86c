"""What both schemes read from a request: header values by any case, and the signed timestamp's window."""

from __future__ import annotations

import time
from collections.abc import Mapping

from hookline_verify.errors import VerificationError

DEFAULT_TOLERANCE_S = 300  # five minutes either way, as the Standard Webhooks libraries use


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers with lower-case names: HTTP names are case-insensitive, frameworks differ in case."""
    return {name.lower(): value for name, value in headers.items()}


def body_bytes(body: bytes | str) -> bytes:
    """The raw body as signed. Pass the bytes as received: a parsed and re-serialised JSON body differs."""
    return body.encode() if isinstance(body, str) else bytes(body)


def timestamp(text: str | None, tolerance_s: float, now: float | None) -> str:
    """The timestamp header, if it is a number within ``tolerance_s`` seconds of ``now`` (default: the
    clock): an old signed request replayed later is refused."""
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    if not text or not (text.isascii() and text.isdigit()):
        raise VerificationError("the signature's timestamp is missing or not a number")
    ts = int(text)
    current = time.time() if now is None else now
    if ts < current - tolerance_s:
        raise VerificationError("the signature's timestamp is too old")
    if ts > current + tolerance_s:
        raise VerificationError("the signature's timestamp is too far in the future")
    return text
