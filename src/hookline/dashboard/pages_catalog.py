"""The event types page: every type of the catalogue with the schema of its ``data.object`` and an example.

What a receiver must be ready for, shown where merchants choose event types (the route form links here);
the same schemas and examples as ``GET /v1/event-types/{type}`` and ``docs/event-types.md``.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core import catalog, event_schemas
from hookline.dashboard import web
from hookline.dashboard.session import current


def _indented(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


async def event_types(request: Request) -> Response:
    await current(request)  # signed in; no merchant needed: the catalogue is everyone's
    ctx = web.context(request)
    families = []
    for family in catalog.families(entitlements=ctx.entitlements):
        types = [t for t in catalog.event_types(entitlements=ctx.entitlements) if t.family == family]
        families.append(
            {
                "family": family,
                "schema": _indented(event_schemas.family_schema(family)),
                "types": [
                    {
                        "type": t.type,
                        "description": t.description,
                        "example": _indented(event_schemas.example(t.type)),
                    }
                    for t in types
                ],
            }
        )
    return web.page(request, "event_types.html", families=families, strict=ctx.event_validation != "flag")


ROUTES = [Route("/event-types", event_types, methods=["GET"])]
