"""Which platform objects an event involves, and the ``snapshot`` block built from them.

Pure: the service asks :func:`walk` what it still needs to look up, fetches exactly that (one query per
kind and lookup field for a whole batch of events), and asks again until nothing is missing. Every rule
of involvement is one :class:`Hop` in :data:`HOPS`, so ``docs/payloads.md`` and this table say the same
thing. Objects missing from the store are left out, never invented.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hookline.core.models import JSON

KINDS = ("customer", "subscription", "order", "item", "address", "payment", "product")
# The field that holds an object's own id: customers are known by the merchant's user id, products by the
# external product id (the ``product`` of subscriptions and items), everything else by its public id.
KEY_FIELDS = {"customer": "merchant_user_id", "product": "external_product_id"}
# Snapshot keys (the columns of a route's matrix) and the kind of object each holds.
COLUMN_KINDS = {
    "customer": "customer",
    "orders": "order",
    "items": "item",
    "addresses": "address",
    "payments": "payment",
    "subscriptions": "subscription",
    "products": "product",
}
# The kind an event's own ``data.object`` is, by event family.
FAMILY_KINDS = {"subscriber": "customer", "subscription": "subscription", "order": "order", "item": "item"}


@dataclass(frozen=True, slots=True)
class Hop:
    """From each involved ``source`` object, the ``target`` objects its ``field`` names.

    ``via`` reverses the direction: the targets are those whose ``via`` field equals the source's
    ``field`` (an order's items). ``part`` reads one key of each element of a list field (bundle components).
    """

    source: str
    field: str
    target: str
    via: str | None = None
    part: str | None = None


_BILLING = Hop("payment", "billing_address", "address")
_SUBSCRIPTION_DETAILS = (
    Hop("subscription", "product", "product"),
    Hop("subscription", "components", "product", part="product"),
    Hop("subscription", "payment", "payment"),
    Hop("subscription", "shipping_address", "address"),
    _BILLING,
)
_ORDER_DETAILS = (
    Hop("order", "customer", "customer"),
    Hop("order", "payment", "payment"),
    Hop("order", "shipping_address", "address"),
    _BILLING,
)
# Hops run in order, so each one's source objects have been found by the hops before it.
HOPS: Mapping[str, tuple[Hop, ...]] = {
    "subscriber": (
        Hop("customer", "subscription", "subscription"),
        Hop("customer", "subscriptions", "subscription"),
        *_SUBSCRIPTION_DETAILS,
    ),
    "subscription": (Hop("subscription", "customer", "customer"), *_SUBSCRIPTION_DETAILS),
    "order": (
        Hop("order", "public_id", "item", via="order"),
        Hop("item", "subscription", "subscription"),
        Hop("item", "product", "product"),
        Hop("item", "components", "product", part="product"),
        *_ORDER_DETAILS,
    ),
    "item": (
        Hop("item", "order", "order"),
        Hop("item", "customer", "customer"),
        Hop("item", "subscription", "subscription"),
        Hop("item", "product", "product"),
        Hop("item", "components", "product", part="product"),
        *_ORDER_DETAILS,
    ),
    # Entitlement payloads are about one customer; nothing else is documented about them.
    "entitlement": (Hop("entitlement", "customer", "customer"),),
}


# The field by which objects of a kind are looked up in reverse (an order's items: the items whose ``order``
# names it). The object store keeps that field's id in a column of its own, indexed (``parent_id``).
PARENT_FIELDS: Mapping[str, str] = {
    hop.target: hop.via for hops in HOPS.values() for hop in hops if hop.via is not None
}
PARENT_ID_MAX = 100  # the objects.parent_id column; longer ids are names no stored object has


def parent_id(kind: str, obj: JSON) -> str | None:
    """The one id that ``obj``'s parent field names (an item's order); None if there is not exactly one."""
    name = PARENT_FIELDS.get(kind)
    found = _ids(obj.get(name)) if name is not None else []
    return found[0] if len(found) == 1 and len(found[0]) <= PARENT_ID_MAX else None


@dataclass(frozen=True, slots=True)
class Need:
    """One lookup: the object of ``kind`` whose id is ``value``, or (``via``) all whose ``via`` is it;
    the current versions (``at`` None), or those valid at the time ``at`` (epoch seconds)."""

    kind: str
    value: str
    via: str | None = None
    at: float | None = None


Found = tuple[tuple[str, JSON], ...]  # (id, data) pairs, in id order
Known = Mapping[Need, Found]


def key_field(kind: str) -> str:
    return KEY_FIELDS.get(kind, "public_id")


def own_object(family: str, obj: JSON) -> tuple[str, str] | None:
    """(kind, id) under which an event's own object is stored, or None (no kind, or no id to key it)."""
    kind = FAMILY_KINDS.get(family)
    if kind is None:
        return None
    key = obj.get(key_field(kind))
    return (kind, str(key)) if _is_id(key) else None


