"""A resolver that drops refused addresses, so the guard judges the address actually connected to.

Checking a host name when a URL is saved is not enough: the name can later resolve (or be rebound) to
127.0.0.1 or to the metadata service. aiohttp asks its resolver for every new connection (the connector
caches the answer for ``ttl_dns_cache`` seconds, after this filter), so filtering here covers every
connection made to a name. IP-literal hosts skip the resolver; the sender checks those itself.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from hookline.sender import guard


class GuardedResolver(AbstractResolver):
    """Wraps a real resolver; keeps only reachable addresses, raises ``guard.Blocked`` if none is left.

    Mixed answers (a public and a private address) keep the public ones: the connection can only reach an
    allowed address, which is all the guard promises.
    """

    def __init__(self, inner: AbstractResolver, *, exempt: frozenset[str] = frozenset()) -> None:
        self._inner = inner
        self._exempt = exempt  # names resolved unjudged: the operator's egress proxy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host in self._exempt:
            return await self._inner.resolve(host, port, family)
        reason = guard.name_refusal(host)
        if reason is not None:
            raise guard.Blocked(reason)
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        first_refusal: str | None = None
        for result in results:
            refusal = guard.refusal(ipaddress.ip_address(result["host"]), name=host)
            if refusal is None:
                allowed.append(result)
            elif first_refusal is None:
                first_refusal = refusal
        if first_refusal is not None and not allowed:
            raise guard.Blocked(first_refusal)
        return allowed

    async def close(self) -> None:
        await self._inner.close()
