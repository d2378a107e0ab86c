"""``/webhook_targets``: Ordergroove's webhook API, so integrations written against it work unchanged.

Shapes follow Ordergroove (``docs/ordergroove-api.md``): epoch-int times, ``target_url``, lists as
``{"next", "previous", "results"}`` paged with ``?page=`` (and ``?page_size=``), and errors as
``{"detail": "..."}`` rather than problem documents. Every path answers with or without a trailing slash,
since Ordergroove's own examples use both. Auth is the rest of the API's: a merchant key, or the operator
key naming the merchant (``?merchant=``, or ``merchant`` in a creation body), by its id or by its platform id
(the merchant's ``public_id``, which an integration written against Ordergroove sends).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.responses import Response

from hookline.api import openapi, problems
from hookline.api.deps import Caller, Ctx
from hookline.api.render import JSON
from hookline.core import errors, numerals
from hookline.core.models import EventFilter, Target
from hookline.service import auth, merchants
from hookline.service import ordergroove as og

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
T = TypeVar("T")

# The OpenAPI description of the errors above (see ``problems.RESPONSES`` for the rest of the API).
ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": 'An error as Ordergroove answers it: `{"detail": "..."}`',
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {"detail": {"type": "string"}},
                }
            }
        },
    },
}
# A list's answer, paged with ``?page=``: Django REST framework's shape.
PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page of the list; `next` and `previous` are the URLs of the pages around it",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["next", "previous", "results"],
                    "properties": {
                        "next": {"type": ["string", "null"]},
                        "previous": {"type": ["string", "null"]},
                        "results": {"type": "array"},
                    },
                }
            }
        },
    }
}


def _detail(status: int, detail: str) -> JSON:
    return JSON({"detail": detail}, status_code=status)


def _summary(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


class OrdergrooveRoute(APIRoute):
    """Answers errors as Ordergroove (Django REST framework) does: the status and ``{"detail": "..."}``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except errors.HooklineError as exc:
                status = next((code for kind, code in problems.STATUS.items() if isinstance(exc, kind)), 500)
                answer = _detail(status, exc.detail)
                answer.headers.update(problems.headers_of(exc))
                return answer
            except RequestValidationError as exc:
                return _detail(400, _summary(exc))
            except HTTPException as exc:  # e.g. FastAPI's 400 for a body that is not UTF-8
                response = _detail(exc.status_code, str(exc.detail))
                response.headers.update(exc.headers or {})
                return response

        return handle


router = APIRouter(prefix="/webhook_targets", tags=["ordergroove"], route_class=OrdergrooveRoute)


def _route(
    method: str, path: str, status_code: int = 200, responses: dict[int | str, Any] | None = None
) -> Callable[[Endpoint], Endpoint]:
    """Register an endpoint at ``path`` and at ``path/`` (the latter left out of the OpenAPI document)."""

    def register(endpoint: Endpoint) -> Endpoint:
        for variant, shown in ((path, True), (path + "/", False)):
            router.add_api_route(
                variant,
                endpoint,
                methods=[method],
                status_code=status_code,
                include_in_schema=shown,
                responses=responses,
            )
        return endpoint

    return register


async def _merchant_id(ctx: Ctx, caller: Caller, merchant: Annotated[str | None, Query()] = None) -> str:
    """``deps.merchant_id``, where the merchant may also be named by its platform id (``public_id``), as an
    integration written against Ordergroove names it."""
    return await auth.merchant_for(ctx, caller, await merchants.resolve(ctx, merchant))


OgMerchantId = Annotated[str, Depends(_merchant_id)]


class _Body(BaseModel):
    # Unknown fields are ignored, as Ordergroove's API does, so existing clients' bodies pass unchanged.
    model_config = ConfigDict(extra="ignore")


class WebhookTargetIn(_Body):
    merchant: str | None = None
    target_url: str = Field(json_schema_extra=openapi.URL)
    enabled: bool = True


class WebhookTargetPatch(_Body):
    target_url: str | None = Field(default=None, json_schema_extra=openapi.URL)
    enabled: bool | None = None


class FilterIn(_Body):
    pattern: str = Field(json_schema_extra=openapi.FILTER_PATTERN)


class FilterPatch(_Body):
    pattern: str | None = Field(default=None, json_schema_extra=openapi.FILTER_PATTERN)


def _epoch(ts: float) -> int:
    return int(ts)


def _target(target: Target) -> dict[str, Any]:
    return {
        "id": target.id,
        "merchant": target.merchant_id,
        "target_url": target.url,
        "enabled": target.enabled,
        "created": _epoch(target.created),
        "updated": _epoch(target.updated),
    }


def _filter(found: EventFilter) -> dict[str, Any]:
    return {
        "id": found.id,
        "target": found.target_id,
        "pattern": found.pattern,
        "created": _epoch(found.created),
    }


def _number(page: str | None) -> int:
    number = numerals.integer(page) if page not in (None, "") else 1
    if number is None:
        raise errors.NotFound("Invalid page.")
    return number


def _size(page_size: str | None) -> int:
    """Like Django REST framework: a missing or unusable ``page_size`` is the default, a big one the max."""
    size = numerals.integer(page_size) if page_size else PAGE_SIZE
    if size is None:
        return PAGE_SIZE
    return min(size, MAX_PAGE_SIZE) if size > 0 else PAGE_SIZE


def _paginated(request: Request, number: int, found: og.Page[T], render: Callable[[T], Any]) -> JSON:
    def link(n: int) -> str:
        return str(request.url.include_query_params(page=n))

    return JSON(
        {
            "next": link(number + 1) if found.has_next else None,
            "previous": link(number - 1) if number > 1 else None,
            "results": [render(r) for r in found.rows],
        }
    )


