"""The API reference: every operation described, secured, with its problem responses and a real example.

The examples in ``src/hookline/api/examples.json`` are answers of this API, recorded by ``SCENARIO`` below
(one call per operation, against a running app with a worker and a real receiver). The test plays the
scenario again and fails when an answer's shape (its keys, at every depth) or status no longer matches the
recorded one, or when an operation has no example: ``./scripts/regenerate`` records them again (it sets
``HOOKLINE_TEST_REGENERATE=1``). A new endpoint needs a call in ``SCENARIO``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import OPERATOR_KEY, app_settings, running_app
from crash.helpers import until
from hookline.api import reference
from support.receiver import Receiver

WRITE = bool(os.environ.get("HOOKLINE_TEST_REGENERATE"))
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
async def document(tmp_path: Path) -> dict[str, Any]:
    async with running_app(app_settings(f"sqlite:///{tmp_path}/hookline.db"), worker=False) as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in HTTP_METHODS
    ]


def test_every_operation_has_a_description_security_problems_and_an_example(document: dict[str, Any]) -> None:
    missing: list[str] = []
    for method, path, operation in _operations(document):
        name = f"{method} {path}"
        if not (operation.get("description") or "").strip():
            missing.append(f"{name}: no description (a docstring on its handler)")
        if "security" not in operation:
            missing.append(f"{name}: no security requirement")
        statuses = set(operation["responses"])
        if "4XX" in statuses or "400" not in statuses:
            missing.append(f"{name}: error responses not listed one by one")
        if operation["security"] and not {"401", "403", "503"} <= statuses:
            missing.append(f"{name}: needs a key but does not list 401, 403 and 503")
        if name not in reference.examples():
            missing.append(f"{name}: no recorded example (add a call to SCENARIO, run ./scripts/regenerate)")
            continue
        request = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if request is not None and "example" not in request and reference.examples()[name]["request"]:
            missing.append(f"{name}: the request example is not in the document")
    assert not missing, "\n".join(missing)


def test_every_property_of_a_body_is_described(document: dict[str, Any]) -> None:
    bare = [
        f"{model}.{name}"
        for model, schema in document["components"]["schemas"].items()
        for name, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert not bare, f"properties without a description (src/hookline/api/fields.py): {bare}"


def test_both_ways_to_send_a_key_are_security_schemes(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert (schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == ("header", "x-api-key")
    operations = {f"{m} {p}": op for m, p, op in _operations(document)}
    assert operations["GET /healthz"]["security"] == []
    assert operations["POST /v1/events"]["security"] == [{"bearer": []}, {"apiKey": []}]
    problem = operations["GET /v1/routes/{route_id}"]["responses"]["404"]["content"][
        "application/problem+json"
    ]
    assert (
        problem["schema"] == {"$ref": "#/components/schemas/Problem"} and problem["example"]["status"] == 404
    )
    tags = {tag for _, _, op in _operations(document) for tag in op.get("tags", [])}
    assert tags <= {tag["name"] for tag in document["tags"]}, "a tag without a description"


async def test_the_reference_pages_load_nothing_from_elsewhere(tmp_path: Path) -> None:
    async with running_app(app_settings(f"sqlite:///{tmp_path}/hookline.db"), worker=False) as http:
        for page in ("/docs", "/redoc"):
            html = (await http.get(page)).text
            urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html)
            found = [u for pair in urls for u in pair if u]
            assert found, html
            for url in found:
                assert url.startswith("/"), f"{page} loads {url}"
                assert (await http.get(url)).status_code == 200, url
            assert "fonts.googleapis" not in html and "cdn." not in html


# --- the scenario that records the examples -------------------------------------------------------------


class Recorder:
    """Calls the API and keeps, per operation, the request body, the status and the answer."""

    def __init__(self, http: httpx.AsyncClient, merchant_key: str = "") -> None:
        self.http = http
        self.merchant_key = merchant_key
        self.calls: dict[str, dict[str, Any]] = {}

    async def __call__(
        self,
        method: str,
        template: str,
        status: int = 200,
        *,
        body: Any = None,
        operator: bool = False,
        params: dict[str, str] | None = None,
        **ids: str,
    ) -> Any:
        key = OPERATOR_KEY if operator else self.merchant_key
        response = await self.http.request(
            method,
            template.format(**ids),
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == status, f"{method} {template}: {response.status_code} {response.text}"
        answer = response.json() if response.content and "json" in response.headers["content-type"] else None
        self.calls[f"{method} {template}"] = {"request": body, "status": status, "response": answer}
        return answer


async def _scenario(api: Recorder, receiver: Receiver, merchant_id: str) -> None:
    """One call per operation, in the order a merchant's integration would make them."""
    op: dict[str, Any] = {"operator": True}
    await api("GET", "/healthz")
    await api("GET", "/readyz")
    await api("GET", "/v1/merchants", **op)
    await api("GET", "/v1/merchants/{merchant_id}", merchant_id=merchant_id)
    await api(
        "PATCH",
        "/v1/merchants/{merchant_id}",
        body={"public_id": "acme-coffee"},
        merchant_id=merchant_id,
        **op,
    )
    new_key = await api("POST", "/v1/merchants/{merchant_id}/api-keys", 201, merchant_id=merchant_id)
    await api("GET", "/v1/merchants/{merchant_id}/api-keys", merchant_id=merchant_id)
    await api(
        "DELETE",
        "/v1/merchants/{merchant_id}/api-keys/{key_id}",
        204,
        merchant_id=merchant_id,
        key_id=new_key["id"],
    )
    await api(
        "POST",
        "/v1/merchants/{merchant_id}/portal-links",
        201,
        body={"ttl_s": 600, "return_url": "https://platform.example/settings/webhooks"},
        merchant_id=merchant_id,
        **op,
    )
    await api("GET", "/v1/event-types")
    await api("GET", "/v1/event-types/{event_type}", event_type="order.success")
    target = await api("POST", "/v1/targets", 201, body={"url": receiver.url + "/orders", "enabled": True})
    await api("GET", "/v1/targets")
    await api("GET", "/v1/targets/{target_id}", target_id=target["id"])
    await api("GET", "/v1/targets/{target_id}/signing-key", target_id=target["id"])
    await api("POST", "/v1/targets/{target_id}/signing-key/rotate", target_id=target["id"])
    await api("GET", "/jwks/{target_id}.json", target_id=target["id"])
    notifications = {
        "emails": ["ops@example.com"],
        "slack_webhook_url": receiver.url + "/slack",
        "on": ["route.halted", "route.failing"],
    }
    await api("PUT", "/v1/notifications", body=notifications)
    await api("GET", "/v1/notifications")
    route = await api(
        "POST",
        "/v1/routes",
        201,
        body={
            "name": "Orders",
            "target_id": target["id"],
            "event_types": ["order.*"],
            "snapshot": {"order": ["customer", "items"]},
            "retry": {"initial_interval_s": 60, "max_interval_s": 600, "max_attempts": 60},
            "timeout_s": 5,
            "headers": {"X-Shop": "acme"},
        },
    )
    route_id = route["id"]
    await api("GET", "/v1/routes")
    await api("GET", "/v1/routes/{route_id}", route_id=route_id)
    await api("PATCH", "/v1/routes/{route_id}", body={"name": "Orders and items"}, route_id=route_id)
    await api(
        "POST", "/v1/routes/{route_id}/preview", body={"fields_exclude": ["context"]}, route_id=route_id
    )
    customer = {
        "merchant_user_id": "c-1",
        "first_name": "Rosa",
        "last_name": "Turner",
        "email": "rosa@example.com",
    }
    await api("PUT", "/v1/objects/{kind}/{public_id}", body=customer, kind="customer", public_id="c-1")
    await api(
        "POST",
        "/v1/objects",
        body={"objects": [{"kind": "product", "public_id": "DCC-ESPRESSO-12", "data": {"name": "Espresso"}}]},
    )
    await api("GET", "/v1/objects/{kind}/{public_id}", kind="customer", public_id="c-1")
    event = {
        "id": "evt-1",
        "type": "order.success",
        "data": {"object": {"type": "order", "public_id": "ord-1", "customer": "c-1", "total": "31.50"}},
    }
    await api("POST", "/v1/events", 202, body=event, params={"merchant": merchant_id}, **op)
    await api("GET", "/v1/events")
    await api("GET", "/v1/events/{event_id}", event_id="evt-1")
    await receiver.wait_for(1, path="/orders")

    async def delivered() -> bool:
        page = await api.http.get(
            "/v1/deliveries",
            params={"status": "success"},
            headers={"Authorization": f"Bearer {api.merchant_key}"},
        )
        return bool(page.json()["data"])

    await until(delivered, 20, "the delivery to be recorded", every=0.1)
    deliveries = await api("GET", "/v1/deliveries", params={"event_id": "evt-1"})
    delivery_id = deliveries["data"][0]["id"]
    await api("GET", "/v1/deliveries/{delivery_id}", delivery_id=delivery_id)
    await api("POST", "/v1/deliveries/{delivery_id}/resend", delivery_id=delivery_id)
    await api("GET", "/v1/routes/{route_id}/metrics", route_id=route_id)
    await api("GET", "/v1/metrics/summary")
    # A stream cannot be recorded here (the test client reads whole answers): the refusals stand for them.
    await api("GET", "/v1/routes/{route_id}/listen", 409, route_id=route_id)
    await api(
        "POST",
        "/v1/routes/{route_id}/listen/{delivery_id}",
        404,
        body={"duration_ms": 12.5, "response_status": 200, "response_body": "ok"},
        route_id=route_id,
        delivery_id=delivery_id,
    )
    await api("POST", "/v1/routes/{route_id}/halt", route_id=route_id)
    await api("POST", "/v1/routes/{route_id}/resume", route_id=route_id)
    since = "2026-01-01T00:00:00Z"
    await api(
        "POST",
        "/v1/routes/{route_id}/resend",
        202,
        body={"status": ["failed"], "since": since},
        route_id=route_id,
    )
    job = await api("POST", "/v1/routes/{route_id}/replay", 202, body={"since": since}, route_id=route_id)
    await api(
        "POST",
        "/v1/routes/{route_id}/test-events",
        202,
        body={"event_types": ["order.reminder"]},
        route_id=route_id,
    )
    await api("GET", "/v1/jobs")
    await api("GET", "/v1/jobs/{job_id}", job_id=job["job"]["id"])
    await _ordergroove(api, receiver)
    await api("PATCH", "/v1/targets/{target_id}", body={"enabled": False}, target_id=target["id"])
    await api("DELETE", "/v1/routes/{route_id}", 204, route_id=route_id)
    await api("DELETE", "/v1/targets/{target_id}", 204, target_id=target["id"])


