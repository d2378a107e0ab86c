"""Fake data for test events: Ordergroove's shapes (``docs/payloads.md``), coherent, deterministic."""

from __future__ import annotations

import random
import re

import orjson
import pytest

from hookline.core import catalog, samples

NOW = 1_700_000_000
MERCHANT = "mer_test"


def fields(names: str) -> set[str]:
    return set(names.split())


# The default object of each family (``docs/payloads.md``).
OBJECT_FIELDS = {
    "subscriber": fields(
        "type merchant merchant_user_id subscription subscriptions session_id first_name last_name email "
        "phone_number phone_type phone_type_display live created last_updated extra_data locale "
        "locale_display"
    ),
    "subscription": fields(
        "type merchant public_id customer product components extra_data prepaid_subscription_context "
        "quantity price frequency_days reminder_days every every_period every_period_display cancelled "
        "cancel_reason cancel_reason_code session_id merchant_order_id live external_id created updated "
        "start_date offer payment shipping_address"
    ),
    "order": fields(
        "type merchant public_id customer payment shipping_address sub_total tax_total shipping_total "
        "discount_total total created place cancelled tries generic_error_count status status_display "
        "order_merchant_id rejected_message extra_data"
    ),
    "item": fields(
        "type merchant public_id customer product order subscription offer quantity price total_price "
        "first_placed components"
    ),
}
# The snapshot's records, as the REST API's retrieve endpoints give them.
SNAPSHOT_FIELDS = {
    "customer": fields(
        "merchant merchant_user_id session_id user_token_id first_name last_name email phone_number "
        "phone_type live created last_updated last_login extra_data locale"
    ),
    "orders": fields(
        "merchant customer payment shipping_address public_id sub_total tax_total shipping_total "
        "discount_total total created updated place cancelled tries generic_error_count status type "
        "order_merchant_id rejected_message extra_data locked oos_free_shipping currency_code"
    ),
    "items": fields(
        "order offer subscription product quantity components public_id price extra_cost total_price "
        "one_time frozen first_placed product_attribute"
    ),
    "addresses": fields(
        "customer public_id label first_name last_name company_name address address2 city "
        "state_province_code zip_postal_code phone fax country_code live created token_id "
        "store_public_id"
    ),
    "payments": fields(
        "customer billing_address cc_number_ending payment_method public_id label token_id cc_holder cc_type "
        "cc_exp_date live created last_updated"
    ),
    "subscriptions": fields(
        "customer merchant product payment shipping_address offer subscription_type raw_subscription_type "
        "components extra_data public_id quantity price frequency_days reminder_days every every_period "
        "start_date cancelled cancel_reason iteration sequence session_id merchant_order_id created updated "
        "live external_id product_attribute cancel_reason_code customer_rep club "
        "prepaid_subscription_context currency_code"
    ),
    "products": fields(
        "merchant groups name price image_url detail_url external_product_id sku autoship_enabled "
        "premier_enabled created last_update live discontinued extra_data product_type autoship_by_default "
        "every every_period incentive_group"
    ),
}
ALL_TYPES = [t.type for t in catalog.event_types(entitlements=True)]
REST_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def graph(seed: int = 7) -> samples.Graph:
    return samples.sample_graph(random.Random(seed), merchant=MERCHANT, now=NOW)


class TestDeterminism:
    def test_same_seed_same_graph_and_events(self) -> None:
        assert graph(1) == graph(1)
        first = samples.sample_event("order.success", random.Random(3), graph(1))
        again = samples.sample_event("order.success", random.Random(3), graph(1))
        assert first == again

    def test_other_seed_other_data(self) -> None:
        assert graph(1).customer != graph(2).customer
        ids = {samples.sample_event("order.success", random.Random(i), graph())["id"] for i in range(20)}
        assert len(ids) == 20

    def test_a_random_of_its_own_is_never_used(self) -> None:
        state = random.getstate()
        graph()
        samples.sample_event("item.create", random.Random(1))
        assert random.getstate() == state

    def test_without_a_graph_one_is_made_from_the_rng(self) -> None:
        event = samples.sample_event("subscriber.create", random.Random(5), merchant=MERCHANT, now=NOW)
        assert event["data"]["object"]["merchant"] == MERCHANT and event["created"] == NOW