def kinds_for(columns: Iterable[str]) -> frozenset[str]:
    return frozenset(COLUMN_KINDS[c] for c in columns if c in COLUMN_KINDS)


class Pending:
    """Objects written by the events of one batch: each is visible from its own event on, not before.

    The store is read once for the whole batch; this overlay makes the n-th event see what the events
    before it (and itself) wrote, as if the events had been accepted one by one.
    """

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], list[tuple[int, JSON]]] = {}
        # (kind, field) -> field value -> ids of the objects that had that value in some version
        self._indexes: dict[tuple[str, str], dict[str, set[str]]] = {}

    def add(self, seq: int, kind: str, key: str, data: JSON) -> None:
        self._versions.setdefault((kind, key), []).append((seq, data))
        self._indexes.clear()

    def seen(self, kind: str, key: str, seq: int) -> JSON | None:
        """The latest version written at or before event ``seq``, if any."""
        latest = None
        for at, data in self._versions.get((kind, key), ()):
            if at <= seq:
                latest = data
        return latest

    def matching(self, kind: str, via: str, value: str, seq: int) -> list[tuple[str, JSON]]:
        """The objects of ``kind`` whose ``via`` is ``value`` as event ``seq`` sees them."""
        hits = []
        for key in sorted(self._index(kind, via).get(value, ())):
            data = self.seen(kind, key, seq)
            if data is not None and _ids(data.get(via)) == [value]:
                hits.append((key, data))
        return hits

    def _index(self, kind: str, via: str) -> dict[str, set[str]]:
        # Built once per batch and field: every event of a batch of order events asks for its items.
        index = self._indexes.get((kind, via))
        if index is None:
            index = self._indexes[(kind, via)] = {}
            for (k, key), versions in self._versions.items():
                values = {v for _, data in versions for v in _ids(data.get(via))} if k == kind else set()
                for value in values:
                    index.setdefault(value, set()).add(key)
        return index


@dataclass(frozen=True, slots=True)
class Request:
    """One event to enrich: its family and object, the kinds its routes want, its place in the batch.

    ``obj`` is the event's ``data.object``: the references followed from the event's own object are the
    event's. In the snapshot that object is its REST representation, looked up like any other; ``own`` is
    the REST representation to show when there is none to look up (the object has no id). ``at``: the
    objects as they were at that time (the event's acceptance), for a payload built later; None: as they
    are now (with the batch's own writes, ``Pending``), at acceptance.
    """

    family: str
    obj: JSON
    kinds: frozenset[str]
    seq: int = 0
    own: JSON | None = None
    at: float | None = None


@dataclass(slots=True)
class Walk:
    found: dict[str, dict[str, JSON]] = field(default_factory=dict)  # kind -> id -> data, in order found
    missing: set[Need] = field(default_factory=set)


