"""Request dependencies: the service context, the caller, and pagination."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated, Any, Protocol

import orjson
from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from starlette.datastructures import Headers

from hookline.api import openapi
from hookline.core.errors import HooklineError, Invalid
from hookline.service import auth
from hookline.service.context import Context

# Where a request keeps who its key belongs to (or why it belongs to nobody), once asked.
_PRINCIPAL = "hookline.principal"


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


async def context(request: Request) -> Context:
    # async: FastAPI runs a plain ``def`` dependency on a worker thread, a hand-off on every request.
    return context_of(request)


def api_key(headers: Headers) -> str | None:
    """The key a request presents: ``Authorization: Bearer <key>`` or ``x-api-key: <key>``."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else headers.get("x-api-key")


async def identify(request: Request) -> auth.Principal:
    """Who is calling. Asked once per request: the body guard (``api/bodies.py``) asks before the body is
    read, to know how large a body this caller may send, and the route gets the same answer."""
    known: auth.Principal | HooklineError | None = request.scope.get(_PRINCIPAL)
    if known is None:
        try:
            client = request.client.host if request.client else None
            known = await auth.authenticate(context_of(request), api_key(request.headers), client=client)
        except HooklineError as exc:
            known = exc
        request.scope[_PRINCIPAL] = known
    if isinstance(known, HooklineError):
        raise known
    return known


# The two ways to send a key, as FastAPI's security dependencies: the OpenAPI document gets its security
# schemes from them and marks each operation that needs a key (with an Authorize button). The key itself is
# read by ``identify``, which the body guard also asks before any route runs.
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
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    _header_key: Annotated[str | None, Depends(API_KEY)],
) -> auth.Principal:
    """Who is calling (``identify``); the two parameters only declare the ways to send a key."""
    return await identify(request)


async def refuse_nul(request: Request) -> None:
    """Refuse NUL characters in the URL: PostgreSQL cannot store them in text, so they would fail late.
    (The body guard refuses them in JSON bodies, ``api/bodies.py``, without a dependency reading the body.)"""
    query = request.query_params.multi_items()
    if "\x00" in request.scope["path"] or any("\x00" in k or "\x00" in v for k, v in query):
        raise Invalid("the URL contains a NUL character", fields={"url": "NUL character"})


Ctx = Annotated[Context, Depends(context)]
Caller = Annotated[auth.Principal, Depends(principal)]


async def merchant_id(ctx: Ctx, caller: Caller, merchant: Annotated[str | None, Query()] = None) -> str:
    """The merchant a call acts for (operator: ``?merchant=``, which must exist; merchant key: its own)."""
    return await auth.merchant_for(ctx, caller, merchant)


MerchantId = Annotated[str, Depends(merchant_id)]


def _digits(value: Any) -> Any:
    """A count in a query is ASCII digits only: pydantic would also read ``1_0``, ``+1`` and ``" 1"``."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number written with the digits 0-9")
    return value


Limit = Annotated[int, Query(ge=1, le=500), BeforeValidator(_digits)]
Cursor = Annotated[str | None, Query(json_schema_extra=openapi.CURSOR)]
TimeQuery = Annotated[str | None, Query(json_schema_extra=openapi.TIME_QUERY)]
EventTypeQuery = Annotated[str | None, Query(json_schema_extra=openapi.EVENT_TYPE_FILTER)]


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


class Identified(Protocol):
    """A record listed in pages: its id is the cursor."""

    @property
    def id(self) -> str: ...


def next_cursor(rows: Sequence[Identified] | Sequence[dict[str, object]], limit: int) -> str | None:
    if len(rows) != limit:
        return None
    last = rows[-1]
    return encode_cursor(str(last["id"]) if isinstance(last, dict) else last.id)


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


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_form(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() in FORMS


async def json_body(request: Request) -> Any:
    """A free-form JSON body read by hand (events, platform objects): every bad body is a problem
    document naming it, not a validation error about a model. Its size, nesting and characters were
    checked at the edge (``api/bodies.py``), which takes a body sent as a form for a form."""
    if is_form(request.headers.get("content-type")):
        # Not JSON, whatever it looks like: the edge did not check it as JSON.
        raise Invalid("the body is sent as a form; send JSON", fields={"body": "not JSON"})
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}", fields={"body": "invalid JSON"}) from None