async def _ordergroove(api: Recorder, receiver: Receiver) -> None:
    """``/webhook_targets``: Ordergroove's own shapes."""
    target = await api(
        "POST", "/webhook_targets", 201, body={"target_url": receiver.url + "/og", "enabled": True}
    )
    target_id = str(target["id"])
    await api("GET", "/webhook_targets")
    await api("GET", "/webhook_targets/{target_id}", target_id=target_id)
    await api("PATCH", "/webhook_targets/{target_id}", body={"enabled": True}, target_id=target_id)
    await api("GET", "/webhook_targets/{target_id}/signing_key", target_id=target_id)
    await api("POST", "/webhook_targets/{target_id}/signing_key/rotate", target_id=target_id)
    await api("PATCH", "/webhook_targets/{target_id}/signing_key/rotate", target_id=target_id)
    await api("GET", "/webhook_targets/{target_id}/metrics", target_id=target_id)
    created = await api(
        "POST", "/webhook_targets/{target_id}/filters", 201, body={"pattern": "order.*"}, target_id=target_id
    )
    filter_id = str(created["id"])
    await api("GET", "/webhook_targets/{target_id}/filters", target_id=target_id)
    await api(
        "GET", "/webhook_targets/{target_id}/filters/{filter_id}", target_id=target_id, filter_id=filter_id
    )
    await api(
        "PATCH",
        "/webhook_targets/{target_id}/filters/{filter_id}",
        body={"pattern": "order.*|subscription.cancel"},
        target_id=target_id,
        filter_id=filter_id,
    )
    await api(
        "DELETE",
        "/webhook_targets/{target_id}/filters/{filter_id}",
        204,
        target_id=target_id,
        filter_id=filter_id,
    )
    await api("DELETE", "/webhook_targets/{target_id}", 204, target_id=target_id)


