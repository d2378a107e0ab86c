"""Tools of the hostile-input tests: a raw HTTP/1.1 client that can lie about and stream its body, a
process's memory, and a digest of everything the database holds (to show a refused request changed
nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from hookline.storage.database import Database
from hookline.storage.tables import metadata

MiB = 1024 * 1024


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (the peak so far) of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


@dataclass
class Sent:
    status: int | None  # None: the server closed without answering
    head: bytes  # the status line and headers of the answer
    body_bytes_sent: int
    seconds: float


async def post_raw(
    port: int,
    path: str,
    headers: dict[str, str],
    chunks: Iterable[bytes],
    *,
    chunked: bool,
    declared: int | None = None,
    timeout: float = 20.0,
) -> Sent:
    """POST ``chunks`` to 127.0.0.1:``port`` over one raw connection, as a client that does not wait for
    the answer before sending: it writes until the server answers or closes (or the chunks run out), then
    reads the answer's head. ``declared`` is the ``Content-Length`` sent (when not ``chunked``)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}")
    sent = 0
    answer = asyncio.ensure_future(reader.readuntil(b"\r\n\r\n"))
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        for chunk in chunks:
            await asyncio.sleep(0)  # let the answer in, if there is one
            if answer.done():
                break
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            try:
                await writer.drain()
            except (ConnectionError, OSError):
                break  # the server closed: it will not read more
            sent += len(chunk)
            assert time.monotonic() - started < timeout, f"still sending after {timeout}s ({sent} bytes)"
        else:
            if chunked:
                with contextlib.suppress(ConnectionError, OSError):
                    writer.write(b"0\r\n\r\n")
        try:
            head = await asyncio.wait_for(answer, timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            head = b""
        status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else None
        return Sent(status, head, sent, time.monotonic() - started)
    finally:
        answer.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


def megabytes(total: int, size: int = 64 * 1024) -> Iterable[bytes]:
    chunk = b"x" * size
    for _ in range(total // size):
        yield chunk


async def stored(database_url: str) -> dict[str, list[str]]:
    """Every row of every table, as text: equal before and after, nothing was stored or changed (but a
    session's ``last_seen``, written once a minute by any page view: looking is not changing)."""
    db = Database(database_url)
    found: dict[str, list[str]] = {}
    try:
        async with db.read() as conn:
            for table in metadata.sorted_tables:
                rows = (await conn.execute(select(table))).mappings().all()
                kept = [
                    {k: v for k, v in r.items() if not (table.name == "sessions" and k == "last_seen")}
                    for r in rows
                ]
                found[table.name] = sorted(repr(sorted(r.items())) for r in kept)
    finally:
        await db.close()
    return found
