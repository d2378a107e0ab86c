"""``hookline listen``'s client: read a listener route's stream, forward each delivery to a local URL, report.

The stream (``GET /v1/routes/{id}/listen``, server-sent events) hands over each delivery with the exact
headers and body an HTTP target would get; they are POSTed to the local URL by the worker's own HTTP sender
(``http.Sender``: same headers, no redirects followed, the same answer kept), and what came back is reported
(``POST /v1/routes/{id}/listen/{delivery id}``) so that hookline records the attempt. A dropped stream is
opened again after a pause; a refusal (a wrong key, a route of another merchant or not a listener's) ends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from hookline import __version__
from hookline.core.models import ErrorKind, Outcome
from hookline.sender import http, listener, port

IDLE_S = 30.0  # the server sends a comment every few seconds: this long without a byte, the stream is dead
FIRST_PAUSE_S = 0.5
MAX_PAUSE_S = 5.0


class Refused(Exception):
    """hookline answered a 4xx (a wrong key, an unknown route, a route that is not a listener's)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}" if detail else str(status))
        self.status = status
        self.detail = detail


def refusal(status: int, raw: bytes) -> Refused:
    """A ``Refused`` saying what the problem document (or whatever else came) says."""
    with contextlib.suppress(orjson.JSONDecodeError):
        body = orjson.loads(raw)
        if isinstance(body, dict):
            return Refused(status, str(body.get("detail") or body.get("title") or ""))
    return Refused(status, raw[:300].decode("utf-8", errors="replace").strip())


@dataclass(frozen=True, slots=True)
class Forwarded:
    """One delivery forwarded: what ``hookline listen`` prints a line for."""

    delivery_id: str
    event_type: str
    attempt: int
    outcome: Outcome

    def line(self) -> str:
        o = self.outcome
        answer = str(o.status) if o.status is not None else f"{(o.error or ErrorKind.PROTOCOL).value} error"
        said = f" ({o.error_detail})" if o.status is None and o.error_detail else ""
        at = time.strftime("%H:%M:%S", time.localtime(o.started))
        return (
            f"{at}  {self.event_type:<28} -> {answer:<14} {o.duration_ms:7.0f} ms  {self.delivery_id}{said}"
        )


def report_of(outcome: Outcome) -> dict[str, Any]:
    """The report body (``ListenReportIn``) of what the local URL did."""
    report: dict[str, Any] = {"duration_ms": round(outcome.duration_ms, 3)}
    if outcome.status is None:
        kind = outcome.error if outcome.error in listener.REPORTED_ERRORS else ErrorKind.PROTOCOL
        report.update(error_kind=kind.value, error=(outcome.error_detail or kind.value)[:1000])
        return report
    report.update(
        response_status=outcome.status,
        response_headers=outcome.response_headers,
        response_body=outcome.response_body[: listener.BODY_LIMIT],
    )
    return report


class Listen:
    """Forwards route ``route_id``'s deliveries to ``forward_url`` until cancelled; build it in a loop."""

    def __init__(
        self,
        base_url: str,
        key: str,
        route_id: str,
        forward_url: str,
        *,
        say: Callable[[str], None],
        merchant: str | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._route = route_id
        self._forward_url = forward_url
        self._say = say
        self._params = {"merchant": merchant} if merchant else {}
        self._api = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {key}", "User-Agent": f"hookline-listen/{__version__}"},
            trust_env=False,
        )
        # The local app is the developer's own, on loopback or their network: no address rules apply.
        self._local = http.Sender(port.Options(allow_private=True, max_connections=8))

    async def close(self) -> None:
        await self._api.close()
        await self._local.close()

    async def run(self, on_forwarded: Callable[[Forwarded], None] | None = None) -> None:
        """Listen, forward and report until cancelled; ``Refused`` when hookline refuses the stream."""
        pause = FIRST_PAUSE_S
        while True:
            try:
                async for name, data in self._stream():
                    pause = FIRST_PAUSE_S
                    if name == "ready":
                        waiting = data.get("waiting") or 0
                        more = f" ({waiting} waiting for a retry, due now)" if waiting else ""
                        self._say(f"Ready: route {self._route} -> {self._forward_url}{more}")
                    elif name == "delivery":
                        forwarded = await self._forward(data)
                        self._say(forwarded.line())
                        if on_forwarded is not None:
                            on_forwarded(forwarded)
                self._say("hookline closed the stream; connecting again")
            except (aiohttp.ClientError, TimeoutError, Refused) as exc:
                if isinstance(exc, Refused) and exc.status < 500 and exc.status != 429:
                    raise
                self._say(
                    f"lost hookline at {self._base} ({str(exc) or type(exc).__name__}); connecting again"
                )
            await asyncio.sleep(pause)
            pause = min(MAX_PAUSE_S, pause * 2)

    async def _stream(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The stream's events (name, decoded data), until it ends."""
        path = f"/v1/routes/{self._route}/listen"
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=IDLE_S)
        async with self._api.get(
            self._base + path, params=self._params, timeout=timeout, headers={"Accept": "text/event-stream"}
        ) as response:
            if response.status >= 400:
                raise refusal(response.status, await response.read())
            name, data = "message", b""
            async for raw in response.content:
                line = raw.rstrip(b"\r\n")
                if not line:  # the blank line ends an event
                    if data:
                        yield name, orjson.loads(data)
                    name, data = "message", b""
                elif line.startswith(b"event:"):
                    name = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    data += line[5:].strip()

    async def _forward(self, delivery: dict[str, Any]) -> Forwarded:
        body = base64.b64decode(delivery["body"])
        outcome = await self._local.send(
            self._forward_url, body, dict(delivery["headers"]), float(delivery["timeout_s"])
        )
        delivery_id = str(delivery["delivery_id"])
        path = f"/v1/routes/{self._route}/listen/{delivery_id}"
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            # Not reported (hookline went away meanwhile): hookline records the attempt as the listener's
            # failure and sends the delivery again.
            async with self._api.post(
                self._base + path,
                params=self._params,
                json=report_of(outcome),
                timeout=aiohttp.ClientTimeout(total=30.0),
            ) as response:
                if response.status >= 400:
                    refused = refusal(response.status, await response.read())
                    self._say(f"hookline did not take the report: {refused}")
        return Forwarded(delivery_id, str(delivery["event_type"]), int(delivery["attempt"]), outcome)