class TestEvents:
    @pytest.mark.parametrize("event_type", ALL_TYPES)
    def test_every_type_has_the_post_events_shape(self, event_type: str) -> None:
        event = samples.sample_event(event_type, random.Random(1), graph())
        family = event_type.split(".")[0]
        assert event["id"].startswith(samples.TEST_PREFIX) and len(event["id"]) <= 100
        assert event["type"] == event_type and event["created"] == NOW
        obj = event["data"]["object"]
        # hookline's own notices are about a route; the platform's events about an object of their family.
        assert obj["type"] == ("route" if family == "hookline" else family) and obj["merchant"] == MERCHANT
        orjson.dumps(event)  # plain JSON all the way down

    @pytest.mark.parametrize("family", ["subscriber", "subscription", "order", "item"])
    def test_objects_carry_the_documented_fields(self, family: str) -> None:
        for event_type in [t for t in ALL_TYPES if t.startswith(family + ".")]:
            obj = samples.sample_event(event_type, random.Random(1), graph())["data"]["object"]
            extra = {"one_click_token"} if family in ("subscription", "order") else set()
            assert OBJECT_FIELDS[family] <= set(obj) <= OBJECT_FIELDS[family] | extra, event_type

    def test_times_in_objects_are_epoch_seconds(self) -> None:
        obj = samples.sample_event("subscription.create", random.Random(1), graph())["data"]["object"]
        assert isinstance(obj["created"], int) and isinstance(obj["updated"], int)
        assert re.match(r"^\d{4}-\d{2}-\d{2}$", obj["start_date"])

    def test_one_click_token_only_on_the_documented_events(self) -> None:
        g = graph()
        assert (
            "one_click_token" in samples.sample_event("order.reminder", random.Random(1), g)["data"]["object"]
        )
        assert (
            "one_click_token"
            not in samples.sample_event("order.success", random.Random(1), g)["data"]["object"]
        )
        assert (
            "one_click_token"
            in samples.sample_event("subscription.cancel", random.Random(1), g)["data"]["object"]
        )

    def test_subscription_events_carry_the_source_context(self) -> None:
        event = samples.sample_event("subscription.create", random.Random(1), graph())
        assert event["context"] == {"source": "PurchasePOST"}
        assert "context" not in samples.sample_event("order.create", random.Random(1), graph())

    def test_the_event_changes_what_it_says(self) -> None:
        g = graph()
        cancel = samples.sample_event("subscription.cancel", random.Random(1), g)["data"]["object"]
        assert cancel["live"] is False and cancel["cancelled"] == NOW and cancel["cancel_reason"]
        success = samples.sample_event("order.success", random.Random(1), g)["data"]["object"]
        assert success["status"] == 5 and success["status_display"] == "Success"
        assert success["order_merchant_id"]
        reminder = samples.sample_event("order.reminder", random.Random(1), g)["data"]["object"]
        assert reminder["status"] == 1 and reminder["status_display"] == "Unsent"
        gone = samples.sample_event("subscriber.cancel", random.Random(1), g)["data"]["object"]
        assert gone["live"] is False and gone["subscriptions"] == []

    def test_at_event_is_idempotent(self) -> None:
        for event_type in ALL_TYPES:
            once = samples.at_event(graph(), event_type)
            assert samples.at_event(once, event_type) == once

    def test_subscriber_object_lists_several_subscriptions_only_when_several(self) -> None:
        g = graph()
        many = samples.sample_event("subscriber.subscriptions_created", random.Random(1), g)["data"]["object"]
        assert many["subscription"] == "" and len(many["subscriptions"]) == 2
        one = samples.sample_event("subscriber.create", random.Random(1), g)["data"]["object"]
        assert one["subscription"] == g.subscriptions[0]["public_id"] and one["subscriptions"] == []

    def test_unknown_type_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown event type"):
            samples.sample_event("order.nope", random.Random(1))


class TestGraph:
    def test_money_adds_up(self) -> None:
        g = graph()
        order = g.order
        lines = sum(float(i["total_price"]) for i in g.items)
        assert float(order["sub_total"]) == pytest.approx(lines)
        expected = (
            float(order["sub_total"])
            - float(order["discount_total"])
            + float(order["shipping_total"])
            + float(order["tax_total"])
        )
        assert float(order["total"]) == pytest.approx(expected)
        assert all(re.match(r"^\d+\.\d{2}$", order[k]) for k in ("sub_total", "tax_total", "total"))

    def test_ids_link_up(self) -> None:
        g = graph()
        customer = g.customer["merchant_user_id"]
        shipping, billing = g.addresses
        assert g.payment["billing_address"] == billing["public_id"]
        assert g.order["shipping_address"] == shipping["public_id"]
        assert g.order["payment"] == g.payment["public_id"]
        assert {s["product"] for s in g.subscriptions} == {p["external_product_id"] for p in g.products}
        assert [i["subscription"] for i in g.items] == [s["public_id"] for s in g.subscriptions]
        assert all(i["order"] == g.order["public_id"] for i in g.items)
        assert all(r["customer"] == customer for r in (*g.subscriptions, g.order, g.payment, *g.addresses))

    def test_emails_and_phones_are_safe_to_send(self) -> None:
        for seed in range(20):
            c = graph(seed).customer
            assert c["email"].endswith("@example.com")
            assert re.match(r"^\(\d{3}\) 555-01\d{2}$", c["phone_number"])


