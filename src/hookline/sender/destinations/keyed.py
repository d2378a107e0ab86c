"""The ordering key of a keyed delivery as one more subject token (NATS) or routing-key word (RabbitMQ), so
that consumers can partition by key.

The token is the ``Hookline-Ordering-Key`` header's value (ids as they are, other characters already
percent-encoded) with the characters a token or word cannot hold percent-encoded too: ``.`` (the separator),
``*`` and ``>`` (NATS wildcards) and whitespace. Decoding the token once (``urllib.parse.unquote``) gives
the key, as decoding the header does. An unordered delivery (no header) keeps its subject or routing key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hookline import ordering

_NOT_IN_A_TOKEN: Final = frozenset(".*>")


def token(headers: Mapping[str, str]) -> str | None:
    """The delivery's ordering key as one token, or None when the delivery is not keyed."""
    wanted = ordering.KEY_HEADER.lower()
    value = next((v for name, v in headers.items() if name.lower() == wanted), None)
    if not value:
        return None
    return "".join(f"%{ord(c):02X}" if c in _NOT_IN_A_TOKEN or c.isspace() else c for c in value)


def suffixed(base: str, headers: Mapping[str, str]) -> str:
    """``base.<token>`` for a keyed delivery, ``base`` itself otherwise."""
    found = token(headers)
    return base if found is None else f"{base}.{found}"
