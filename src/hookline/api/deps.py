"""Request dependencies: the service context, the caller, and pagination."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from hookline.errors import Invalid
from hookline.service import auth
from hookline.service.context import Context


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


async def context(request: Request) -> Context:
    # async: FastAPI runs a plain ``def`` dependency on a worker thread, a hand-off on every request.
    return context_of(request)


# The two ways to send a key, as FastAPI's security dependencies: they read the headers, and the OpenAPI
# document gets its security schemes and marks each operation that needs a key (with an Authorize button).
BEARER = HTTPBearer(
    scheme_name="bearer",
    auto_error=False,
    description="`Authorization: Bearer <key>`: the operator key, or a merchant's API key.",
)
API_KEY = APIKeyHeader(
    name="x-api-key",
    scheme_name="apiKey",
    auto_error=False,
    description="The same key in an `x-api-key` header, for clients that cannot set `Authorization`.",
)


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    header_key: Annotated[str | None, Depends(API_KEY)],
) -> auth.Principal:
    key = bearer.credentials.strip() if bearer is not None else header_key
    client = request.client.host if request.client else None
    return await auth.authenticate(context_of(request), key, client=client)


_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


async def refuse_nul(request: Request) -> None:
    """Refuse NUL characters at the edge: PostgreSQL cannot store them in text, so they would fail late."""
    query = request.query_params.multi_items()
    if "\x00" in request.scope["path"] or any("\x00" in k or "\x00" in v for k, v in query):
        raise Invalid("the URL contains a NUL character", fields={"url": "NUL character"})
    if request.method in ("POST", "PUT", "PATCH") and _has_nul(await request.body()):
        raise Invalid("the body contains a NUL character (\\u0000)", fields={"body": "NUL character"})


def _has_nul(body: bytes) -> bool:
    # The plain search first: the pattern (an escape not itself escaped) is slow on large bodies.
    return b"\\u0000" in body and _NUL_ESCAPE.search(body) is not None


Ctx = Annotated[Context, Depends(context)]
Caller = Annotated[auth.Principal, Depends(principal)]


async def merchant_id(ctx: Ctx, caller: Caller, merchant: Annotated[str | None, Query()] = None) -> str:
    """The merchant a call acts for (operator: ``?merchant=``, which must exist; merchant key: its own)."""
    return await auth.merchant_for(ctx, caller, merchant)


MerchantId = Annotated[str, Depends(merchant_id)]
Limit = Annotated[int, Query(ge=1, le=500)]


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        # validate=True: the lenient default drops unknown characters, so "!!!!" would decode to "".
        value = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
        if not value:
            raise ValueError(cursor)
        return value
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("the cursor is not one this API gave out", fields={"cursor": "invalid"}) from None


def next_cursor(rows: list[dict[str, object]], limit: int, key: str = "id") -> str | None:
    return encode_cursor(str(rows[-1][key])) if len(rows) == limit else None


# The OpenAPI description of a list's answer, for ``responses=`` on each list route.
PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page of the list; `next_cursor` is null on the last",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["data", "next_cursor"],
                    "properties": {"data": {"type": "array"}, "next_cursor": {"type": ["string", "null"]}},
                }
            }
        },
    }
}


MAX_BODY = 5 * 1024 * 1024


async def json_body(request: Request) -> Any:
    """A free-form JSON body read by hand (events, platform objects): every bad body is a problem
    document naming it, not a validation error about a model."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise Invalid(f"the body is larger than {MAX_BODY} bytes", fields={"body": "too large"})
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}", fields={"body": "invalid JSON"}) from None
