"""Which platform objects an event involves (``docs/payloads.md``), decided without any I/O."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from hookline.core import snapshot
from hookline.core.models import JSON
from hookline.core.snapshot import Need, Pending, Request

ALL = tuple(snapshot.COLUMN_KINDS)

CUSTOMER: JSON = {"merchant_user_id": "cust-1", "email": "ada@example.com", "first_name": "Ada"}
OTHER_CUSTOMER: JSON = {"merchant_user_id": "cust-2", "email": "bob@example.com"}
SHIPPING: JSON = {"public_id": "addr-ship", "customer": "cust-1", "city": "Lyon"}
BILLING: JSON = {"public_id": "addr-bill", "customer": "cust-1", "city": "Paris"}
SUB_SHIPPING: JSON = {"public_id": "addr-sub", "customer": "cust-1", "city": "Nice"}
PAYMENT: JSON = {"public_id": "pay-1", "customer": "cust-1", "billing_address": "addr-bill", "cc_type": 1}
SUB_PAYMENT: JSON = {"public_id": "pay-2", "customer": "cust-1", "billing_address": "addr-bill"}
COFFEE: JSON = {"external_product_id": "sku-coffee", "name": "Coffee"}
FILTERS: JSON = {"external_product_id": "sku-filters", "name": "Filters"}
MUG: JSON = {"external_product_id": "sku-mug", "name": "Mug"}
SUB: JSON = {
    "public_id": "sub-1",
    "customer": "cust-1",
    "product": "sku-coffee",
    "payment": "pay-2",
    "shipping_address": "addr-sub",
    "components": [{"public_id": "c1", "product": "sku-mug", "quantity": 1}],
}
SUB_2: JSON = {"public_id": "sub-2", "customer": "cust-1", "product": "sku-filters"}
ORDER: JSON = {
    "public_id": "ord-1",
    "customer": "cust-1",
    "payment": "pay-1",
    "shipping_address": "addr-ship",
    "total": "25.00",
}
ITEM_1: JSON = {"public_id": "itm-1", "order": "ord-1", "subscription": "sub-1", "product": "sku-coffee"}
ITEM_2: JSON = {"public_id": "itm-2", "order": "ord-1", "subscription": None, "product": "sku-filters"}
ELSEWHERE: JSON = {"public_id": "itm-9", "order": "ord-2", "product": "sku-mug"}

STORE: dict[tuple[str, str], JSON] = {
    ("customer", "cust-1"): CUSTOMER,
    ("customer", "cust-2"): OTHER_CUSTOMER,
    ("address", "addr-ship"): SHIPPING,
    ("address", "addr-bill"): BILLING,
    ("address", "addr-sub"): SUB_SHIPPING,
    ("payment", "pay-1"): PAYMENT,
    ("payment", "pay-2"): SUB_PAYMENT,
    ("product", "sku-coffee"): COFFEE,
    ("product", "sku-filters"): FILTERS,
    ("product", "sku-mug"): MUG,
    ("subscription", "sub-1"): SUB,
    ("subscription", "sub-2"): SUB_2,
    ("order", "ord-1"): ORDER,
    ("item", "itm-1"): ITEM_1,
    ("item", "itm-2"): ITEM_2,
    ("item", "itm-9"): ELSEWHERE,
}


class Store:
    """The lookups the storage adapter answers, over a dict, counting what was asked."""

    def __init__(self, objects: dict[tuple[str, str], JSON]) -> None:
        self.objects = objects
        self.asked: list[set[Need]] = []

    def answer(self, needs: set[Need]) -> dict[Need, snapshot.Found]:
        self.asked.append(needs)
        answers = {}
        for need in needs:
            hits = [
                (key, data)
                for (kind, key), data in self.objects.items()
                if kind == need.kind and (key if need.via is None else data.get(need.via)) == need.value
            ]
            answers[need] = tuple(sorted(hits, key=lambda hit: hit[0]))
        return answers

    def resolve(self, requests: list[Request], pending: Pending | None = None) -> list[snapshot.Walk]:
        known: dict[Need, snapshot.Found] = {}
        for _ in range(8):
            missing = set().union(*(snapshot.walk(r, known, pending).missing for r in requests))
            if not missing:
                break
            known.update(self.answer(missing))
        return [snapshot.walk(r, known, pending) for r in requests]


def enrich(family: str, obj: JSON, columns: Iterable[str] = ALL, store: Store | None = None) -> JSON:
    """The snapshot of an event whose object gives ``obj`` as its REST fields (``Request.own``)."""
    columns = tuple(columns)
    request = Request(family, obj, snapshot.kinds_for(columns), own=obj)
    [walked] = (store or Store(STORE)).resolve([request])
    assert not walked.missing
    return snapshot.assemble(walked.found, columns)


def ids(objects: list[JSON]) -> list[str]:
    return [str(o.get("public_id") or o.get("external_product_id")) for o in objects]


class TestOrderEvents:
    def test_the_order_its_customer_items_their_subscriptions_products_payment_and_addresses(self) -> None:
        snap = enrich("order", ORDER)
        assert snap["customer"] == CUSTOMER
        assert snap["orders"] == [ORDER]
        assert snap["items"] == [ITEM_1, ITEM_2]  # items of other orders are not involved
        assert ids(snap["subscriptions"]) == ["sub-1"]
        assert ids(snap["products"]) == ["sku-coffee", "sku-filters"]
        assert snap["payments"] == [PAYMENT]  # the order's payment, not the subscription's
        assert ids(snap["addresses"]) == ["addr-ship", "addr-bill"]  # shipping, then the payment's billing

    def test_keys_follow_the_envelope_order_whatever_the_route_order(self) -> None:
        snap = enrich("order", ORDER, ["products", "customer", "items"])
        assert list(snap) == ["customer", "items", "products"]

    def test_a_bundle_item_involves_its_component_products(self) -> None:
        item = {**ITEM_2, "components": [{"public_id": "c", "product": "sku-mug", "quantity": 2}]}
        store = Store({**STORE, ("item", "itm-2"): item})
        assert ids(enrich("order", ORDER, ["products"], store)["products"]) == [
            "sku-coffee",
            "sku-filters",
            "sku-mug",
        ]


class TestItemEvents:
    def test_its_order_subscription_product_customer_and_the_orders_payment_and_addresses(self) -> None:
        snap = enrich("item", ITEM_1)
        assert snap["items"] == [ITEM_1]
        assert snap["orders"] == [ORDER]
        assert snap["subscriptions"] == [SUB]
        assert snap["products"] == [COFFEE]  # the item's product only, not the subscription's components
        assert snap["customer"] == CUSTOMER  # through the order: the item names no customer
        assert snap["payments"] == [PAYMENT]
        assert ids(snap["addresses"]) == ["addr-ship", "addr-bill"]

    def test_the_items_own_customer_comes_first(self) -> None:
        assert enrich("item", {**ITEM_1, "customer": "cust-2"})["customer"] == OTHER_CUSTOMER


class TestSubscriptionEvents:
    def test_its_customer_product_payment_and_addresses(self) -> None:
        snap = enrich("subscription", SUB, ["customer", "subscriptions", "products", "payments", "addresses"])
        assert snap["customer"] == CUSTOMER
        assert snap["subscriptions"] == [SUB]
        assert ids(snap["products"]) == ["sku-coffee", "sku-mug"]  # its product, then its components'
        assert snap["payments"] == [SUB_PAYMENT]
        assert ids(snap["addresses"]) == ["addr-sub", "addr-bill"]


class TestSubscriberEvents:
    def test_the_customer_and_its_subscriptions_with_their_products_payments_and_addresses(self) -> None:
        event = {**CUSTOMER, "type": "subscriber", "subscription": "", "subscriptions": ["sub-1", "sub-2"]}
        snap = enrich("subscriber", event, ["customer", "subscriptions", "products", "payments", "addresses"])
        assert snap["customer"] == CUSTOMER  # the stored REST version, not the event's object
        assert ids(snap["subscriptions"]) == ["sub-1", "sub-2"]
        # Subscriptions' products, then their components' products.
        assert ids(snap["products"]) == ["sku-coffee", "sku-filters", "sku-mug"]
        assert snap["payments"] == [SUB_PAYMENT]
        assert ids(snap["addresses"]) == ["addr-sub", "addr-bill"]

    def test_a_single_subscription_field_is_followed_too(self) -> None:
        event = {**CUSTOMER, "subscription": "sub-2", "subscriptions": []}
        assert ids(enrich("subscriber", event, ["subscriptions"])["subscriptions"]) == ["sub-2"]


class TestMissingObjects:
    def test_objects_missing_from_the_store_are_left_out(self) -> None:
        order = {**ORDER, "customer": "nobody", "payment": "pay-404", "public_id": "ord-404"}
        snap = enrich("order", order)
        assert "customer" not in snap
        assert snap["items"] == [] and snap["payments"] == [] and snap["addresses"] == [SHIPPING]
        assert snap["orders"] == [order]

    def test_an_empty_store_gives_only_the_events_own_object(self) -> None:
        snap = enrich("order", ORDER, store=Store({}))
        assert snap == {
            "orders": [ORDER],
            "items": [],
            "addresses": [],
            "payments": [],
            "subscriptions": [],
            "products": [],
        }

    def test_odd_field_values_name_nothing(self) -> None:
        order = {**ORDER, "customer": {"id": "cust-1"}, "payment": True, "shipping_address": ""}
        snap = enrich("order", order, ["customer", "payments", "addresses"], Store({}))
        assert snap == {"addresses": [], "payments": []}


class TestTheEventsOwnObject:
    def test_is_its_stored_rest_version_while_references_are_the_events(self) -> None:
        # The REST item has no customer: the event's does, and it is followed.
        webhook = {"type": "item", "public_id": "itm-1", "order": "ord-1", "customer": "cust-2"}
        snap = enrich("item", webhook, ["items", "customer"])
        assert snap == {"customer": OTHER_CUSTOMER, "items": [ITEM_1]}

    def test_without_an_id_it_is_the_rest_fields_the_event_gives(self) -> None:
        rest = {"customer": "cust-1", "total": "1.00"}
        request = Request("order", {"type": "order", **rest}, frozenset({"order"}), own=rest)
        [walked] = Store(STORE).resolve([request])
        assert walked.found == {"order": {"": rest}}

    def test_a_route_without_its_column_does_not_look_it_up(self) -> None:
        store = Store(STORE)
        enrich("subscription", SUB, ["payments"], store)
        assert Need("subscription", "sub-1") not in {n for round_ in store.asked for n in round_}


class TestPointInTime:
    def test_every_lookup_asks_for_the_versions_at_the_events_time(self) -> None:
        store = Store(STORE)
        request = Request("order", ORDER, snapshot.kinds_for(ALL), own=ORDER, at=1234.5)
        store.resolve([request])
        asked = [need for round_ in store.asked for need in round_]
        assert asked and {need.at for need in asked} == {1234.5}
        assert Need("order", "ord-1", at=1234.5) in asked and Need("item", "ord-1", "order", 1234.5) in asked


class TestLookups:
    def test_only_what_the_routes_want_is_looked_up(self) -> None:
        store = Store(STORE)
        enrich("order", ORDER, ["customer"], store)
        assert store.asked == [{Need("customer", "cust-1")}]

    def test_a_step_on_the_way_is_looked_up_but_not_shown(self) -> None:
        store = Store(STORE)
        snap = enrich("order", ORDER, ["addresses"], store)
        assert snap == {"addresses": [SHIPPING, BILLING]}
        assert Need("payment", "pay-1") in store.asked[0]

    def test_no_columns_no_lookups(self) -> None:
        store = Store(STORE)
        assert enrich("order", ORDER, [], store) == {}
        assert store.asked == []

    def test_lookups_of_a_batch_are_shared_and_batched_by_round(self) -> None:
        store = Store(STORE)
        kinds = snapshot.kinds_for(ALL)
        requests = [Request("order", ORDER, kinds, 0), Request("item", ITEM_1, kinds, 1)]
        store.resolve(requests)
        # Two rounds: what the events name (the order's items, payment, address; the item's order,
        # subscription, product...); then what those name (the other item's product, the billing address).
        # Never one round per object or per event.
        assert len(store.asked) == 2
        everything = [need for round_ in store.asked for need in round_]
        assert len(everything) == len(set(everything))


class TestBatchesSeeTheirOwnWrites:
    def test_an_event_sees_objects_written_before_it_in_the_batch_not_after(self) -> None:
        pending = Pending()
        renamed = {**CUSTOMER, "first_name": "Augusta"}
        pending.add(1, "customer", "cust-1", renamed)
        kinds = frozenset({"customer"})
        before, after = Store(STORE).resolve(
            [Request("order", ORDER, kinds, 0), Request("order", ORDER, kinds, 1)], pending
        )
        assert before.found["customer"]["cust-1"] == CUSTOMER
        assert after.found["customer"]["cust-1"] == renamed

    def test_an_item_moved_in_the_batch_leaves_its_old_order(self) -> None:
        pending = Pending()
        pending.add(0, "item", "itm-1", {**ITEM_1, "order": "ord-2"})
        pending.add(0, "item", "itm-new", {"public_id": "itm-new", "order": "ord-1"})
        [walked] = Store(STORE).resolve([Request("order", ORDER, frozenset({"item"}), 1)], pending)
        assert list(walked.found["item"]) == ["itm-2", "itm-new"]


class TestOwnObject:
    @pytest.mark.parametrize(
        ("family", "obj", "expected"),
        [
            ("subscriber", {"merchant_user_id": "cust-1", "public_id": "x"}, ("customer", "cust-1")),
            ("subscription", {"public_id": "sub-1", "customer": "cust-1"}, ("subscription", "sub-1")),
            ("order", {"public_id": "ord-1"}, ("order", "ord-1")),
            ("item", {"public_id": 42}, ("item", "42")),
            ("order", {"customer": "cust-1"}, None),
            ("order", {"public_id": ""}, None),
            ("entitlement", {"public_id": "e-1"}, None),
        ],
    )
    def test_kind_from_the_family_and_key_from_the_kinds_id_field(
        self, family: str, obj: JSON, expected: tuple[str, str] | None
    ) -> None:
        assert snapshot.own_object(family, obj) == expected

    def test_products_are_keyed_by_external_product_id(self) -> None:
        assert snapshot.key_field("product") == "external_product_id"
        assert snapshot.key_field("address") == "public_id"


def test_every_hop_starts_from_an_object_found_before_it() -> None:
    for family, hops in snapshot.HOPS.items():
        reached = {snapshot.FAMILY_KINDS.get(family, family)}
        for hop in hops:
            assert hop.source in reached, (family, hop)
            reached.add(hop.target)
