"""Throttling of failed authentications per client address: wrong API keys and failed dashboard sign-ins.

Keys are long and random, so guessing one is hopeless; the operator key, though, may be chosen by a person,
and every wrong key costs a database look-up. So each client address may fail ``limit`` times in a burst
and then once every ``window_s / limit`` seconds (a generic cell rate algorithm: one number per address,
the time its debt is paid off). Past that, every authentication from the address is answered 429 with
``Retry-After``, before the key is even looked at: a correct guess must not be told apart from a wrong one
while throttled, and a valid key from the same address waits too. A success does not clear the debt, or
one valid merchant key would let its holder guess the operator key at full speed.

IPv6 clients are counted by their /64 network (one host usually holds a whole /64), IPv4 ones by address.
The table is bounded (``max_addresses``): when it is full the address that failed longest ago is
forgotten. An attacker rotating through more addresses than that can make the table forget a throttled
address early, and it still needs that many addresses, each allowed only ``limit`` guesses at a time.
"""

from __future__ import annotations

import ipaddress
import math


def client_key(host: str | None) -> str:
    """The key an address is counted under: the address itself, or its /64 for IPv6."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class FailureLimiter:
    """Failed authentications per client address; ``limit`` 0 turns throttling off."""

    def __init__(self, limit: int = 20, window_s: float = 60.0, max_addresses: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_addresses = max(1, max_addresses)
        self._interval = window_s / limit if limit > 0 else 0.0
        # Address -> when its debt is paid off. Insertion order is the order of last failure, oldest first.
        self._paid_at: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._paid_at)

    def wait(self, client: str, now: float) -> int | None:
        """Whole seconds ``client`` must wait before it may try again, or None when it may now."""
        paid_at = self._paid_at.get(client)
        if paid_at is None or self.limit <= 0:
            return None
        if paid_at <= now:
            del self._paid_at[client]
            return None
        # Throttled while ``limit`` failures' worth of debt is owed: the next failure would go past it.
        over = paid_at - now - (self.window_s - self._interval)
        return math.ceil(over) if over > 0 else None

    def failed(self, client: str, now: float) -> None:
        """Count a failed authentication from ``client``."""
        if self.limit <= 0:
            return
        paid_at = max(self._paid_at.pop(client, now), now) + self._interval
        while len(self._paid_at) >= self.max_addresses:
            del self._paid_at[next(iter(self._paid_at))]  # the one that failed longest ago
        self._paid_at[client] = paid_at
