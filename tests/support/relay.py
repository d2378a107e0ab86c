"""A TCP relay between hookline and its database that a test controls: the database's faults, made to order.

hookline connects to the relay's port instead of the server's; the relay forwards both ways until the test
breaks it. The faults are those of a real network and a real server, made on real sockets, so what is
tested is hookline's reaction to what the kernel and the driver actually report:

- ``reset()``: every open connection is dropped with a TCP RST on both sides (a crashed server, a failover, a
  firewall that forgot the connection); new connections work at once.
- ``stall()``: nothing is forwarded any more in either direction and new connections are accepted but get no
  answer (a frozen server, a network black hole); ``heal()`` forwards what waited, as a server that resumes
  would.
- ``freeze()``: the connections open now forward nothing, ever again (only their end: when the client closes,
  the server's side is closed, so that it rolls back); new ones work. One backend hung, say.
- ``drop()``: the connections open now are reset on the server's side only; their clients are not told and
  get nothing more (a failover that moved the server's address, a firewall that forgot the connection).
- ``slow(seconds)``: every chunk of data waits that long before it is forwarded, both ways (a far or
  overloaded server).
- ``refuse()``: open connections are reset and new ones are refused (connection refused: a server that is
  down); ``heal()`` listens again on the same port.

Usage::

    async with start_relay(("127.0.0.1", 5432)) as relay:
        url = relay.url_for("postgresql://postgres@127.0.0.1:5432/db")  # host and port are the relay's
        relay.reset()
        relay.stall(); await asyncio.sleep(10); await relay.heal()

The relay runs in the test's event loop; every connection is two copying tasks, ended on ``close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

_CHUNK = 64 * 1024


@dataclass
class Counts:
    """What the relay did, for the test's report."""

    connections: int = 0  # accepted and connected upstream
    resets: int = 0  # connections reset by ``reset`` or ``refuse``
    dropped: int = 0  # connections cut off by ``drop``
    refused: int = 0  # refuse() calls
    held: int = 0  # new connections and chunks from clients that waited in a stall (clients asking)


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST: SO_LINGER 0 makes the kernel send it instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed already (uvloop)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Link:
    """One client connection and its upstream connection, copied both ways."""

    def __init__(self, relay: Relay, client: asyncio.StreamWriter) -> None:
        self.relay = relay
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.frozen = False  # nothing is forwarded any more, either way

    async def run(self, reader: asyncio.StreamReader) -> None:
        await self.relay.flowing(asking=True)  # a stalled server accepts and says nothing
        try:
            up_reader, self.upstream = await asyncio.open_connection(*self.relay.upstream)
        except OSError:
            _rst(self.client)
            return
        self.relay.counts.connections += 1
        outbound = asyncio.create_task(self._copy(reader, self.upstream, asking=True))
        inbound = asyncio.create_task(self._copy(up_reader, self.client, asking=False))
        self.tasks = [outbound, inbound]
        await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
        if self.frozen and not outbound.done():
            # The client is not told: it finds out by its own means (a deadline), and its end ends the link.
            await outbound
        self.close()

    async def _copy(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, asking: bool
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(_CHUNK):
                await self.relay.flowing(asking=asking)
                if self.frozen:
                    continue  # swallowed
                if self.relay.delay:
                    await asyncio.sleep(self.relay.delay)
                    await self.relay.flowing()
                writer.write(data)
                await writer.drain()

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                _rst(writer)
        self._cancel()

    def drop(self) -> None:
        self.frozen = True
        if self.upstream is not None:
            _rst(self.upstream)

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.close()
        self._cancel()

    def _cancel(self) -> None:
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()


class Relay:
    """A TCP relay to ``upstream`` on a port of 127.0.0.1; see the module docstring."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.delay = 0.0
        self.counts = Counts()
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def url_for(self, url: str) -> str:
        """``url`` with the relay's host and port in place of the server's."""
        parts = urlsplit(url)
        userinfo, _, _ = parts.netloc.rpartition("@")
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def open_connections(self) -> int:
        return len(self._links)

    def reset(self) -> int:
        """Reset every open connection; the number reset."""
        links = list(self._links)
        for link in links:
            link.reset()
        self._links.clear()
        self.counts.resets += len(links)
        return len(links)

    def stall(self) -> None:
        """Forward nothing (and answer no new connection) until ``heal``."""
        self._flowing.clear()

    def freeze(self) -> int:
        """Freeze every open connection for good (new ones work); the number frozen."""
        for link in self._links:
            link.frozen = True
        return len(self._links)

    def drop(self) -> int:
        """Cut every open connection off the server without a word to the client; the number cut.

        The server's side is reset (the server rolls back and forgets the session); the client's side stays
        open and nothing more comes on it, as when a failover moves the server's address or a firewall forgets
        the connection. New connections work.
        """
        links = [link for link in self._links if not link.frozen]
        for link in links:
            link.drop()
        self.counts.dropped += len(links)
        return len(links)

    def slow(self, seconds: float) -> None:
        """Hold every chunk ``seconds`` before forwarding it (0: at once)."""
        self.delay = seconds

    async def refuse(self) -> int:
        """Reset open connections and refuse new ones until ``heal``; the number reset."""
        self.counts.refused += 1
        if self._server is not None:
            # Not ``wait_closed``: since Python 3.12 it waits for the connections, which ``reset`` ends.
            self._server.close()
            self._server = None
        return self.reset()

    async def heal(self) -> None:
        """Undo ``stall``, ``slow`` and ``refuse``: forward again, at full speed, on the same port."""
        self.delay = 0.0
        self._flowing.set()
        if self._server is None:
            for _ in range(50):  # the port is ours; a moment in TIME_WAIT is all that can hold it up
                try:
                    self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
                    return
                except OSError:
                    await asyncio.sleep(0.02)
            raise RuntimeError(f"relay: cannot listen on port {self.port} again")

    async def flowing(self, *, asking: bool = False) -> None:
        """Once the relay forwards; ``asking``: a client's connection or data waits (``counts.held``)."""
        if asking and not self._flowing.is_set():
            self.counts.held += 1
        await self._flowing.wait()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.close()
        self._links.clear()
        self._flowing.set()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(self, writer)
        self._links.add(link)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await link.run(reader)
        except asyncio.CancelledError:
            pass  # ended by ``close``: asyncio's stream callback would log a cancelled handler as an error
        finally:
            self._links.discard(link)
            self._tasks.discard(task)


@contextlib.asynccontextmanager
async def start_relay(upstream: tuple[str, int]) -> AsyncIterator[Relay]:
    """A started relay to ``upstream``; closed, with every connection through it, on exit."""
    relay = Relay(upstream)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.close()
