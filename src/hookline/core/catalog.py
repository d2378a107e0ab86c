"""The event catalogue: every event type the commerce platform emits, by family.

Source: Ordergroove's event reference (``docs/event-types.md``). The ``entitlement`` family exists
only for digital-subscription programs, so it is offered only when the operator enables it.

The ``hookline`` family is ours, not the platform's: operational notices about the merchant's own webhooks
(a route halted automatically, resumed). hookline sends them only to routes that name them (``hookline.*``
or the exact type), not to ``*`` routes, which expect commerce objects. See ``docs/lifecycle.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

FAMILIES: Final = ("subscriber", "subscription", "order", "item")
OPTIONAL_FAMILIES: Final = ("entitlement",)
OPERATIONAL_FAMILY: Final = "hookline"
ROUTE_HALTED: Final = "hookline.route.halted"
ROUTE_RESUMED: Final = "hookline.route.resumed"


@dataclass(frozen=True, slots=True)
class EventType:
    type: str
    description: str

    @property
    def family(self) -> str:
        return self.type.split(".", 1)[0]


_TYPES: Final = (
    EventType("subscriber.create", "The customer created their first subscription."),
    EventType("subscriber.cancel", "The customer cancelled their last active subscription."),
    EventType("subscriber.subscriptions_created", "The subscriber created one or more subscriptions."),
    EventType("subscription.create", "The customer created a subscription (not fired for admin creation)."),
    EventType("subscription.cancel", "The subscription was cancelled."),
    EventType("subscription.sku_swap", "The subscription's product was changed."),
    EventType("subscription.change_live", "A cancelled subscription was reactivated."),
    EventType("subscription.reactivate", "The subscription was reactivated."),
    EventType("subscription.change_frequency", "The delivery frequency changed."),
    EventType("subscription.change_components", "A bundle's components were updated, added or removed."),
    EventType("subscription.change_quantity", "The quantity changed."),
    EventType("subscription.change_shipping_address", "A shipping address was set."),
    EventType("subscription.change_payment", "A payment was set."),
    EventType("subscription.refresh_one_click_token", "A new 1-Click token was issued."),
    EventType("order.create", "A new order was created (its first line item was added)."),
    EventType("order.change_shipping_address", "The order's shipping address was set."),
    EventType("order.change_payment", "The order's payment was set."),
    EventType("order.change_billing", "The order's billing details changed."),
    EventType("order.change_next_order_date", "The desired placement date changed."),
    EventType("order.skip_order", "The order was skipped or cancelled and will not be placed."),
    EventType("order.send_now", "The placement date was moved up to today."),
    EventType("order.cancel", "Placement answered cancel (code 030): stop trying."),
    EventType("order.success", "The order was placed and GMV realized."),
    EventType("order.delete", "The order was deleted."),
    EventType("order.generic_error", "Placement answered an unknown error (code 999); it will be retried."),
    EventType("order.reject", "Placement was rejected: no GMV, no retry."),
    EventType("order.reminder", "The customer was reminded of an upcoming order."),
    EventType("order.retryable_placement_failure", "Placement failed into the configurable retry flow."),
    EventType("order.refresh_one_click_token", "A new 1-Click token was issued for the order."),
    EventType("item.create", "An item was created."),
    EventType("item.change_order", "The item moved from one order to another."),
    EventType("item.change_quantity", "The item's quantity changed."),
    EventType("item.remove", "The item was removed from its order."),
    EventType("item.item_subscribe", "A one-time item was turned into a subscription."),
    EventType("item.update_price", "The item's price was updated through the change-price endpoint."),
    EventType("item.sku_swap", "The item's product was swapped."),
    EventType("item.successfully_placed", "The item's order was placed successfully."),
    EventType("item.out_of_stock", "Not enough stock: the item moved to be retried the next day."),
    EventType("entitlement.entitlements_granted", "Access time was granted."),
    EventType("entitlement.entitlements_expiring", "An active entitlement expires in under 7 days."),
    EventType("entitlement.entitlements_expiration_modified", "An entitlement's expiration was modified."),
    EventType("entitlement.entitlements_voided", "An entitlement was voided."),
    EventType("entitlement.entitlements_expired", "An entitlement expired."),
    EventType(ROUTE_HALTED, "hookline halted one of your routes: its target kept failing."),
    EventType(ROUTE_RESUMED, "A halted route was resumed; its held deliveries are being sent."),
)

_BY_NAME: Final = MappingProxyType({t.type: t for t in _TYPES})


def event_types(*, entitlements: bool = False) -> tuple[EventType, ...]:
    """The catalogue in documentation order; the entitlement family only when enabled."""
    return tuple(t for t in _TYPES if entitlements or t.family not in OPTIONAL_FAMILIES)


def families(*, entitlements: bool = False) -> tuple[str, ...]:
    return FAMILIES + (OPTIONAL_FAMILIES if entitlements else ()) + (OPERATIONAL_FAMILY,)


def is_operational(name: str) -> bool:
    """True for hookline's own notices (the ``hookline`` family)."""
    return name.split(".", 1)[0] == OPERATIONAL_FAMILY


def get(name: str, *, entitlements: bool = False) -> EventType | None:
    """The event type called ``name``, or None when it is not in the (enabled) catalogue."""
    found = _BY_NAME.get(name)
    if found is None or (found.family in OPTIONAL_FAMILIES and not entitlements):
        return None
    return found


# Fields marked secret: the platform puts them in ``data.object`` only for the event types named
# (Ordergroove sends a 1-Click token only with these, ``docs/payloads.md``). They are
# event-only: they belong to that event's ``data.object`` and to nothing else, so hookline never keeps
# them in its object store and never shows them in a snapshot, whatever event or upsert brings them.
SECRET_FIELDS: Final = MappingProxyType(
    {
        "one_click_token": frozenset(
            {
                "subscription.create",
                "subscription.cancel",
                "subscription.refresh_one_click_token",
                "order.reminder",
                "order.refresh_one_click_token",
            }
        ),
    }
)


def secrets_carried(name: str) -> frozenset[str]:
    """The secret fields the ``data.object`` of an event of type ``name`` carries."""
    return frozenset(field for field, types in SECRET_FIELDS.items() if name in types)


def secret_fields(family: str) -> frozenset[str]:
    """The secret fields that events of ``family`` may carry (any of its types)."""
    return frozenset(
        field for field, types in SECRET_FIELDS.items() if any(t.split(".", 1)[0] == family for t in types)
    )
