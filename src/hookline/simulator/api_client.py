"""A small client of hookline's own JSON API, for the simulator and the demo.

It lives here because only the ``sender`` package imports aiohttp. Every call sends the bearer key and JSON,
and returns the decoded answer; a 4xx or 5xx becomes an ``ApiError`` carrying the problem document's
detail, so a caller can print why. A 503 (the database is briefly unavailable) and a refused connection
(the server is still starting) are retried with a growing pause, honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson

from hookline import __version__

RETRIES = 5
FIRST_PAUSE_S = 0.2
MAX_PAUSE_S = 5.0


class ApiError(Exception):
    """The API answered ``status`` (or could not be reached: ``status`` 0) to ``method path``."""

    def __init__(self, method: str, path: str, status: int, title: str, detail: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.title = title
        self.detail = detail
        answer = f"{status} {title}" if status else title
        super().__init__(f"{method} {path}: {answer}: {detail}" if detail else f"{method} {path}: {answer}")


def _problem(method: str, path: str, status: int, reason: str, raw: bytes) -> ApiError:
    """An ``ApiError`` from a problem+json answer (or whatever else the server sent)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return ApiError(method, path, status, reason, raw[:300].decode("utf-8", errors="replace").strip())
    detail = str(body.get("detail") or "")
    fields = body.get("errors")
    if isinstance(fields, list) and fields:
        parts = [f"{f.get('field')}: {f.get('detail')}" for f in fields[:5] if isinstance(f, dict)]
        detail = f"{detail} ({'; '.join(parts)})" if detail else "; ".join(parts)
    return ApiError(method, path, status, str(body.get("title") or reason), detail)


def _pause(attempt: int, retry_after: str | None) -> float:
    if retry_after is not None:
        with contextlib.suppress(ValueError):
            return min(MAX_PAUSE_S, max(0.0, float(retry_after)))
    return float(min(MAX_PAUSE_S, FIRST_PAUSE_S * 2**attempt))


class ApiClient:
    """JSON calls to one hookline server with one key; build it in a running loop and ``close`` it."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout_s: float = 30.0,
        retries: int = RETRIES,
        user_agent: str = "hookline-simulator",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._retries = retries
        self._session = aiohttp.ClientSession(
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "User-Agent": f"{user_agent}/{__version__}",
            },
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            trust_env=False,
        )

    async def close(self) -> None:
        await self._session.close()

    async def call(
        self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """The decoded answer of ``method path``; ``ApiError`` for a 4xx/5xx or an unreachable server."""
        data = None if body is None else orjson.dumps(body)
        url = self.base_url + path
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                async with self._session.request(method, url, data=data, params=params) as response:
                    raw = await response.read()
                    if response.status == 503 and not last:
                        await asyncio.sleep(_pause(attempt, response.headers.get("Retry-After")))
                        continue
                    if response.status >= 400:
                        raise _problem(method, path, response.status, response.reason or "", raw)
                    return orjson.loads(raw) if raw else None
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                if last:
                    raise ApiError(method, path, 0, "unreachable", str(exc) or type(exc).__name__) from exc
                await asyncio.sleep(_pause(attempt, None))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Any, params: Mapping[str, str] | None = None) -> Any:
        return await self.call("POST", path, body, params)

    async def put(self, path: str, body: Any, params: Mapping[str, str] | None = None) -> Any:
        return await self.call("PUT", path, body, params)

    async def patch(self, path: str, body: Any, params: Mapping[str, str] | None = None) -> Any:
        return await self.call("PATCH", path, body, params)

    async def delete(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.call("DELETE", path, params=params)

    async def pages(self, path: str, params: Mapping[str, str] | None = None) -> AsyncIterator[Any]:
        """Every row of a paginated list, following ``next_cursor``."""
        query = {"limit": "500", **(params or {})}
        while True:
            page = await self.get(path, query)
            for row in page["data"]:
                yield row
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Poll ``GET /readyz`` until the server answers 200."""
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._session.get(self.base_url + "/readyz") as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise ApiError("GET", "/readyz", 0, "not ready", f"no answer within {timeout_s:g} s")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def open_api_client(base_url: str, key: str, **options: Any) -> AsyncIterator[ApiClient]:
    client = ApiClient(base_url, key, **options)
    try:
        yield client
    finally:
        await client.close()
