"""The sender port: what the worker needs from an HTTP client, whichever one (aiohttp or libcurl) it is."""

from __future__ import annotations

from typing import Protocol

from hookline.models import Outcome


class Port(Protocol):
    async def send(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Outcome:
        """POST one attempt; never raises for a bad endpoint (the Outcome says what happened)."""
        ...

    async def close(self) -> None: ...