def shape(value: Any) -> Any:
    """The structure of a JSON value: its keys at every depth (a list by its first item), not its values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


async def test_examples_are_real_answers(tmp_path: Path, receiver: Receiver) -> None:
    settings = app_settings(f"sqlite:///{tmp_path}/hookline.db")
    async with running_app(settings) as http:
        created = await http.post(
            "/v1/merchants", json={"name": "Acme Coffee"}, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}
        )
        merchant = created.json()
        recorder = Recorder(http, merchant["api_key"])
        recorder.calls["POST /v1/merchants"] = {
            "request": {"name": "Acme Coffee"},
            "status": 201,
            "response": merchant,
        }
        await _scenario(recorder, receiver, merchant["id"])
        spec = (await http.get("/openapi.json")).json()
    every = {f"{m} {p}" for m, p, _ in _operations(spec)}
    assert every <= set(recorder.calls), f"SCENARIO calls none of: {sorted(every - set(recorder.calls))}"
    if WRITE:
        reference.EXAMPLES.write_text(
            json.dumps(recorder.calls, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
        return
    stored = reference.examples()
    drift = [
        name
        for name, call in recorder.calls.items()
        if name not in stored
        or stored[name]["status"] != call["status"]
        or shape(stored[name]["response"]) != shape(call["response"])
    ]
    assert not drift, f"examples out of date (run ./scripts/regenerate): {drift}"
