"""The event catalogue against Ordergroove's event reference (``docs/event-types.md``)."""

from __future__ import annotations

import pytest

from hookline.core import catalog

# Transcribed from Ordergroove's published event reference, independently of catalog.py.
SUBSCRIBER = ("create", "cancel", "subscriptions_created")
SUBSCRIPTION = (
    "create",
    "cancel",
    "sku_swap",
    "change_live",
    "reactivate",
    "change_frequency",
    "change_components",
    "change_quantity",
    "change_shipping_address",
    "change_payment",
    "refresh_one_click_token",
)
ORDER = (
    "create",
    "change_shipping_address",
    "change_payment",
    "change_billing",
    "change_next_order_date",
    "skip_order",
    "send_now",
    "cancel",
    "success",
    "delete",
    "generic_error",
    "reject",
    "reminder",
    "retryable_placement_failure",
    "refresh_one_click_token",
)
ITEM = (
    "create",
    "change_order",
    "change_quantity",
    "remove",
    "item_subscribe",
    "update_price",
    "sku_swap",
    "successfully_placed",
    "out_of_stock",
)
ENTITLEMENT = (
    "entitlements_granted",
    "entitlements_expiring",
    "entitlements_expiration_modified",
    "entitlements_voided",
    "entitlements_expired",
)

DOCUMENTED = {
    "subscriber": SUBSCRIBER,
    "subscription": SUBSCRIPTION,
    "order": ORDER,
    "item": ITEM,
}
DOCUMENTED_TYPES = [f"{family}.{action}" for family, actions in DOCUMENTED.items() for action in actions]
ENTITLEMENT_TYPES = [f"entitlement.{action}" for action in ENTITLEMENT]
# hookline's own operational notices (docs/lifecycle.md), always offered, listed last.
OPERATIONAL_TYPES = ["hookline.route.halted", "hookline.route.resumed"]


def names(*, entitlements: bool = False) -> list[str]:
    return [t.type for t in catalog.event_types(entitlements=entitlements)]


@pytest.mark.parametrize("name", DOCUMENTED_TYPES)
def test_every_documented_type_is_present(name: str) -> None:
    assert name in names()
    assert name in names(entitlements=True)
    found = catalog.get(name)
    assert found is not None
    assert found.type == name
    assert found.description


def test_the_default_catalogue_is_exactly_the_four_documented_families_and_ours() -> None:
    assert sorted(names()) == sorted(DOCUMENTED_TYPES + OPERATIONAL_TYPES)


@pytest.mark.parametrize("entitlements", [False, True])
def test_operational_family_always_offered(entitlements: bool) -> None:
    for name in OPERATIONAL_TYPES:
        found = catalog.get(name, entitlements=entitlements)
        assert found is not None and found.family == "hookline"
        assert catalog.is_operational(name)
    assert not catalog.is_operational("order.success")
    assert names(entitlements=entitlements)[-2:] == OPERATIONAL_TYPES


def test_subscriptions_created_is_included() -> None:
    # Listed only on Ordergroove's older reference page, but a real event (§2.1 [C*]).
    assert catalog.get("subscriber.subscriptions_created") is not None


@pytest.mark.parametrize("name", ENTITLEMENT_TYPES)
def test_entitlement_family_only_when_enabled(name: str) -> None:
    assert name not in names()
    assert catalog.get(name) is None
    assert catalog.get(name, entitlements=False) is None
    assert name in names(entitlements=True)
    found = catalog.get(name, entitlements=True)
    assert found is not None
    assert found.family == "entitlement"


def test_enabled_catalogue_is_the_default_plus_entitlements() -> None:
    expected = DOCUMENTED_TYPES + ENTITLEMENT_TYPES + OPERATIONAL_TYPES
    assert sorted(names(entitlements=True)) == sorted(expected)


def test_families() -> None:
    assert catalog.families() == ("subscriber", "subscription", "order", "item", "hookline")
    assert catalog.families(entitlements=False) == ("subscriber", "subscription", "order", "item", "hookline")
    assert catalog.families(entitlements=True) == (
        "subscriber",
        "subscription",
        "order",
        "item",
        "entitlement",
        "hookline",
    )


@pytest.mark.parametrize(
    "name",
    [
        "",
        "*",
        "order",
        "order.",
        "order.*",
        "order.nope",
        "orders.create",
        "Order.create",
        "order.create ",
        "subscription.created",  # a typo in Ordergroove's prose, not an event (§2.2)
        "subscription.cancelled",
        "x-ordergroove.create",
        "entitlement.*",
    ],
)
def test_get_unknown_returns_none(name: str) -> None:
    assert catalog.get(name) is None
    assert catalog.get(name, entitlements=True) is None


@pytest.mark.parametrize("entitlements", [False, True])
def test_no_duplicates(entitlements: bool) -> None:
    listed = names(entitlements=entitlements)
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize("entitlements", [False, True])
def test_every_type_is_family_dot_action_with_a_known_family(entitlements: bool) -> None:
    known = catalog.families(entitlements=entitlements)
    for event_type in catalog.event_types(entitlements=entitlements):
        family, dot, action = event_type.type.partition(".")
        assert dot == "."
        assert family in known
        assert event_type.family == family
        assert action
        # Ours are <family>.<object>.<action> (hookline.route.halted); the platform's have one dot.
        assert action.count(".") == (1 if family == "hookline" else 0)
        assert "*" not in event_type.type
        assert action == action.lower()
        assert event_type.description.strip()


def test_catalogue_is_grouped_by_family_in_family_order() -> None:
    order = catalog.families(entitlements=True)
    seen = [t.family for t in catalog.event_types(entitlements=True)]
    indexes = [order.index(f) for f in seen]
    assert indexes == sorted(indexes)


def test_get_returns_the_catalogue_entry() -> None:
    for event_type in catalog.event_types(entitlements=True):
        assert catalog.get(event_type.type, entitlements=True) is event_type


def test_event_type_is_immutable() -> None:
    found = catalog.get("order.success")
    assert found is not None
    with pytest.raises(AttributeError):
        found.type = "order.other"  # type: ignore[misc]
