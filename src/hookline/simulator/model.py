"""A subscription program in simulated time: who subscribes, what each order does, in which order.

A discrete-event model: an agenda of happenings (a sign-up, an order's reminder, its placement, a customer
changing a subscription), each at a simulated time. ``Simulation.step`` runs the earliest one and returns a
``Step``: the platform objects it created or changed, then the events it fired, with Ordergroove's meanings
(``docs/event-types.md``):

- a sign-up creates the customer, address, payment and subscriptions (``subscriber.create`` for a first
  subscription, ``subscription.create`` for each), and the first recurring order (``order.create``,
  ``item.create``), placed ``frequency_days`` later;
- ``order.reminder`` fires ``reminder_days`` before the placement date; the customer may then skip
  (``order.skip_order``);
- at placement the order succeeds (``order.success`` and ``item.successfully_placed`` per item), is rejected
  (``order.reject``), or answers a generic error (``order.generic_error``) and is tried again the next day
  (a fourth error is ``order.cancel``); an item may be out of stock (``item.out_of_stock``) and move to a
  new order placed the next day; every placed, skipped or rejected order gets its successor;
- between orders the customer changes an item's quantity (``item.change_quantity``), the frequency
  (``subscription.change_frequency``), adds a product, or cancels (``subscription.cancel``, ``item.remove``,
  ``order.delete`` for an order left empty, and ``subscriber.cancel`` after the last active subscription).

The program has customers from before ``start`` (their objects come with the first step, their events
were fired before), so reminders and placements begin at once.

Pure: the randomness comes from the ``random.Random`` passed in, time is simulated, and nothing is sent;
the same seed gives the same steps. The driver (``hookline.simulator.driver``) does the sending.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from hookline.core import catalog, samples
from hookline.simulator import world
from hookline.simulator.world import DAY, JSON, Customer, Item, Order, OrderStatus, Subscription

DEFAULT_START: Final = 1_735_689_600  # 2025-01-01T00:00:00Z
REMINDER_HOUR: Final = 9 * 3600
PLACEMENT_HOUR: Final = 6 * 3600
MAX_GENERIC_ERRORS: Final = 3
MAX_OUT_OF_STOCK: Final = 3

# Outcomes of a placement (cumulative thresholds of one roll).
P_OUT_OF_STOCK: Final = 0.05
P_GENERIC_ERROR: Final = 0.13
P_REJECT: Final = 0.17
P_SKIP_AFTER_REMINDER: Final = 0.08
# What a customer's change is (cumulative thresholds; the rest adds a product).
P_CANCEL: Final = 0.15
P_CHANGE_QUANTITY: Final = 0.60
P_CHANGE_FREQUENCY: Final = 0.90
MEAN_DAYS_BETWEEN_CHANGES: Final = 30.0

FIRST_NAMES: Final = (
    "Ava", "Ben", "Chloe", "Diego", "Emma", "Farah", "Grace", "Hiro", "Isla", "Jamal", "Kai", "Lena",
    "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wen", "Yara",
)  # fmt: skip
LAST_NAMES: Final = (
    "Anderson", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Johnson",
    "Kowalski", "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Rossi", "Silva", "Turner", "Walsh",
)  # fmt: skip
PLACES: Final = (
    ("Portland", "OR", "972"), ("Austin", "TX", "787"), ("Denver", "CO", "802"), ("Chicago", "IL", "606"),
    ("Boston", "MA", "021"), ("Seattle", "WA", "981"), ("Atlanta", "GA", "303"), ("Madison", "WI", "537"),
)  # fmt: skip
STREETS: Final = ("Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm St", "Birch Way", "Harbor Dr")
CARDS: Final = ("Visa", "Mastercard", "Amex", "Discover")
CANCEL_REASONS: Final = ("1|Too much product", "4|Overstocked", "6|Price", "8|Moving", "9|Other")
REJECTIONS: Final = ("Payment declined", "Address could not be verified", "Fraud check failed")


def seeded(seed: int, start: int) -> random.Random:
    """The generator for a run: the same seed and start give the same stream; another start, other ids.

    Event ids come from the generator, so a rerun with the same seed but another start does not reuse ids
    with different bodies (which hookline refuses with 409); a rerun with both the same is an idempotent
    replay.
    """
    return random.Random(f"{seed}:{start}")


@dataclass(frozen=True, slots=True)
class Upsert:
    """A platform object to store (``POST /v1/objects``) before the events that mention it."""

    kind: str  # customer, subscription, order, item, address, payment, product
    public_id: str
    data: JSON

    def body(self) -> JSON:
        return {"kind": self.kind, "public_id": self.public_id, "data": self.data}


@dataclass(frozen=True, slots=True)
class SimEvent:
    """A platform event, as ``POST /v1/events`` takes it."""

    id: str
    type: str
    created: int
    object: JSON
    context: JSON | None = None

    def body(self) -> JSON:
        body: JSON = {
            "id": self.id,
            "type": self.type,
            "created": self.created,
            "data": {"object": self.object},
        }
        if self.context is not None:
            body["context"] = self.context
        return body


@dataclass(frozen=True, slots=True)
class Step:
    """One happening: the objects it touched (their state after it), then the events it fired, in order."""

    at: int
    what: str
    objects: tuple[Upsert, ...]
    events: tuple[SimEvent, ...]


class _Draft:
    """A step being built: the events so far and the objects to upsert at the end."""

    def __init__(
        self, sim: Simulation, what: str, touched: dict[tuple[str, str], None] | None = None
    ) -> None:
        self.sim = sim
        self.what = what
        self.events: list[SimEvent] = []
        self.touched: dict[tuple[str, str], None] = dict(touched or {})

    def touch(self, kind: str, public_id: str) -> None:
        self.touched[(kind, public_id)] = None

    def emit(self, kind: str, obj: JSON, context: JSON | None = None) -> None:
        self.events.append(SimEvent(self.sim.hex_id(), kind, self.sim.now, obj, context))

    def finish(self) -> Step:
        objects = tuple(Upsert(k, i, self.sim.record(k, i)) for k, i in self.touched)
        return Step(self.sim.now, self.what, objects, tuple(self.events))


_Happening = tuple[int, int, str, str, int]  # (at, sequence, kind, object id, order generation)


class Simulation:
    """The program's state and its agenda; ``step()`` advances to the next happening that fires events.

    ``merchant`` is written into the objects' ``merchant`` field; ``customers`` is the active population
    the sign-up rate aims at. The program is not new: ``existing`` customers (default: ``customers``)
    subscribed in the weeks before ``start``, so reminders and placements begin at once. They fired their
    events before the simulation began; their objects come with the first step.
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        merchant: str = "demo",
        start: int = DEFAULT_START,
        customers: int = 20,
        existing: int | None = None,
    ) -> None:
        self.rng = rng
        self.merchant = merchant
        self.start = start
        self.now = start
        self.target_customers = max(1, customers)
        self.customers: dict[str, Customer] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.orders: dict[str, Order] = {}
        self.items: dict[str, Item] = {}
        self._owner: dict[str, str] = {}  # address and payment ids → customer id
        self._open: dict[str, list[str]] = {}  # customer id → unsent order ids
        self._published: set[str] = set()  # product skus already upserted
        self._agenda: list[_Happening] = []
        self._sequence = 0
        self._order_number = 1000
        self._handlers: dict[str, Callable[[_Draft, str, int], None]] = {
            "signup": self._signup,
            "remind": self._remind,
            "skip": self._skip,
            "place": self._place,
            "change": self._change,
        }
        self._backlog = self._existing(self.target_customers if existing is None else existing)
        self._schedule(start, "signup", "")

    # --- the public surface ---------------------------------------------------------------------------

    def step(self) -> Step:
        """Run happenings until one fires an event; its step."""
        while True:
            at, _, kind, ref, generation = heapq.heappop(self._agenda)
            self.now = max(self.now, at)
            draft = _Draft(self, kind, self._backlog)
            self._handlers[kind](draft, ref, generation)
            if draft.events:
                self._backlog = {}
                return draft.finish()

    def steps(self) -> Iterator[Step]:
        while True:
            yield self.step()

    def events(self, count: int) -> list[SimEvent]:
        """The next ``count`` events (objects left out): for tests and previews."""
        found: list[SimEvent] = []
        while len(found) < count:
            found.extend(self.step().events)
        return found[:count]

    def hex_id(self, length: int = 32) -> str:
        return f"{self.rng.getrandbits(length * 4):0{length}x}"

    def record(self, kind: str, public_id: str) -> JSON:
        """The current platform object ``kind``/``public_id``, as hookline stores it for snapshots."""
        m = self.merchant
        if kind == "customer":
            return world.customer_record(m, self.customers[public_id])
        if kind == "address":
            return world.address_record(self.customers[self._owner[public_id]])
        if kind == "payment":
            return world.payment_record(self.customers[self._owner[public_id]])
        if kind == "product":
            return world.product_record(m, world.PRODUCT_BY_SKU[public_id], self.start)
        if kind == "subscription":
            s = self.subscriptions[public_id]
            return world.subscription_record(m, self.customers[s.customer], s)
        if kind == "order":
            o = self.orders[public_id]
            return world.order_record(m, o, self.customers[o.customer], self._items_of(o))
        return world.item_record(self.items[public_id])

    # --- agenda and helpers ---------------------------------------------------------------------------

    def _schedule(self, at: int, kind: str, ref: str, generation: int = 0) -> None:
        self._sequence += 1
        heapq.heappush(self._agenda, (at, self._sequence, kind, ref, generation))

    def _after_days(self, mean_days: float) -> int:
        return max(self.now, self.start) + max(60, int(self.rng.expovariate(1.0 / mean_days) * DAY))

    def _pick(self, choices: tuple[Any, ...] | list[Any]) -> Any:
        return choices[self.rng.randrange(len(choices))]

    def _items_of(self, order: Order) -> list[Item]:
        return [self.items[i] for i in order.items]

    def _year(self) -> int:
        return int(samples.day(self.start)[:4])

    def _midnight(self, ts: int) -> int:
        return ts - ts % DAY

    def _live_customers(self) -> int:
        return sum(1 for c in self.customers.values() if c.live)

    def _emit_subscription(
        self, draft: _Draft, kind: str, s: Subscription, context: JSON | None = None
    ) -> None:
        customer = self.customers[s.customer]
        draft.touch("subscription", s.id)
        obj = world.subscription_object(self.merchant, customer, s)
        draft.emit(kind, self._one_click(kind, obj), context)

    def _emit_order(self, draft: _Draft, kind: str, order: Order) -> None:
        order.updated = self.now
        customer = self.customers[order.customer]
        draft.touch("order", order.id)
        obj = world.order_object(self.merchant, order, customer, self._items_of(order))
        draft.emit(kind, self._one_click(kind, obj))

    def _one_click(self, kind: str, obj: JSON) -> JSON:
        """The object with a 1-Click token when events of ``kind`` carry one (only in that event)."""
        if samples.ONE_CLICK_TOKEN in catalog.secrets_carried(kind):
            obj[samples.ONE_CLICK_TOKEN] = samples.one_click_token(obj["public_id"], self.now)
        return obj

    def _emit_item(self, draft: _Draft, kind: str, item: Item) -> None:
        draft.touch("item", item.id)
        draft.emit(kind, world.item_object(self.merchant, item))

    # --- sign-ups and subscriptions -------------------------------------------------------------------

    def _new_customer(self, draft: _Draft) -> Customer:
        first, last = self._pick(FIRST_NAMES), self._pick(LAST_NAMES)
        city, state, zip_prefix = self._pick(PLACES)
        customer_id = str(self.rng.randrange(10**9, 10**10))
        customer = Customer(
            id=customer_id,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.{customer_id[-4:]}@example.com".lower(),
            phone_number=f"+1555{self.rng.randrange(10**7):07d}",
            city=city,
            state=state,
            zip_code=f"{zip_prefix}{self.rng.randrange(100):02d}",
            street=f"{self.rng.randrange(1, 9999)} {self._pick(STREETS)}",
            address_id=self.hex_id(),
            payment_id=self.hex_id(),
            card_ending=f"{self.rng.randrange(10**4):04d}",
            card_type=self._pick(CARDS),
            card_expiry=f"{self.rng.randrange(1, 13):02d}/{self._year() + 1 + self.rng.randrange(4)}",
            session_id=f"{self.hex_id(20)}.{self.rng.randrange(10**6)}.{self.now}",
            created=self.now,
            updated=self.now,
        )
        self.customers[customer.id] = customer
        self._owner[customer.address_id] = customer.id
        self._owner[customer.payment_id] = customer.id
        draft.touch("customer", customer.id)
        draft.touch("address", customer.address_id)
        draft.touch("payment", customer.payment_id)
        return customer

    def _new_subscription(self, draft: _Draft, customer: Customer, sku: str) -> Subscription:
        """A live subscription (stored, its change scheduled); the caller announces it."""
        if sku not in self._published:
            self._published.add(sku)
            draft.touch("product", sku)
        s = Subscription(
            id=self.hex_id(),
            customer=customer.id,
            sku=sku,
            quantity=1 if self.rng.random() < 0.7 else 2,
            frequency=self._pick(world.FREQUENCIES),
            reminder_days=self._pick((5, 5, 7)),
            offer=self.hex_id(),
            merchant_order_id=f"WEB-{self.rng.randrange(10**6, 10**7)}",
            session_id=customer.session_id,
            created=self.now,
            updated=self.now,
        )
        self.subscriptions[s.id] = s
        customer.subscriptions.append(s.id)
        draft.touch("subscription", s.id)
        self._schedule(self._after_days(MEAN_DAYS_BETWEEN_CHANGES), "change", s.id)
        return s

    def _start_subscription(self, draft: _Draft, s: Subscription) -> None:
        """``subscription.create``, then the item in its first recurring order."""
        self._emit_subscription(draft, "subscription.create", s, {"source": "PurchasePOST"})
        self._add_to_order(draft, s, self._midnight(self.now) + s.frequency[0] * DAY)

    def _existing(self, count: int) -> dict[tuple[str, str], None]:
        """Customers who subscribed before ``start``, each with an order due some days after it: the
        objects to upsert (their events fired before the simulation began, so none is sent)."""
        draft = _Draft(self, "existing")
        for _ in range(count):
            self.now = self.start - self.rng.randrange(1, 60) * DAY - self.rng.randrange(DAY)
            customer = self._new_customer(draft)
            for product in self.rng.sample(world.PRODUCTS, 2 if self.rng.random() < 0.25 else 1):
                s = self._new_subscription(draft, customer, product.sku)
                days = self.rng.randrange(s.reminder_days + 1, s.frequency[0] + 1)
                self._add_to_order(draft, s, self._midnight(self.start) + days * DAY)
        self.now = self.start
        return draft.touched

    def _signup(self, draft: _Draft, _ref: str, _generation: int) -> None:
        customer = self._new_customer(draft)
        count = 2 if self.rng.random() < 0.25 else 1
        subscriptions = [
            self._new_subscription(draft, customer, p.sku) for p in self.rng.sample(world.PRODUCTS, count)
        ]
        # The first subscription: subscriber.create names it, and fires once per customer.
        first = world.subscriber_object(self.merchant, customer, subscription=subscriptions[0].id)
        draft.emit("subscriber.create", first)
        for s in subscriptions:
            self._start_subscription(draft, s)
        busy = self._live_customers() >= self.target_customers
        self._schedule(self._after_days(3.0 if busy else 0.4), "signup", "")

    # --- orders ---------------------------------------------------------------------------------------

    def _add_to_order(self, draft: _Draft, s: Subscription, place: int) -> None:
        """Put ``s``'s next item in the customer's unsent order for ``place``, creating it if needed."""
        order = self._open_order(s.customer, place)
        created = order is None
        if order is None:
            order = self._new_order(s.customer, place)
        item = Item(
            id=self.hex_id(),
            order=order.id,
            subscription=s.id,
            customer=s.customer,
            sku=s.sku,
            quantity=s.quantity,
            offer=s.offer,
            created=self.now,
        )
        self.items[item.id] = item
        order.items.append(item.id)
        s.order = order.id
        if created:  # an order is created when its first line item is added
            self._emit_order(draft, "order.create", order)
            self._plan(order, s.reminder_days)
        else:
            self._emit_order_change(draft, order)
        self._emit_item(draft, "item.create", item)

    def _emit_order_change(self, draft: _Draft, order: Order) -> None:
        """The order's totals changed without an event of its own: only its record is upserted."""
        order.updated = self.now
        draft.touch("order", order.id)

    def _open_order(self, customer_id: str, place: int) -> Order | None:
        for order_id in self._open.get(customer_id, []):
            if self.orders[order_id].place == place:
                return self.orders[order_id]
        return None

    def _new_order(self, customer_id: str, place: int) -> Order:
        order = Order(id=self.hex_id(), customer=customer_id, place=place, created=self.now, updated=self.now)
        self.orders[order.id] = order
        self._open.setdefault(customer_id, []).append(order.id)
        return order

    def _plan(self, order: Order, reminder_days: int) -> None:
        """The order's reminder (unless its time has passed) and its placement."""
        remind_at = order.place - reminder_days * DAY + REMINDER_HOUR
        if remind_at > self.now:
            self._schedule(remind_at, "remind", order.id, order.generation)
        self._schedule(max(self.now + 60, order.place + PLACEMENT_HOUR), "place", order.id, order.generation)

    def _close(self, order: Order) -> None:
        """The order will not be placed (again): later happenings for it are void."""
        order.generation += 1
        opened = self._open.get(order.customer, [])
        if order.id in opened:
            opened.remove(order.id)

    def _current(self, order_id: str, generation: int, *statuses: int) -> Order | None:
        """The order, if a happening planned at ``generation`` still applies to it."""
        order = self.orders[order_id]
        if order.generation != generation or order.status not in statuses or not order.items:
            return None
        return order

    def _remind(self, draft: _Draft, order_id: str, generation: int) -> None:
        order = self._current(order_id, generation, OrderStatus.UNSENT)
        if order is None:
            return
        self._emit_order(draft, "order.reminder", order)
        if self.rng.random() < P_SKIP_AFTER_REMINDER:
            self._schedule(self.rng.randrange(self.now + 3600, order.place), "skip", order.id, generation)

    def _skip(self, draft: _Draft, order_id: str, generation: int) -> None:
        order = self._current(order_id, generation, OrderStatus.UNSENT)
        if order is None:
            return
        order.status = OrderStatus.CANCELLED
        order.cancelled = self.now
        self._close(order)
        self._emit_order(draft, "order.skip_order", order)
        self._renew(draft, order)

    def _place(self, draft: _Draft, order_id: str, generation: int) -> None:
        order = self._current(order_id, generation, OrderStatus.UNSENT, OrderStatus.GENERIC_ERROR)
        if order is None:
            return
        roll = self.rng.random()
        if roll < P_OUT_OF_STOCK:
            self._out_of_stock(draft, order)
            if order.items:
                self._succeed(draft, order)
        elif roll < P_GENERIC_ERROR:
            self._generic_error(draft, order)
        elif roll < P_REJECT:
            order.rejected_message = self._pick(REJECTIONS)
            self._conclude(draft, order, OrderStatus.REJECTED, "order.reject")
            self._renew(draft, order)
        else:
            self._succeed(draft, order)

    def _conclude(self, draft: _Draft, order: Order, status: int, kind: str) -> None:
        """A final placement answer: the order is done with."""
        order.status = status
        order.tries += 1
        if status == OrderStatus.CANCELLED:
            order.cancelled = self.now
        self._close(order)
        self._emit_order(draft, kind, order)

    def _succeed(self, draft: _Draft, order: Order) -> None:
        self._order_number += 1
        order.order_merchant_id = f"DCC-{self._order_number}"
        self._conclude(draft, order, OrderStatus.SUCCESS, "order.success")
        for item in self._items_of(order):
            if item.first_placed is None:
                item.first_placed = self.now
            self.subscriptions[item.subscription].iteration += 1
            draft.touch("subscription", item.subscription)
            self._emit_item(draft, "item.successfully_placed", item)
        self._renew(draft, order)

    def _generic_error(self, draft: _Draft, order: Order) -> None:
        """Code 999: tried again the next day; after the last try, the platform says cancel (030)."""
        if order.generic_error_count >= MAX_GENERIC_ERRORS:
            self._conclude(draft, order, OrderStatus.CANCELLED, "order.cancel")
            self._renew(draft, order)
            return
        order.status = OrderStatus.GENERIC_ERROR
        order.tries += 1
        order.generic_error_count += 1
        self._emit_order(draft, "order.generic_error", order)
        self._schedule(self.now + DAY, "place", order.id, order.generation)

    def _out_of_stock(self, draft: _Draft, order: Order) -> None:
        """One item lacks stock: it moves to an order placed the next day (dropped after a few tries)."""
        item = self.items[self._pick(order.items)]
        order.items.remove(item.id)
        draft.touch("order", order.id)
        if not order.items:
            self._close(order)
        s = self.subscriptions[item.subscription]
        if item.out_of_stock >= MAX_OUT_OF_STOCK:  # deleted, and no event fires for that
            s.order = None
            self._add_to_order(draft, s, order.place + s.frequency[0] * DAY)
            return
        item.out_of_stock += 1
        place = self._midnight(self.now) + DAY
        moved_to = self._open_order(order.customer, place)
        created = moved_to is None
        if moved_to is None:
            moved_to = self._new_order(order.customer, place)
        moved_to.items.append(item.id)
        item.order = s.order = moved_to.id
        if created:
            self._emit_order(draft, "order.create", moved_to)
            self._plan(moved_to, s.reminder_days)
        else:
            self._emit_order_change(draft, moved_to)
        self._emit_item(draft, "item.out_of_stock", item)

    def _renew(self, draft: _Draft, order: Order) -> None:
        """The next order of each live subscription whose upcoming order this was."""
        for item in self._items_of(order):
            s = self.subscriptions[item.subscription]
            if s.live and s.order == order.id:
                s.order = None
                self._add_to_order(draft, s, order.place + s.frequency[0] * DAY)

    # --- the customer changes a subscription ----------------------------------------------------------

    def _change(self, draft: _Draft, subscription_id: str, _generation: int) -> None:
        s = self.subscriptions[subscription_id]
        if not s.live:
            return
        roll = self.rng.random()
        if roll < P_CANCEL:
            self._cancel(draft, s)
            return
        done = (roll < P_CHANGE_QUANTITY and self._change_quantity(draft, s)) or (
            roll >= P_CHANGE_FREQUENCY and self._add_subscription(draft, s)
        )
        if not done:
            self._change_frequency(draft, s)
        self._schedule(self._after_days(MEAN_DAYS_BETWEEN_CHANGES), "change", s.id)

    def _change_quantity(self, draft: _Draft, s: Subscription) -> bool:
        """This once, more or fewer units in the upcoming order (the subscription keeps its quantity)."""
        if s.order is None:
            return False
        item = next(i for i in self._items_of(self.orders[s.order]) if i.subscription == s.id)
        item.quantity = item.quantity + 1 if item.quantity == 1 else item.quantity + self._pick((-1, 1))
        self._emit_item(draft, "item.change_quantity", item)
        self._emit_order_change(draft, self.orders[s.order])
        return True

    def _change_frequency(self, draft: _Draft, s: Subscription) -> None:
        s.frequency = self._pick([f for f in world.FREQUENCIES if f != s.frequency])
        s.updated = self.now
        self._emit_subscription(draft, "subscription.change_frequency", s)

    def _add_subscription(self, draft: _Draft, s: Subscription) -> bool:
        customer = self.customers[s.customer]
        owned = {self.subscriptions[i].sku for i in customer.subscriptions if self.subscriptions[i].live}
        choices = [p.sku for p in world.PRODUCTS if p.sku not in owned]
        if not choices:
            return False
        self._start_subscription(draft, self._new_subscription(draft, customer, self._pick(choices)))
        return True

    def _cancel(self, draft: _Draft, s: Subscription) -> None:
        s.live = False
        s.cancelled = s.updated = self.now
        s.cancel_reason = self._pick(CANCEL_REASONS)
        self._emit_subscription(draft, "subscription.cancel", s)
        if s.order is not None:
            self._remove_item(draft, s, self.orders[s.order])
            s.order = None
        customer = self.customers[s.customer]
        if not any(self.subscriptions[i].live for i in customer.subscriptions):
            customer.live = False
            customer.updated = self.now
            draft.touch("customer", customer.id)
            obj = world.subscriber_object(self.merchant, customer, subscription=s.id)
            draft.emit("subscriber.cancel", obj)

    def _remove_item(self, draft: _Draft, s: Subscription, order: Order) -> None:
        """The cancelled subscription's item leaves its upcoming order; an order left empty is deleted."""
        item = next(i for i in self._items_of(order) if i.subscription == s.id)
        self._emit_item(draft, "item.remove", item)
        order.items.remove(item.id)
        if order.items:
            self._emit_order_change(draft, order)
            return
        order.status = OrderStatus.CANCELLED
        order.cancelled = self.now
        self._close(order)
        self._emit_order(draft, "order.delete", order)
