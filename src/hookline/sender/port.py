"""The sender port: what the worker needs from an HTTP client, whichever one (aiohttp or libcurl) it is."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from hookline.core.credentials import Mtls
from hookline.core.models import Outcome
from hookline.sender import egress


@dataclass(frozen=True, slots=True)
class Options:
    """How a sender sends, whichever client it is on (``runtime`` makes it from the settings)."""

    allow_private: bool  # False: the SSRF guard refuses private, loopback and link-local addresses
    response_body_limit: int = 4096  # bytes of an answer kept for the attempt log
    max_connections: int = 256
    require_https: bool = False
    ca_file: str | None = None  # CAs to verify receivers with instead of the system's
    proxy: egress.Proxy | None = None  # the operator's egress proxy: every delivery goes through it


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
