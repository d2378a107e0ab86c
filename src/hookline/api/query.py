"""Unknown query parameters are refused, on every endpoint, by one app-wide dependency.

A misspelt filter (``?evnt_type=order.success``) that is silently ignored answers with everything, which
looks like a result; so each endpoint accepts exactly the query parameters it declares (its own and those
of its dependencies, such as ``merchant`` and the pagination parameters) and answers 400 naming the rest.
The names are read from FastAPI's description of the matched route, once per route, so a new endpoint is
covered without any list to keep up to date.

``merchant`` is accepted everywhere: an operator client names the merchant it acts for on every call, and
an endpoint that concerns no merchant (``/v1/event-types``, ``/healthz``) has nothing to misread in it.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from hookline.core.errors import Invalid

EVERYWHERE = frozenset({"merchant"})

# By route id, with the route itself: held here, a route is never collected, so its id is never reused.
_known: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def declared(dependant: Dependant) -> frozenset[str]:
    """The query parameter names a route (or a dependency) reads, its sub-dependencies' included."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared(sub)
    return frozenset(names)


async def refuse_unknown(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    found = _known.get(id(route))
    if found is None:
        found = _known[id(route)] = (route, declared(route.dependant) | EVERYWHERE)
    known = found[1]
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise Invalid(
            f"unknown query parameter(s): {', '.join(unknown)} (this endpoint accepts: {accepted})",
            fields={name: "unknown query parameter" for name in unknown},
        )
