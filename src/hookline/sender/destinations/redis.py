"""Redis Streams: ``XADD`` of one entry per attempt; the entry id is the acknowledgement.

The entry's fields are the headers, named like the HTTP headers in lower case, and the payload in the field
``body``. The stream must exist (``NOMKSTREAM``): a consumer creates it, with its group, by
``XGROUP CREATE <stream> <group> $ MKSTREAM``; a typo in ``stream`` is then a refusal, not a stream nobody
reads. ``maxlen`` trims the stream to that many entries (exactly) as each entry is added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis import asyncio as aioredis
from redis import exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.typing import EncodableT, FieldT

from hookline.sender.destinations.port import Connections, Pooled, Refused, Unreachable

CONNECT_TIMEOUT_S = 5.0
MAX_CONNECTIONS = (
    64  # per broker URL; more concurrent publishes wait for one (the attempt's timeout bounds it)
)


async def _open(url: str) -> aioredis.Redis:
    # No retries inside the client: an XADD sent twice is two entries, and retrying is the worker's job.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=None,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )
    client = aioredis.Redis.from_pool(pool)
    try:
        await client.ping()
    except (exceptions.ConnectionError, exceptions.TimeoutError) as exc:  # authentication failures too
        await client.aclose()
        raise Unreachable(str(exc) or type(exc).__name__) from None
    except BaseException:
        await client.aclose()
        raise
    return client


async def _close(client: aioredis.Redis) -> None:
    await client.aclose()


class RedisBroker(Pooled[aioredis.Redis]):
    def __init__(self) -> None:
        super().__init__(Connections(_open, _close))

    async def publish(
        self,
        url: str,
        destination: Mapping[str, Any],
        body: bytes,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> str:
        client = await self._connections.get(url)
        stream = str(destination["stream"])
        fields: dict[FieldT, EncodableT] = {name.lower(): value for name, value in headers.items()}
        fields["body"] = body
        try:
            entry = await client.xadd(
                stream, fields, maxlen=destination.get("maxlen"), approximate=False, nomkstream=True
            )
        except exceptions.ResponseError as exc:  # WRONGTYPE, NOPERM, OOM …: Redis answered no
            raise Refused(str(exc)) from None
        except (exceptions.ConnectionError, exceptions.TimeoutError) as exc:
            raise Unreachable(str(exc) or "connection lost") from None
        if entry is None:
            raise Refused(
                f"no stream named {stream!r}; create it (XGROUP CREATE {stream} <group> $ MKSTREAM)"
            )
        return f"XADD {stream} {entry.decode() if isinstance(entry, bytes) else entry}"
