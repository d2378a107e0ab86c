"""The sender port: what the worker needs from an HTTP client, whichever one (aiohttp or libcurl) it is."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Protocol, TypeVar

from hookline.core.credentials import Mtls
from hookline.core.models import Outcome


class Port(Protocol):
    async def send(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout_s: float,
        client_cert: Mtls | None = None,
    ) -> Outcome:
        """POST one attempt (with ``client_cert`` for mTLS); never raises for a bad endpoint (the Outcome
        says what happened)."""
        ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=Port)


@contextlib.asynccontextmanager
async def opened(sender: S) -> AsyncIterator[S]:
    """``sender``, closed when the block ends."""
    try:
        yield sender
    finally:
        await sender.close()


def ms_since(perf_counter_start: float) -> float:
    return (time.perf_counter() - perf_counter_start) * 1000.0
