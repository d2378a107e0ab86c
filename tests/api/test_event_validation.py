"""``GET /v1/event-types/{type}``, and ingest checking each event against its type's schema: refused with
the failing paths (``strict``, the default), or accepted, delivered and flagged
(``HOOKLINE_EVENT_VALIDATION=flag``).
"""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.config import Settings
from hookline.runtime import open_runtime

WRONG_FAMILY = {"type": "subscription", "public_id": "ord-1", "customer": "cust-1"}


def _event(event_id: str, obj: dict[str, Any], kind: str = "order.success") -> dict[str, Any]:
    return {"id": event_id, "type": kind, "data": {"object": obj}}


async def _merchant(http: httpx.AsyncClient) -> Client:
    made = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "Acme"})
    merchant = Client(http, made["api_key"])
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    route = {
        "name": "all",
        "target_id": target["id"],
        "event_types": ["*"],
        "retry": {"initial_interval_s": 3600, "max_interval_s": 3600},
    }
    await merchant.ok("POST", "/v1/routes", 201, json=route)
    return merchant


async def test_each_event_type_serves_its_schema_and_an_example(merchant: Client) -> None:
    listed = (await merchant.ok("GET", "/v1/event-types"))["data"]
    postable = []
    for row in listed:
        found = await merchant.ok("GET", f"/v1/event-types/{row['type']}")
        assert set(found) == {"type", "family", "description", "schema", "example"}
        assert {k: found[k] for k in ("type", "family", "description")} == row
        assert found["schema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        validator = jsonschema_rs.validator_for(found["schema"])
        assert validator.is_valid(found["example"]["data"]["object"]), row["type"]
        assert found["example"]["type"] == row["type"]
        if row["family"] != "hookline":
            postable.append(found["example"])
    # Every example is an event hookline accepts as it is.
    answers = await merchant.ok("POST", "/v1/events", 202, json={"events": postable})
    assert len(answers) == len(postable) == len(listed) - 2

    for unknown in ("order.nope", "entitlement.entitlements_granted", "order", "order.*"):
        response = await merchant.call("GET", f"/v1/event-types/{unknown}")
        assert response.status_code == 404, unknown
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_event_breaking_its_schema_is_refused_naming_each_path(merchant: Client) -> None:
    response = await merchant.call("POST", "/v1/events", json=_event("evt-1", WRONG_FAMILY))
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"] == [{"field": "data.object.type", "detail": '"order" was expected'}]
    assert "GET /v1/event-types/order.success" in problem["detail"]
    assert (await merchant.call("GET", "/v1/events/evt-1")).status_code == 404

    several = {"type": "order", "public_id": 7, "total": 25}
    response = await merchant.call("POST", "/v1/events", json=_event("evt-2", several))
    assert [e["field"] for e in response.json()["errors"]] == [
        "data.object.customer",
        "data.object.public_id",
        "data.object.total",
    ]

    # In a batch: the event's index in the path, and nothing of the batch is stored.
    good = _event("evt-3", {"type": "order", "public_id": "ord-3", "customer": "cust-1"})
    batch = {"events": [good, _event("evt-4", {"type": "order", "public_id": "ord-4"})]}
    response = await merchant.call("POST", "/v1/events", json=batch)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["events[1].data.object.customer"]
    assert (await merchant.ok("GET", "/v1/events"))["data"] == []
    # Extra fields and nulls pass.
    loose = {**good["data"]["object"], "coupon": {"code": "X"}, "total": None, "extra_data": None}
    await merchant.ok("POST", "/v1/events", 202, json=_event("evt-5", loose))


async def test_flag_mode_accepts_delivers_and_flags(db_url: str) -> None:
    async with running_app(app_settings(db_url, event_validation="flag"), worker=False) as http:
        merchant = await _merchant(http)
        answer = await merchant.ok("POST", "/v1/events", 202, json=_event("evt-bad", WRONG_FAMILY))
        assert len(answer["deliveries"]) == 1
        good = _event("evt-good", {"type": "order", "public_id": "ord-2", "customer": "cust-1"})
        await merchant.ok("POST", "/v1/events", 202, json=good)

        flagged = await merchant.ok("GET", "/v1/events/evt-bad")
        assert flagged["flagged"] is True
        assert flagged["schema_errors"] == [{"path": "data.object.type", "detail": '"order" was expected'}]
        assert flagged["data"]["object"] == WRONG_FAMILY
        fine = await merchant.ok("GET", "/v1/events/evt-good")
        assert fine["flagged"] is False and fine["schema_errors"] == []
        only = await merchant.ok("GET", "/v1/events", params={"flagged": "true"})
        assert [e["id"] for e in only["data"]] == ["evt-bad"]
        others = await merchant.ok("GET", "/v1/events", params={"flagged": "false"})
        assert [e["id"] for e in others["data"]] == ["evt-good"]
        # Still one event: the same body again is the same event.
        again = await merchant.ok("POST", "/v1/events", 202, json=_event("evt-bad", WRONG_FAMILY))
        assert again == answer


async def test_an_unknown_validation_mode_stops_the_start(db_url: str) -> None:
    settings = Settings(database_url=db_url, operator_key=OPERATOR_KEY, event_validation="lenient")
    with pytest.raises(SystemExit, match="HOOKLINE_EVENT_VALIDATION='lenient'"):
        async with open_runtime(settings, worker=False, migrate_db=True):
            pass
    assert Settings.from_env({"HOOKLINE_EVENT_VALIDATION": "flag"}).event_validation == "flag"
