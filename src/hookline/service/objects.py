"""Platform objects: upserts from the API and from events, and the lookups that enrich payloads.

hookline keeps the latest copy of each object so that a route's ``snapshot`` can carry the customer,
items, addresses... of an event without the receiver calling the platform back. The copy is stored as it
was sent (Ordergroove's field names), whole: an upsert replaces the previous copy.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from hookline import snapshot
from hookline.errors import Invalid, NotFound
from hookline.models import JSON
from hookline.service.context import Context
from hookline.snapshot import Need, Pending, Request
from hookline.storage import objects as store
from hookline.storage.database import Conn
from hookline.storage.records import Row

MAX_BULK = 500
MAX_ID = 100  # the objects.public_id column
MAX_EMAIL = 320  # the objects.email column
# Enrichment needs as many rounds of lookups as its longest chain of hops (a subscriber's subscriptions,
# their payments, the payments' billing addresses: three); the bound only guards the loop.
MAX_ROUNDS = 8


def row(merchant_id: str, kind: str, public_id: str, data: JSON, now: float) -> Row:
    """The stored form of one object; a customer's email is copied out so deliveries can be searched by it,
    and an item's order so that an order's items are found through an index."""
    return {
        "merchant_id": merchant_id,
        "kind": kind,
        "public_id": public_id,
        "data": data,
        "email": email_key(data.get("email")) if kind == "customer" else None,
        "parent_id": snapshot.parent_id(kind, data),
        "updated": now,
    }


def email_key(value: Any) -> str | None:
    """Emails are matched without regard to case or surrounding blanks."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_EMAIL:
        return None
    return value.strip().lower()


def check(kind: Any, public_id: Any, data: Any, where: str = "") -> tuple[str, str, JSON]:
    """One object as the API received it, or Invalid naming the field at fault."""
    if kind not in snapshot.KINDS:
        raise Invalid(
            f"{where}unknown object kind {kind!r} (one of {', '.join(snapshot.KINDS)})",
            fields={where + "kind": "unknown"},
        )
    if not isinstance(public_id, str) or not 0 < len(public_id) <= MAX_ID:
        raise Invalid(
            f"{where}public_id must be a string of 1 to {MAX_ID} characters",
            fields={where + "public_id": "bad id"},
        )
    if not isinstance(data, dict):
        raise Invalid(
            f"{where}the object's data must be a JSON object", fields={where + "data": "not an object"}
        )
    key_field = snapshot.key_field(kind)
    own = data.get(key_field)
    if own is not None and str(own) != public_id:
        raise Invalid(
            f"{where}data.{key_field} is {own!r} but the object is addressed as {public_id!r}",
            fields={f"{where}data.{key_field}": "does not match public_id"},
        )
    return kind, public_id, data


def unknown_kind(kind: str) -> NotFound:
    return NotFound(f"unknown object kind {kind!r} (one of {', '.join(snapshot.KINDS)})")


async def put(ctx: Context, merchant_id: str, kind: str, public_id: str, data: Any) -> Row:
    if kind not in snapshot.KINDS:
        raise unknown_kind(kind)
    stored = row(merchant_id, *check(kind, public_id, data), ctx.clock())
    await store.put(ctx.db, [stored])
    return stored


async def put_many(ctx: Context, merchant_id: str, items: Any) -> dict[str, Any]:
    """Upsert up to 500 objects: all of them, or (any one invalid) none."""
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BULK:
        raise Invalid(f"objects must be a list of 1 to {MAX_BULK} objects", fields={"objects": "1 to 500"})
    now = ctx.clock()
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        where = f"objects[{i}]."
        if not isinstance(item, dict) or set(item) - {"kind", "public_id", "data"}:
            raise Invalid(
                f"{where[:-1]} must be {{kind, public_id, data}}", fields={where[:-1]: "not an object entry"}
            )
        kind, public_id, data = check(item.get("kind"), item.get("public_id"), item.get("data"), where)
        if (kind, public_id) in seen:
            raise Invalid(f"{where[:-1]}: {kind} {public_id} appears twice", fields={where[:-1]: "duplicate"})
        seen.add((kind, public_id))
        rows.append(row(merchant_id, kind, public_id, data, now))
    await store.put(ctx.db, rows)
    return {"upserted": len(rows), "kinds": dict(Counter(r["kind"] for r in rows))}


async def get(ctx: Context, merchant_id: str, kind: str, public_id: str) -> Row:
    if kind not in snapshot.KINDS:
        raise unknown_kind(kind)
    return await store.get(ctx.db, merchant_id, kind, public_id)


async def involved(
    ctx: Context,
    merchant_id: str,
    requests: Sequence[Request],
    pending: Pending,
    *,
    conn: Conn | None = None,
) -> list[dict[str, dict[str, JSON]]]:
    """For each request, the objects its event involves (kind → id → data), as the event sees the store.

    Lookups are shared by the whole batch: each round asks every event what it still misses and fetches
    all of that at once, so a batch costs a few queries per kind, not a few per event. They run on
    ``conn`` when given (the caller's transaction), else on a read connection of their own.
    """
    known: dict[Need, snapshot.Found] = {}
    walks = [snapshot.walk(r, known, pending) for r in requests]
    if not _missing(walks):
        return [w.found for w in walks]
    async with contextlib.AsyncExitStack() as stack:
        reader = conn if conn is not None else await stack.enter_async_context(ctx.db.read())
        missing = _missing(walks)
        for _ in range(MAX_ROUNDS):
            if not missing:
                break
            known.update(await store.find(reader, merchant_id, missing))
            # A walk that missed nothing is complete: only the others go one step further.
            walks = [
                snapshot.walk(r, known, pending) if w.missing else w
                for r, w in zip(requests, walks, strict=True)
            ]
            missing = _missing(walks)
    return [w.found for w in walks]


def _missing(walks: Sequence[snapshot.Walk]) -> set[Need]:
    return set().union(*(w.missing for w in walks))
