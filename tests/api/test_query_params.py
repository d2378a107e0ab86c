"""Unknown query parameters answer 400 naming them, on every endpoint; the declared ones keep working."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.routing import APIRoute

from conftest import Client


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every API endpoint, the routers that FastAPI includes lazily opened up."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_api_routes(route.original_router.routes))
    return found


def _app_routes(http: httpx.AsyncClient) -> list[APIRoute]:
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    return _api_routes(transport.app.routes)  # type: ignore[attr-defined]


async def test_every_endpoint_refuses_an_unknown_query_parameter(http: httpx.AsyncClient) -> None:
    routes = _app_routes(http)
    assert len(routes) > 40
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in sorted(route.methods or ()):
            response = await http.request(method, path, params={"zz_typo": "1"})
            assert response.status_code == 400, (method, path, response.text)
            body = response.json()
            if path.startswith("/webhook_targets"):
                assert "zz_typo" in body["detail"], body  # Ordergroove's error shape
            else:
                assert [e["field"] for e in body["errors"]] == ["zz_typo"], body


async def test_the_problem_names_every_unknown_parameter_and_changes_nothing(merchant: Client) -> None:
    event = {"id": "evt-q", "type": "order.reminder", "data": {"object": {"public_id": "o", "customer": "c"}}}
    response = await merchant.call("POST", "/v1/events?dry=1&route=2", json=event)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in problem["errors"]] == ["dry", "route"]
    assert "dry, route" in problem["detail"]
    assert (await merchant.call("GET", "/v1/events/evt-q")).status_code == 404


async def test_a_misspelt_filter_is_refused_instead_of_listing_everything(merchant: Client) -> None:
    response = await merchant.call("GET", "/v1/deliveries", params={"evnt_type": "order.success"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "evnt_type", "detail": "unknown query parameter"}]


async def test_declared_parameters_merchant_and_pagination_still_work(
    operator: Client, merchant: Client
) -> None:
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/a"})
    await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/b"})
    first = await operator.ok("GET", "/v1/targets", params={"merchant": merchant_id, "limit": 1})
    assert len(first["data"]) == 1 and first["next_cursor"]
    rest = await operator.ok(
        "GET", "/v1/targets", params={"merchant": merchant_id, "limit": 1, "cursor": first["next_cursor"]}
    )
    assert len(rest["data"]) == 1
    # ``merchant`` is accepted everywhere (an operator client may send it on every call).
    await operator.ok("GET", "/v1/event-types", params={"merchant": merchant_id})
    await merchant.ok("GET", "/v1/deliveries", params={"status": "pending", "route_id": "rte_x"})
    await merchant.ok("GET", "/webhook_targets", params={"page": 1, "page_size": 5})
    response = await merchant.call("GET", "/webhook_targets", params={"page": 1, "pagesize": 5})
    assert response.status_code == 400 and "pagesize" in response.json()["detail"]