def walk(request: Request, known: Known, pending: Pending | None = None) -> Walk:
    """The objects involved so far, and the lookups still needed to go further."""
    pending = pending or Pending()
    result = Walk()
    root_kind = FAMILY_KINDS.get(request.family, request.family)
    own = own_object(request.family, request.obj)
    # Hops follow the references the event's object makes; found objects are their stored versions.
    sources: dict[str, dict[str, JSON]] = {root_kind: {own[1] if own else "": request.obj}}
    root = _root(request, own, known, pending, result.missing) if root_kind in request.kinds else {}
    if root:
        result.found[root_kind] = root
    for hop in _needed(HOPS.get(request.family, ()), request.kinds):
        for source in list(sources.get(hop.source, {}).values()):
            for value in _values(source, hop):
                need = Need(hop.target, value, hop.via, request.at)
                hits = _lookup(need, known, pending, request.seq)
                if hits is None:
                    result.missing.add(need)
                    continue
                result.found.setdefault(hop.target, {}).update(hits)
                reached = sources.setdefault(hop.target, {})
                for key, data in hits:
                    reached.setdefault(key, data)
    return result


def _root(
    request: Request, own: tuple[str, str] | None, known: Known, pending: Pending, missing: set[Need]
) -> dict[str, JSON]:
    """The event's own object in the snapshot: its stored REST version, else the REST fields the event
    gives (``request.own``); empty while the lookup is still to be made (added to ``missing``)."""
    if own is not None:
        need = Need(*own, at=request.at)
        stored = _lookup(need, known, pending, request.seq)
        if stored is None:
            missing.add(need)
            return {}
        if stored:
            return dict(stored)
    return {} if request.own is None else {own[1] if own else "": request.own}


def assemble(found: Mapping[str, Mapping[str, JSON]], columns: Iterable[str]) -> JSON:
    """The ``snapshot`` for one route: ``customer`` one object (omitted if unknown), the rest arrays."""
    wanted = set(columns)
    snapshot: JSON = {}
    for column, kind in COLUMN_KINDS.items():
        if column not in wanted:
            continue
        objects = list(found.get(kind, {}).values())
        if column != "customer":
            snapshot[column] = objects
        elif objects:
            snapshot[column] = objects[0]
    return snapshot


def _needed(hops: Sequence[Hop], kinds: frozenset[str]) -> list[Hop]:
    """The hops that lead to a wanted kind, directly or as a step on the way (a payment for its address)."""
    keep: list[Hop] = []
    steps: set[str] = set()
    for hop in reversed(hops):
        if hop.target in kinds or hop.target in steps:
            keep.append(hop)
            steps.add(hop.source)
    return keep[::-1]


def _lookup(need: Need, known: Known, pending: Pending, seq: int) -> list[tuple[str, JSON]] | None:
    """What ``need`` finds as event ``seq`` sees it (the batch's writes over the store); None: unknown yet."""
    if need.via is None:
        data = pending.seen(need.kind, need.value, seq)
        if data is not None:
            return [(need.value, data)]
    if need not in known:
        return None
    hits: dict[str, JSON] = {}
    for key, stored in known[need]:
        newer = pending.seen(need.kind, key, seq)
        data = stored if newer is None else newer
        if need.via is None or _ids(data.get(need.via)) == [need.value]:
            hits[key] = data
    if need.via is not None:
        hits.update(pending.matching(need.kind, need.via, need.value, seq))
    return sorted(hits.items()) if need.via is not None else list(hits.items())


def _values(obj: JSON, hop: Hop) -> list[str]:
    raw = obj.get(hop.field)
    if hop.part is not None:
        raw = [e.get(hop.part) for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []
    return _ids(raw)


def _ids(raw: Any) -> list[str]:
    """The ids a field names: one id, or a list of them; empty strings and other shapes name nothing."""
    values = raw if isinstance(raw, list) else [raw]
    return list(dict.fromkeys(str(v) for v in values if _is_id(v)))


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or (
        isinstance(value, int) and not isinstance(value, bool)
    )
