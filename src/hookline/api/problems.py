"""Errors as RFC 9457 problem documents: the one table from our exceptions to HTTP statuses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from hookline.api.render import JSON
from hookline.core import errors

logger = logging.getLogger(__name__)

STATUS: dict[type[errors.HooklineError], int] = {
    errors.Invalid: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.TooManyRequests: 429,
    errors.StorageFull: 507,
    errors.Unavailable: 503,
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    507: "Insufficient Storage",
}

# The OpenAPI description of every error answer: documented once per router (``app.build``) as "4XX", which
# also keeps FastAPI from listing its own 422 validation error, an answer this API never gives.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string", "description": "The HTTP status in words."},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {"type": "string", "description": "What went wrong with this request, for a person."},
        "errors": {
            "description": "The fields at fault, each with what is wrong with it.",
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "detail"],
                "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "A problem document (RFC 9457); `errors` names the fields at fault",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    },
}
# What each error status means in this API, with an example, for the reference (``api/reference.py``
# replaces each route's "4XX" by the statuses below that the route can answer).
MEANINGS: dict[int, tuple[str, str]] = {
    400: ("The request is not valid; `errors` names each field at fault", "limit: must be at most 500"),
    401: ("No API key, or an unknown or revoked one", "unknown or revoked API key"),
    403: (
        "The key may not do this (a merchant key where the operator key is needed)",
        "this needs the operator key",
    ),
    404: (
        "No such object for this merchant (another merchant's object is not found either)",
        "event evt-1 not found",
    ),
    409: (
        "It conflicts with the current state (an event id sent again with another body, say)",
        "event evt-1 was already accepted with a different body",
    ),
    429: (
        "Too many failed keys from this client address; retry after `Retry-After` seconds",
        "too many failed attempts with unknown keys from this address; try again in 12 s",
    ),
    503: (
        "The database is briefly unavailable; retry after `Retry-After` seconds",
        "the database is unavailable; retry later",
    ),
}


def documented(
    *, authenticated: bool, names_objects: bool, changes: bool, uses_database: bool
) -> dict[int, tuple[str, dict[str, Any]]]:
    """The error statuses a route can answer, each with its meaning and an example problem document.

    Args:
        authenticated: it needs a key (401, 403, and 429 once a client has sent too many wrong ones).
        names_objects: it takes ids in its path or ``?merchant=`` (404).
        changes: it creates, changes or deletes (409).
        uses_database: it reads or writes the database (503).
    """
    statuses = [400]
    statuses += [401, 403] if authenticated else []
    statuses += [404] if names_objects else []
    statuses += [409] if changes else []
    statuses += [429] if authenticated else []
    statuses += [503] if uses_database else []
    return {status: (MEANINGS[status][0], _example(status)) for status in statuses}


def _example(status: int) -> dict[str, Any]:
    example = {
        "type": f"https://hookline.dev/problems/{status}",
        "title": TITLES[status],
        "status": status,
        "detail": MEANINGS[status][1],
    }
    if status == 400:
        example["errors"] = [{"field": "limit", "detail": "must be at most 500"}]
    return example


def problem(status: int, detail: str, fields: list[dict[str, str]] | None = None) -> JSON:
    body: dict[str, Any] = {
        "type": f"https://hookline.dev/problems/{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if fields:
        body["errors"] = fields
    # Both pass when the database is back or has room again, which nobody can tell in advance: a short hint.
    headers = {"Retry-After": "1"} if status in (503, 507) else None
    return JSON(body, status_code=status, media_type="application/problem+json", headers=headers)


def status_of(exc: errors.HooklineError) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


async def _ours(_: Request, exc: Exception) -> JSON:
    assert isinstance(exc, errors.HooklineError)
    status = status_of(exc)
    fields = [{"field": name, "detail": text} for name, text in exc.fields.items()]
    response = problem(status, exc.detail, fields)
    response.headers.update(headers_of(exc))
    return response


def headers_of(exc: errors.HooklineError) -> dict[str, str]:
    """Headers an error's answer carries besides its body: when a client held back may try again."""
    if isinstance(exc, errors.TooManyRequests):
        return {"Retry-After": str(exc.retry_after_s)}
    return {}


async def _validation(_: Request, exc: Exception) -> JSON:
    assert isinstance(exc, RequestValidationError)
    fields = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")]
        fields.append({"field": ".".join(loc) or "body", "detail": str(err.get("msg", "invalid"))})
    summary = "; ".join(f"{f['field']}: {f['detail']}" for f in fields[:5])
    return problem(400, f"the request is not valid: {summary}", fields)


async def _http(request: Request, exc: Exception) -> JSON:
    assert isinstance(exc, HTTPException)
    response = problem(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        # Starlette's Allow names only the first route on the path; a 405 must name every allowed method.
        response.headers["Allow"] = ", ".join(_allowed(request))
    return response


def _allowed(request: Request) -> list[str]:
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


async def _unexpected(_: Request, exc: Exception) -> JSON:
    logger.exception("unexpected error", exc_info=exc)
    return problem(500, "an unexpected error occurred; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.HooklineError, _ours)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
