"""Planning deliveries: which routes get an event, one body per shaping, the state a delivery starts in."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hookline.core import catalog, fanout
from hookline.core.models import DeliveryStatus, Event, Route, RouteState
from hookline.core.retry import RetryPolicy

NOW = 1_700_000_000.0
ORDER = Event("evt_1", "m1", "order.reminder", 1_700_000_000, {"public_id": "o1", "customer": "c1"}, None)
HALT = Event("evt_2", "m1", catalog.ROUTE_HALTED, 1_700_000_000, {"route_id": "r1"}, None)


def route(route_id: str, event_types: list[str], **settings: Any) -> Route:
    fields: dict[str, Any] = {
        "id": route_id,
        "merchant_id": "m1",
        "name": route_id,
        "target_id": f"tgt_{route_id}",
        "event_types": event_types,
        "state": RouteState.ACTIVE,
        "snapshot": {},
        "retry": RetryPolicy(),
        "timeout_s": 10.0,
        "headers": {},
        "created": NOW,
        "updated": NOW,
        "deleted": None,
        "fields_include": None,
        "fields_exclude": None,
        "transform": None,
        "auto_halt_failures": None,
        "auto_halt_window_s": None,
        "failure_streak": 0,
        "failing_since": None,
        "halted_at": None,
        "halted_reason": None,
        "ordergroove": False,
        "ordering": "none",
    }
    return Route(**{**fields, **settings})


def counter() -> Any:
    numbers = itertools.count(1)
    return lambda: f"dlv_{next(numbers)}"


class TestReceivers:
    def test_commerce_events_go_to_the_routes_whose_patterns_match(self) -> None:
        routes = [route("a", ["*"]), route("b", ["order.*"]), route("c", ["subscription.*"])]
        assert [r.id for r in fanout.receivers(routes, "order.reminder")] == ["a", "b"]

    def test_notices_go_only_to_routes_that_name_them(self) -> None:
        routes = [
            route("a", ["*"]),
            route("b", ["hookline.*"]),
            route("c", [catalog.ROUTE_HALTED]),
            route("d", [catalog.ROUTE_RESUMED]),
        ]
        assert [r.id for r in fanout.receivers(routes, catalog.ROUTE_HALTED)] == ["b", "c"]

    def test_the_excluded_route_gets_nothing(self) -> None:
        routes = [route("a", ["hookline.*"]), route("b", ["hookline.*"])]
        assert [r.id for r in fanout.receivers(routes, catalog.ROUTE_HALTED, exclude="a")] == ["b"]


class TestPlan:
    def test_one_delivery_per_route_named_by_the_caller(self) -> None:
        routes = [route("a", ["*"]), route("b", ["*"])]
        rows = fanout.plan(ORDER, routes, lambda r: fanout.body(ORDER, {}, r), counter(), NOW)
        assert [(d.id, d.route_id, d.target_id) for d in rows] == [
            ("dlv_1", "a", "tgt_a"),
            ("dlv_2", "b", "tgt_b"),
        ]
        assert {d.status for d in rows} == {DeliveryStatus.PENDING}
        assert all(d.next_attempt_at == NOW and d.event_id == ORDER.id for d in rows)

    def test_routes_that_shape_alike_share_one_build_of_the_body(self) -> None:
        routes = [
            route("a", ["*"]),
            route("b", ["*"]),
            route("c", ["*"], fields_include=["public_id"]),
        ]
        built: list[str] = []

        def shape(r: Route) -> fanout.Body:
            built.append(r.id)
            return fanout.body(ORDER, {}, r)

        rows = fanout.plan(ORDER, routes, shape, counter(), NOW)
        assert built == ["a", "c"]
        assert rows[0].payload is rows[1].payload
        assert json.loads(rows[2].payload) != json.loads(rows[0].payload)

    def test_a_halted_route_gets_its_delivery_held(self) -> None:
        held = route("a", ["*"], state=RouteState.HALTED)
        (row,) = fanout.plan(ORDER, [held], fanout.built((b"{}", None)), counter(), NOW)
        assert (row.status, row.next_attempt_at, row.completed) == (DeliveryStatus.HELD, NOW, None)

    def test_a_body_that_could_not_be_shaped_fails_at_once_with_the_reason(self) -> None:
        (row,) = fanout.plan(ORDER, [route("a", ["*"])], fanout.built((b"{}", "no")), counter(), NOW)
        assert (row.status, row.next_attempt_at, row.completed, row.last_error) == (
            DeliveryStatus.FAILED,
            None,
            NOW,
            "no",
        )

    def test_test_deliveries_are_marked_and_never_ordered(self) -> None:
        ordered = route("a", ["*"], ordering="customer")
        (real,) = fanout.plan(ORDER, [ordered], fanout.built((b"{}", None)), counter(), NOW)
        (test,) = fanout.plan(ORDER, [ordered], fanout.built((b"{}", None)), counter(), NOW, test=True)
        assert (real.is_test, real.ordering_key) == (False, "c1")
        assert (test.is_test, test.ordering_key) == (True, None)


class TestNotice:
    def test_a_notice_is_the_plain_envelope_whatever_the_route_shapes(self) -> None:
        shaping = route("a", ["hookline.*"], fields_include=["public_id"], transform="{}")
        (row,) = fanout.notice(HALT, [shaping], counter(), NOW, exclude=None)
        body = json.loads(row.payload)
        assert (body["id"], body["type"], body["data"]) == (HALT.id, HALT.type, {"object": HALT.object})

    def test_a_notice_skips_the_route_it_excludes_and_routes_that_do_not_name_it(self) -> None:
        routes = [route("a", ["hookline.*"]), route("b", ["*"]), route("c", ["hookline.*"])]
        rows = fanout.notice(HALT, routes, counter(), NOW, exclude="a")
        assert [d.route_id for d in rows] == ["c"]
