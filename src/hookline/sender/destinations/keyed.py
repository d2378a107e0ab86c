"""The ordering key of a keyed delivery as one more subject token (NATS) or routing-key word (RabbitMQ), so
that consumers can partition by key.

The token is the ``Hookline-Ordering-Key`` header's value (ids as they are, other characters already
percent-encoded) with the characters a token or word cannot hold percent-encoded too: ``.`` (the separator),
``*`` and ``>`` (NATS wildcards) and whitespace. Decoding the token once (``urllib.parse.unquote``) gives
the key, as decoding the header does. An unordered delivery (no header) keeps its subject or routing key.

An AMQP routing key is at most 255 bytes (``ROUTING_KEY_MAX``), suffix included. A token that would make it
longer is shortened to its first bytes, ``~`` and 16 hex digits of the whole token's SHA-256
(``<routing_key>.<head>~<digest>``): the same for every delivery of the key, so consumers still partition by
it, and different for different keys; the header still carries the key whole. A routing key leaves room for
that (``SUFFIX_ROOM`` bytes): ``spec`` refuses a longer one on a named exchange.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

from hookline.core import ordering

_NOT_IN_A_TOKEN: Final = frozenset(".*>")
ROUTING_KEY_MAX: Final = 255  # AMQP 0-9-1: a routing key is a short string
_DIGEST_HEX: Final = 16
_HASHED_MIN: Final = 1 + _DIGEST_HEX  # "~" and the digest: the shortest a shortened token gets
SUFFIX_ROOM: Final = 1 + _HASHED_MIN  # "." and a shortened token: what a routing key must leave free


class NoRoom(ValueError):
    """The base leaves too little room under the limit for even a shortened key."""


def token(headers: Mapping[str, str]) -> str | None:
    """The delivery's ordering key as one token, or None when the delivery is not keyed."""
    wanted = ordering.KEY_HEADER.lower()
    value = next((v for name, v in headers.items() if name.lower() == wanted), None)
    if not value:
        return None
    return "".join(f"%{ord(c):02X}" if c in _NOT_IN_A_TOKEN or c.isspace() else c for c in value)


def suffixed(base: str, headers: Mapping[str, str], limit: int | None = None) -> str:
    """``base.<token>`` for a keyed delivery, ``base`` itself otherwise; with ``limit`` (bytes), the token
    shortened to fit (``NoRoom`` when even a shortened one cannot)."""
    found = token(headers)
    if found is None:
        return base
    if limit is not None:
        found = _fit(found, limit - len(base.encode()) - 1)
    return f"{base}.{found}"


def _fit(found: str, room: int) -> str:
    """``found`` if it takes at most ``room`` bytes, else ``<head>~<digest>`` in exactly ``room`` or less."""
    raw = found.encode()
    if len(raw) <= room:
        return found
    if room < _HASHED_MIN:
        raise NoRoom(f"{room} bytes are left for the ordering key; {_HASHED_MIN} are needed")
    head = raw[: room - _HASHED_MIN].decode("ascii", "ignore")
    escape = head.rfind("%", max(0, len(head) - 2))
    if escape != -1:  # never half a %XX escape: the head stays decodable
        head = head[:escape]
    return f"{head}~{hashlib.sha256(raw).hexdigest()[:_DIGEST_HEX]}"
