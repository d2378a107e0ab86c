"""Request bodies at the edge, before any route sees them: how large, from whom, and what JSON may hold.

Why an ASGI middleware around the whole application rather than checks in the routes: FastAPI reads a
route's body before it resolves the route's dependencies, authentication included, so anything a
dependency or a route checks comes after the whole body is in memory. Here, for every request:

- A request that carries an API key has it checked before a byte of the body is read (the route reuses
  the answer, ``deps.identify``): a key that does not authenticate is answered (401) without reading the
  body. A body's allowance is ``max_body_bytes`` with a valid key, and ``max_keyless_body_bytes`` without
  one (the dashboard's forms and its sign-in, and any caller that sends no key).
- A ``Content-Length`` above the allowance is refused (413) without reading the body; a streamed body is
  cut off (413) as soon as it passes the allowance.
- A JSON body (anything not sent as a form) is refused (400) when it is nested deeper than
  ``max_json_depth``, or holds an escaped NUL (``\\u0000``, which PostgreSQL cannot store in text) or a lone
  surrogate (``\\ud800``, which is not a character and cannot be stored either). These are checked on the
  bytes, before anything parses them, in time linear in the body's size.

The refusals are raised when the application first reads the body, as ``HTTPException``, so each surface
answers them in its own format (problem+json, Ordergroove's ``{"detail"}``, the dashboard's error page);
a route that never reads the body is not held up by one. See ``docs/security.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline.api import deps, problems
from hookline.config import Settings
from hookline.core.errors import HooklineError


@dataclass(frozen=True, slots=True)
class Limits:
    body: int
    keyless_body: int
    json_depth: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.max_body_bytes, settings.max_keyless_body_bytes, settings.max_json_depth)


class BodyGuard:
    """The ASGI middleware; see the module's documentation."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if headers is None or not _may_have_body(headers):
            await self.app(scope, receive, send)  # no body (HTTP/1.1 has one only if it says so)
            return
        allowance, refusal = self.limits.keyless_body, None
        if deps.api_key(headers):
            try:
                await deps.identify(Request(scope))
                allowance = self.limits.body
            except HooklineError as exc:  # a wrong key (401), or the database is unreachable (503)
                refusal = HTTPException(problems.status_of(exc), exc.detail)
        reader = _Reader(receive, headers, allowance, self.limits, refusal)

        async def closing(message: Message) -> None:
            # An answer given without reading the body (a refusal, a 401 from the route) ends the
            # connection, so the server does not go on receiving the rest of a large body for nothing. A
            # body said to be at most twice the allowance is left to the server to discard (it keeps none
            # of it): closing with data unread makes the client's system reset the connection, and the
            # client might never see the answer, which it will see if it is only a little over the limit.
            if message["type"] == "http.response.start" and not reader.done and not reader.nearly_fits:
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, reader.receive, closing)


def _may_have_body(headers: Headers) -> bool:
    return headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers


def _declared(headers: Headers) -> int:
    """The ``Content-Length`` (the server has already refused a malformed one), 0 without one."""
    value = headers.get("content-length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else 0


class _Reader:
    """Hands the application the whole body in one message, once it is within its allowance and checked."""

    def __init__(
        self,
        receive: Receive,
        headers: Headers,
        allowance: int,
        limits: Limits,
        refusal: HTTPException | None,
    ) -> None:
        self.upstream = receive
        self.refusal = refusal
        self.allowance = allowance
        self.limits = limits
        self.declared = _declared(headers)
        self.nearly_fits = 0 < self.declared <= 2 * allowance
        self.json = not deps.is_form(headers.get("content-type"))
        self.done = False

    def _too_large(self) -> HTTPException:
        detail = f"the body is larger than {self.allowance} bytes"
        if self.allowance < self.limits.body:
            detail += f" (the limit without a valid API key; with one it is {self.limits.body} bytes)"
        return HTTPException(413, detail)

    async def receive(self) -> Message:
        if self.done:  # after the body: what the server has to say (a disconnect)
            return await self.upstream()
        if self.refusal is not None:
            raise self.refusal
        if self.declared > self.allowance:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.upstream()
            if message["type"] != "http.request":
                return message  # the client left before sending all of it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.allowance:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self.done = True
        body = b"".join(chunks)
        if self.json and body:
            # On the loop: a few passes in C, tens of milliseconds for the largest body (on a worker thread
            # it is no better, since those passes hold the interpreter's lock anyway).
            problem = json_problem(body, self.limits.json_depth)
            if problem is not None:
                raise HTTPException(400, problem)
        return {"type": "http.request", "body": body, "more_body": False}


# ---- what a JSON body may hold ---------------------------------------------------------------------------
#
# All on bytes, with C-speed operations (replace, translate, split, regular expressions without nested
# repetition), so a 5 MiB body is checked in tens of milliseconds of CPU whatever its shape. First the
# escaped backslashes go (``\\\\``), so every ``\\`` left starts an escape and every ``"`` left that is not
# escaped delimits a string.

_ESCAPED_BACKSLASH: Final = b"\\\\"
_NUL: Final = b"\\u0000"
_SURROGATE_PAIR: Final = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE: Final = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_BRACKETS_AND_QUOTES: Final = bytes(range(256)).translate(None, b'[]{}"')  # the bytes to delete
_SQUARE: Final = bytes.maketrans(b"{}", b"[]")
_RUNS: Final = re.compile(rb"\[+|\]+")


def json_problem(body: bytes, max_depth: int) -> str | None:
    """Why this JSON body is refused at the edge, or None (whether it is JSON at all is the parser's call)."""
    text = body.replace(_ESCAPED_BACKSLASH, b"")
    if b"\\u" in text:
        if _NUL in text:
            return "the body contains a NUL character (\\u0000)"
        if _SURROGATE.search(_SURROGATE_PAIR.sub(b"", text)) is not None:
            return "the body contains a lone surrogate escape (such as \\ud800), which is not a character"
    if deeper_than(_structure(text), max_depth):
        return f"the JSON body is nested deeper than {max_depth} levels"
    return None


def _structure(text: bytes) -> bytes:
    """The brackets outside strings, every ``{}`` written ``[]``: the nesting and nothing else."""
    kept = text.replace(b'\\"', b"").translate(_SQUARE, _BRACKETS_AND_QUOTES)
    # Two quotes side by side can go: every other character keeps the parity of the quotes before it, so
    # what was inside a string still is. That leaves only strings with brackets in them, usually none.
    kept = kept.replace(b'""', b"")
    if b'"' in kept:
        kept = b"".join(kept.split(b'"')[0::2])  # the even parts are outside strings
    return kept


def deeper_than(brackets: bytes, limit: int) -> bool:
    """True when the nesting of ``brackets`` (only ``[`` and ``]``) goes deeper than ``limit``.

    Each round of removing the innermost pairs (``[]``) takes one level off every branch, so a nesting
    ``limit`` deep is gone after ``limit`` rounds. Rounds are cheap while they remove much; once one
    removes less than a quarter (long chains are left), the depth is counted run by run (``[[[``, ``]]``),
    of which there are then few. Unbalanced brackets are not JSON: False, and the parser refuses them.
    """
    rounds = 0
    while brackets:
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return False
        rounds += 1
        if rounds > limit:
            return True
        slow = len(shorter) * 4 > len(brackets) * 3
        brackets = shorter
        if slow:
            break
    depth, left = 0, limit - rounds
    for run in _RUNS.finditer(brackets):
        width = run.end() - run.start()
        depth += width if brackets[run.start()] == ord("[") else -width
        if depth > left:
            return True
    return False
