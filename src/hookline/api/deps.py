"""Request dependencies: the service context, the caller, and pagination."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Query, Request

from hookline.errors import Invalid
from hookline.service import auth
from hookline.service.context import Context


def context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


async def principal(request: Request) -> auth.Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.headers.get("x-api-key")
    return await auth.authenticate(context(request), key)


Ctx = Annotated[Context, Depends(context)]
Caller = Annotated[auth.Principal, Depends(principal)]


async def merchant_id(caller: Caller, merchant: Annotated[str | None, Query()] = None) -> str:
    """The merchant a call acts for (operator: ``?merchant=``; merchant key: its own)."""
    return caller.acting_for(merchant)


MerchantId = Annotated[str, Depends(merchant_id)]
Limit = Annotated[int, Query(ge=1, le=500)]


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("the cursor is not one this API gave out", fields={"cursor": "invalid"}) from None


def next_cursor(rows: list[dict[str, object]], limit: int, key: str = "id") -> str | None:
    return encode_cursor(str(rows[-1][key])) if len(rows) == limit else None
