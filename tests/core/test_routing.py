"""Event-type patterns: validation against the catalogue, matching, expansion."""

from __future__ import annotations

import pytest

from hookline.core import catalog, routing
from hookline.core.errors import HooklineError, Invalid


def invalid(patterns: list[str], *, entitlements: bool = False) -> Invalid:
    with pytest.raises(Invalid) as caught:
        routing.validate_patterns(patterns, entitlements=entitlements)
    return caught.value


class TestValidatePatterns:
    @pytest.mark.parametrize(
        "patterns",
        [
            ["order.reminder"],
            ["subscriber.subscriptions_created"],
            ["order.*"],
            ["subscriber.*", "subscription.*", "order.*", "item.*"],
            ["*"],
            ["*", "order.*", "order.success"],
        ],
    )
    def test_accepts_exact_types_family_wildcards_and_star(self, patterns: list[str]) -> None:
        assert routing.validate_patterns(patterns) == patterns

    def test_accepts_every_catalogue_type(self) -> None:
        everything = [t.type for t in catalog.event_types()]
        assert routing.validate_patterns(everything) == everything

    def test_accepts_any_iterable(self) -> None:
        assert routing.validate_patterns(p for p in ("item.*", "order.success")) == [
            "item.*",
            "order.success",
        ]

    def test_duplicates_removed_keeping_first_order(self) -> None:
        patterns = ["order.success", "item.*", "order.success", "*", "item.*", "order.reject"]
        assert routing.validate_patterns(patterns) == ["order.success", "item.*", "*", "order.reject"]

    @pytest.mark.parametrize(
        "bad",
        [
            "order.nope",
            "orders.create",
            "subscription.created",
            "Order.create",
            "order",
            "order.",
            "order.**",
            "order.*.x",
            ".*",
            "*.*",
            "**",
            "",
            " order.success",
        ],
    )
    def test_rejects_unknown_types(self, bad: str) -> None:
        error = invalid(["item.create", bad])
        assert isinstance(error, HooklineError)
        assert "event_types" in error.fields
        assert "item.create" not in error.fields["event_types"]
        if bad:
            assert bad in error.fields["event_types"]
            assert bad in error.detail

    @pytest.mark.parametrize("bad", ["orders.*", "customer.*", "entitlements.*", "Order.*"])
    def test_rejects_unknown_families(self, bad: str) -> None:
        error = invalid([bad])
        assert bad in error.fields["event_types"]

    def test_names_every_bad_pattern_once(self) -> None:
        error = invalid(["foo.bar", "order.success", "baz.*", "foo.bar", "order.oops"])
        text = error.fields["event_types"]
        for bad in ("foo.bar", "baz.*", "order.oops"):
            assert bad in text
        assert text.count("foo.bar") == 1
        assert "order.success" not in text

    @pytest.mark.parametrize("patterns", [[], ()])
    def test_empty_rejected(self, patterns: list[str]) -> None:
        error = invalid(list(patterns))
        assert "event_types" in error.fields

    def test_entitlement_patterns_only_when_enabled(self) -> None:
        for pattern in ("entitlement.*", "entitlement.entitlements_granted"):
            error = invalid([pattern])
            assert pattern in error.fields["event_types"]
            assert routing.validate_patterns([pattern], entitlements=True) == [pattern]

    def test_entitlement_types_all_valid_when_enabled(self) -> None:
        types = [t.type for t in catalog.event_types(entitlements=True) if t.family == "entitlement"]
        assert len(types) == 5
        assert routing.validate_patterns(types, entitlements=True) == types


class TestMatches:
    @pytest.mark.parametrize("event_type", ["order.reminder", "order.success", "order.create"])
    def test_family_wildcard_matches_its_family(self, event_type: str) -> None:
        assert routing.matches(["order.*"], event_type)

    @pytest.mark.parametrize(
        "event_type",
        ["suborder.x", "orders.x", "item.create", "subscription.create", "order", "xorder.create"],
    )
    def test_family_wildcard_does_not_match_other_families(self, event_type: str) -> None:
        assert not routing.matches(["order.*"], event_type)

    def test_exact_match(self) -> None:
        assert routing.matches(["order.reminder"], "order.reminder")
        assert not routing.matches(["order.reminder"], "order.reminders")
        assert not routing.matches(["order.reminder"], "order.remind")
        assert not routing.matches(["order.reminder"], "order.success")
        assert not routing.matches(["order.reminder"], "item.reminder")

    @pytest.mark.parametrize("event_type", [t.type for t in catalog.event_types(entitlements=True)])
    def test_star_matches_everything(self, event_type: str) -> None:
        assert routing.matches(["*"], event_type)

    def test_any_of_several_patterns(self) -> None:
        patterns = ["item.*", "order.success"]
        assert routing.matches(patterns, "item.remove")
        assert routing.matches(patterns, "order.success")
        assert not routing.matches(patterns, "order.reject")

    def test_no_patterns_match_nothing(self) -> None:
        assert not routing.matches([], "order.success")

    def test_accepts_a_generator(self) -> None:
        assert routing.matches((p for p in ["a.b", "order.*"]), "order.success")


class TestExpand:
    def test_exact(self) -> None:
        assert routing.expand(["order.reminder"]) == ["order.reminder"]

    def test_family_in_catalogue_order(self) -> None:
        expected = [t.type for t in catalog.event_types() if t.family == "item"]
        assert routing.expand(["item.*"]) == expected
        assert len(expected) == 9

    def test_star_is_the_enabled_catalogue(self) -> None:
        assert routing.expand(["*"]) == [t.type for t in catalog.event_types()]
        assert routing.expand(["*"], entitlements=True) == [
            t.type for t in catalog.event_types(entitlements=True)
        ]

    def test_catalogue_order_and_no_duplicates(self) -> None:
        expanded = routing.expand(["order.success", "subscriber.*", "order.*", "subscriber.create"])
        assert len(expanded) == len(set(expanded))
        assert expanded == [t.type for t in catalog.event_types() if t.family in ("subscriber", "order")]

    def test_entitlements_only_when_enabled(self) -> None:
        assert routing.expand(["entitlement.*"]) == []
        assert len(routing.expand(["entitlement.*"], entitlements=True)) == 5

    def test_generator_input(self) -> None:
        assert routing.expand(p for p in ["item.remove", "item.create"]) == ["item.create", "item.remove"]