# ---- targets ---------------------------------------------------------------------------------------------


@_route("GET", "", responses=PAGE)
async def list_webhook_targets(
    request: Request,
    ctx: Ctx,
    merchant_id: OgMerchantId,
    page: str | None = None,
    page_size: str | None = None,
) -> JSON:
    """Ordergroove's target list (`{next, previous, results}`, `?page=`)."""
    number = _number(page)
    found = await og.target_page(ctx, merchant_id, number, _size(page_size))
    return _paginated(request, number, found, _target)


@_route("POST", "", status_code=201)
async def create_webhook_target(
    body: WebhookTargetIn, ctx: Ctx, caller: Caller, merchant: str | None = None
) -> JSON:
    """Create a target the Ordergroove way; it behaves as one route of its filters' event types."""
    merchant_id = await auth.merchant_for(
        ctx, caller, await merchants.resolve(ctx, body.merchant or merchant)
    )
    row = await og.create_target(ctx, merchant_id, body.target_url, body.enabled)
    return JSON(_target(row), status_code=201)


@_route("GET", "/{target_id}")
async def get_webhook_target(target_id: str, ctx: Ctx, merchant_id: OgMerchantId) -> JSON:
    """One target, in Ordergroove's shape."""
    return JSON(_target(await og.get_target(ctx, merchant_id, target_id)))


@_route("PATCH", "/{target_id}")
async def update_webhook_target(
    target_id: str, body: WebhookTargetPatch, ctx: Ctx, merchant_id: OgMerchantId
) -> JSON:
    """Change a target's URL or `enabled`, in Ordergroove's shape."""
    row = await og.update_target(ctx, merchant_id, target_id, body.target_url, body.enabled)
    return JSON(_target(row))


@_route("DELETE", "/{target_id}", status_code=204)
async def delete_webhook_target(target_id: str, ctx: Ctx, merchant_id: OgMerchantId) -> Response:
    """Delete a target and its route."""
    await og.delete_target(ctx, merchant_id, target_id)
    return Response(status_code=204)


@_route("GET", "/{target_id}/signing_key")
async def get_webhook_signing_key(target_id: str, ctx: Ctx, merchant_id: OgMerchantId) -> JSON:
    """The target's signing key, in Ordergroove's shape."""
    target = await og.get_target(ctx, merchant_id, target_id)
    return JSON({"signing_key": target.signing_key})


# Ordergroove documents PATCH; POST, the verb of the same action under /v1, is accepted too.
@_route("POST", "/{target_id}/signing_key/rotate")
@_route("PATCH", "/{target_id}/signing_key/rotate")
async def rotate_webhook_signing_key(target_id: str, ctx: Ctx, merchant_id: OgMerchantId) -> JSON:
    """Rotate the target's signing key (24 hours of dual signing)."""
    keys = await og.rotate_key(ctx, merchant_id, target_id)
    expiry = keys.signing_key_expiry
    return JSON(
        {
            "signing_key": keys.signing_key,
            "expiring_signing_key": keys.expiring_signing_key,
            "signing_key_expiry": None if expiry is None else _epoch(expiry),
        }
    )


@_route("GET", "/{target_id}/metrics")
async def get_webhook_target_metrics(target_id: str, ctx: Ctx, merchant_id: OgMerchantId) -> JSON:
    """The target's counters over 30 days, in Ordergroove's shape."""
    return JSON(await og.target_metrics(ctx, merchant_id, target_id))


# ---- filters ---------------------------------------------------------------------------------------------


@_route("GET", "/{target_id}/filters", responses=PAGE)
async def list_webhook_filters(
    request: Request,
    target_id: str,
    ctx: Ctx,
    merchant_id: OgMerchantId,
    page: str | None = None,
    page_size: str | None = None,
) -> JSON:
    """The target's filters: the event type patterns it receives."""
    number = _number(page)
    found = await og.filter_page(ctx, merchant_id, target_id, number, _size(page_size))
    return _paginated(request, number, found, _filter)


@_route("POST", "/{target_id}/filters", status_code=201)
async def create_webhook_filter(target_id: str, body: FilterIn, ctx: Ctx, merchant_id: OgMerchantId) -> JSON:
    """Add a filter: a `|`-separated list of event types or wildcards."""
    row = await og.create_filter(ctx, merchant_id, target_id, body.pattern)
    return JSON(_filter(row), status_code=201)


@_route("GET", "/{target_id}/filters/{filter_id}")
async def get_webhook_filter(target_id: str, filter_id: str, ctx: Ctx, merchant_id: OgMerchantId) -> JSON:
    """One filter."""
    return JSON(_filter(await og.get_filter(ctx, merchant_id, target_id, filter_id)))


@_route("PATCH", "/{target_id}/filters/{filter_id}")
async def update_webhook_filter(
    target_id: str, filter_id: str, body: FilterPatch, ctx: Ctx, merchant_id: OgMerchantId
) -> JSON:
    """Change a filter's pattern."""
    row = await og.update_filter(ctx, merchant_id, target_id, filter_id, body.pattern)
    return JSON(_filter(row))


@_route("DELETE", "/{target_id}/filters/{filter_id}", status_code=204)
async def delete_webhook_filter(
    target_id: str, filter_id: str, ctx: Ctx, merchant_id: OgMerchantId
) -> Response:
    # Ordergroove's documentation shows a ``pattern`` body on this call; any body is ignored.
    """Remove a filter."""
    await og.delete_filter(ctx, merchant_id, target_id, filter_id)
    return Response(status_code=204)