class TestSnapshot:
    @pytest.mark.parametrize("family", ["order", "item"])
    def test_all_columns_with_the_documented_fields(self, family: str) -> None:
        snap = samples.sample_snapshot(family, list(samples.SNAPSHOT_KEYS), graph())
        assert list(snap) == list(samples.SNAPSHOT_KEYS)
        assert isinstance(snap["customer"], dict)
        assert set(snap["customer"]) == SNAPSHOT_FIELDS["customer"]
        for key in samples.SNAPSHOT_KEYS[1:]:
            assert isinstance(snap[key], list) and snap[key], key
            for record in snap[key]:
                assert set(record) == SNAPSHOT_FIELDS[key], key

    def test_only_the_ticked_columns_in_the_envelope_order(self) -> None:
        snap = samples.sample_snapshot("order", ["payments", "customer"], graph())
        assert list(snap) == ["customer", "payments"]
        assert samples.sample_snapshot("order", [], graph()) == {}

    @pytest.mark.parametrize("family", ["subscriber", "subscription"])
    def test_orders_and_items_never_reach_subscriber_or_subscription_events(self, family: str) -> None:
        snap = samples.sample_snapshot(family, list(samples.SNAPSHOT_KEYS), graph())
        assert set(snap) == {"customer", "addresses", "payments", "subscriptions", "products"}

    def test_times_are_rest_strings(self) -> None:
        snap = samples.sample_snapshot("order", list(samples.SNAPSHOT_KEYS), graph())
        assert REST_TIME.match(snap["customer"]["created"])
        assert REST_TIME.match(snap["orders"][0]["updated"])
        assert REST_TIME.match(snap["products"][0]["last_update"])
        assert snap["orders"][0]["cancelled"] is None

    def test_order_event_involves_its_items_their_subscriptions_and_products(self) -> None:
        g = graph()
        event = samples.sample_event("order.success", random.Random(1), g)
        snap = samples.sample_snapshot(
            "order", list(samples.SNAPSHOT_KEYS), samples.at_event(g, "order.success")
        )
        obj = event["data"]["object"]
        assert snap["customer"]["merchant_user_id"] == obj["customer"]
        assert [o["public_id"] for o in snap["orders"]] == [obj["public_id"]]
        assert snap["orders"][0]["status"] == obj["status"] == 5
        assert {i["order"] for i in snap["items"]} == {obj["public_id"]}
        assert {s["public_id"] for s in snap["subscriptions"]} == {i["subscription"] for i in snap["items"]}
        assert {p["external_product_id"] for p in snap["products"]} == {i["product"] for i in snap["items"]}
        assert [p["public_id"] for p in snap["payments"]] == [obj["payment"]]
        address_ids = {a["public_id"] for a in snap["addresses"]}
        assert {obj["shipping_address"], snap["payments"][0]["billing_address"]} == address_ids

    def test_subscription_event_involves_only_that_subscription(self) -> None:
        g = graph()
        obj = samples.sample_event("subscription.change_quantity", random.Random(1), g)["data"]["object"]
        snap = samples.sample_snapshot("subscription", ["subscriptions", "products"], g)
        assert [s["public_id"] for s in snap["subscriptions"]] == [obj["public_id"]]
        assert [p["external_product_id"] for p in snap["products"]] == [obj["product"]]

    def test_item_event_involves_its_order_and_subscription(self) -> None:
        g = graph()
        obj = samples.sample_event("item.change_quantity", random.Random(1), g)["data"]["object"]
        snap = samples.sample_snapshot("item", ["items", "orders", "subscriptions"], g)
        assert [i["public_id"] for i in snap["items"]] == [obj["public_id"]]
        assert [o["public_id"] for o in snap["orders"]] == [obj["order"]]
        assert [s["public_id"] for s in snap["subscriptions"]] == [obj["subscription"]]

    def test_notices_have_no_snapshot(self) -> None:
        assert samples.sample_snapshot("hookline", list(samples.SNAPSHOT_KEYS), graph()) == {}

    def test_cancelled_subscription_shows_in_the_snapshot(self) -> None:
        g = samples.at_event(graph(), "subscription.cancel")
        snap = samples.sample_snapshot("subscription", ["subscriptions"], g)
        assert snap["subscriptions"][0]["live"] is False
        assert REST_TIME.match(snap["subscriptions"][0]["cancelled"])
