"""Event-type schemas: valid 2020-12 schemas, examples and simulated events that match them, and the rules
(permissive on extra and null fields, strict on types, the object's ``type`` and its ids)."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from hookline.core import catalog, event_schemas, samples
from hookline.simulator.model import Simulation

ALL = [t.type for t in catalog.event_types(entitlements=True)]
DOCS = Path(__file__).parents[2] / "docs" / "event-types.md"


def _object(event_type: str) -> dict[str, Any]:
    found: dict[str, Any] = event_schemas.example(event_type)["data"]["object"]
    return found


@pytest.mark.parametrize("event_type", ALL)
def test_each_type_publishes_a_2020_12_schema_and_an_example_that_matches_it(event_type: str) -> None:
    schema = event_schemas.schema(event_type)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema_rs.meta.validate(schema)  # a valid schema of its dialect
    example = event_schemas.example(event_type)
    assert set(example) == {"id", "type", "created", "data", "context", "snapshot"}
    assert example["type"] == event_type and isinstance(example["created"], int)
    # Checked by a validator built here from the published schema alone, not by hookline's own check.
    validator = jsonschema_rs.validator_for(schema)
    assert isinstance(validator, jsonschema_rs.Draft202012Validator)
    assert validator.is_valid(example["data"]["object"])
    assert event_schemas.problems(event_type, example["data"]["object"]) == []
    family = event_type.partition(".")[0]
    assert schema["properties"]["type"]["const"] == example["data"]["object"]["type"]
    assert schema["properties"]["type"]["const"] == ("route" if family == "hookline" else family)


def test_the_simulators_events_match_their_schemas() -> None:
    checked: dict[str, int] = {}
    for seed in (1, 7, 42):
        simulation = Simulation(random.Random(seed), merchant=f"m-{seed}", customers=40)
        while sum(checked.values()) < 1500 * (1 + (1, 7, 42).index(seed)):
            for event in simulation.step().events:
                assert event_schemas.problems(event.type, event.object) == [], event.body()
                checked[event.type] = checked.get(event.type, 0) + 1
    assert sum(checked.values()) >= 4500
    assert len(checked) >= 12  # most of what the simulator emits: every family, many types


def test_test_event_samples_match_their_schemas() -> None:
    rng = random.Random(5)
    for _ in range(20):
        graph = samples.sample_graph(rng, merchant=f"m{rng.randint(1, 9)}", now=rng.randint(1, 2**31))
        for event_type in ALL:
            obj = samples.sample_event(event_type, rng, graph)["data"]["object"]
            assert event_schemas.problems(event_type, obj) == [], (event_type, obj)


def test_an_object_of_another_family_is_refused_at_its_type() -> None:
    order = _object("order.success")
    assert event_schemas.problems("order.success", {**order, "type": "subscription"}) == [
        ("data.object.type", '"order" was expected')
    ]
    assert event_schemas.problems("order.success", _object("subscription.cancel")) != []


def test_identity_fields_are_required_non_empty_strings() -> None:
    for event_type, names in [
        ("subscriber.create", ["merchant_user_id"]),
        ("subscription.cancel", ["public_id", "customer"]),
        ("order.reminder", ["public_id", "customer"]),
        ("item.create", ["public_id", "customer"]),
        ("entitlement.entitlements_granted", ["customer"]),
    ]:
        for name in ["type", *names]:
            obj = _object(event_type)
            del obj[name]
            [(path, detail)] = event_schemas.problems(event_type, obj)
            assert path == f"data.object.{name}" and "required" in detail
        for name in names:
            for bad in ("", None, 42, ["x"], "x" * 101):
                found = event_schemas.problems(event_type, {**_object(event_type), name: bad})
                assert [p for p, _ in found] == [f"data.object.{name}"], (event_type, name, bad)


def test_types_are_strict_and_every_failing_path_is_named() -> None:
    order = {
        **_object("order.reminder"),
        "total": 25.0,  # an amount is a string
        "created": "1700000000",  # an epoch is an integer
        "status": "5",
        "extra_data": [],
    }
    paths = [p for p, _ in event_schemas.problems("order.reminder", order)]
    assert paths == [
        "data.object.created",
        "data.object.extra_data",
        "data.object.status",
        "data.object.total",
    ]
    subscriber = {**_object("subscriber.create"), "live": "yes", "subscriptions": ["s1", 2]}
    paths = [p for p, _ in event_schemas.problems("subscriber.create", subscriber)]
    assert paths == ["data.object.live", "data.object.subscriptions[1]"]
    subscription = {**_object("subscription.create"), "components": [{"quantity": "two"}]}
    paths = [p for p, _ in event_schemas.problems("subscription.create", subscription)]
    assert paths == ["data.object.components[0].quantity"]
    assert event_schemas.problems("order.reminder", "not an object") == [
        ("data.object", '"not an object" is not of type "object"')
    ]


@pytest.mark.parametrize("event_type", ALL)
def test_extra_fields_are_allowed_and_documented_ones_may_be_null(event_type: str) -> None:
    schema = event_schemas.schema(event_type)
    required = set(schema["required"])
    obj = _object(event_type)
    loose = {**obj, "added_next_year": {"anything": [1, "two"]}, "x-custom": None}
    assert event_schemas.problems(event_type, loose) == []
    nulls = {**obj, **{name: None for name in schema["properties"] if name not in required}}
    assert event_schemas.problems(event_type, nulls) == []
    minimal = {name: obj[name] for name in required}
    assert event_schemas.problems(event_type, minimal) == []


def test_item_components_may_be_a_legacy_string() -> None:
    assert (
        event_schemas.problems("item.create", {**_object("item.create"), "components": "sku-1,sku-2"}) == []
    )


def test_examples_are_fresh_copies() -> None:
    example = event_schemas.example("order.success")
    pristine = copy.deepcopy(example)
    example["data"]["object"]["type"] = "changed"
    assert event_schemas.example("order.success") == pristine


def test_the_docs_page_is_current() -> None:
    assert DOCS.read_text() == event_schemas.markdown(), (
        "docs/event-types.md is stale: run "
        "`.venv/bin/python -m hookline.core.event_schemas > docs/event-types.md`"
    )
    for event_type in ALL:
        assert f"<code>{event_type}</code> example" in DOCS.read_text()
