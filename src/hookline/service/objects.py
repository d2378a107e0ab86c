"""Platform objects: their REST representation and its versions, and the lookups that enrich payloads.

hookline keeps each object so that a route's ``snapshot`` can carry the customer, items, addresses... of an
event without the receiver calling the platform back. It keeps the REST representation (Ordergroove's
field names), which ``/v1/objects`` replaces whole; an event changes only the fields its ``data.object``
has a REST equal of (``representations``). Every change keeps the version it replaced, with the time span
it was valid in, so that a payload built later for an older event shows the objects as they were then.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from hookline.core import representations, snapshot
from hookline.core.errors import Conflict, Invalid, NotFound
from hookline.core.models import JSON, Changes, Event, ObjectVersion
from hookline.core.snapshot import Need, Pending, Request
from hookline.service.context import Context
from hookline.storage import events
from hookline.storage import objects as store
from hookline.storage.database import Conn
from hookline.storage.objects import Key, Stored

MAX_BULK = 500
MAX_ID = 100  # the objects.public_id column
MAX_EMAIL = 320  # the objects.email column
# Enrichment needs as many rounds of lookups as its longest chain of hops (a subscriber's subscriptions,
# their payments, the payments' billing addresses: three); the bound only guards the loop.
MAX_ROUNDS = 8

T = TypeVar("T")
Written = tuple[str, str, float, JSON]  # kind, public_id, valid from, data: one new version of an object


def row(merchant_id: str, kind: str, public_id: str, data: JSON, now: float, valid_from: float) -> Changes:
    """The stored form of one object's current version; a customer's email is copied out so deliveries can
    be searched by it, and an item's order so that an order's items are found through an index."""
    return {
        "merchant_id": merchant_id,
        "kind": kind,
        "public_id": public_id,
        "data": data,
        "email": email_key(data.get("email")) if kind == "customer" else None,
        "parent_id": snapshot.parent_id(kind, data),
        "updated": now,
        "valid_from": valid_from,
    }


def email_key(value: Any) -> str | None:
    """Emails are matched without regard to case or surrounding blanks."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_EMAIL:
        return None
    return value.strip().lower()


def check(kind: Any, public_id: Any, data: Any, where: str = "") -> tuple[str, str, JSON]:
    """One object as the API received it, with its identity field; or Invalid naming the field at fault."""
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
    secret = representations.secrets_in(kind, data)
    if secret:
        raise Invalid(
            f"{where}data.{secret[0]} is event-only (marked secret): hookline never stores it",
            fields={f"{where}data.{name}": "secret, never stored" for name in secret},
        )
    return kind, public_id, representations.with_identity(kind, public_id, data)


def unknown_kind(kind: str) -> NotFound:
    return NotFound(f"unknown object kind {kind!r} (one of {', '.join(snapshot.KINDS)})")


def writes(
    merchant_id: str, stored: Mapping[Key, Stored], written: Sequence[Written], now: float
) -> store.Writes:
    """What storing the new versions ``written`` (in order) over the ``stored`` current ones takes.

    A version equal to the one before it is no version: nothing is written. Each replaced version goes to
    the history, valid until the one after it starts; a version replaced at the moment it started (two
    writes of one time) was never valid and is dropped. Versions follow one another: a clock behind the
    last version's start (another machine's) starts the new one where the last one starts.
    """
    by_key: dict[Key, list[tuple[float, JSON]]] = {}
    for kind, public_id, at, data in written:
        by_key.setdefault((kind, public_id), []).append((at, data))
    out = store.Writes()
    for key, versions in sorted(by_key.items()):
        kind, public_id = key
        old = previous = stored.get(key)
        for at, data in versions:
            if previous is not None and previous.data == data:
                continue
            start = at if previous is None else max(at, previous.valid_from)
            if previous is not None and start > previous.valid_from:
                out.history.append(
                    {
                        "merchant_id": merchant_id,
                        "kind": kind,
                        "public_id": public_id,
                        "valid_from": previous.valid_from,
                        "valid_until": start,
                        "data": previous.data,
                        "parent_id": snapshot.parent_id(kind, previous.data),
                    }
                )
            previous = Stored(data, start, now)
        if previous is not old and previous is not None:
            latest = row(merchant_id, kind, public_id, previous.data, now, previous.valid_from)
            (out.added if old is None else out.changed).append(latest)
    return out


async def put(ctx: Context, merchant_id: str, kind: str, public_id: str, data: Any) -> ObjectVersion:
    """Replace one object's REST representation; the stored object as the API shows it."""
    if kind not in snapshot.KINDS:
        raise unknown_kind(kind)
    kind, public_id, data = check(kind, public_id, data)
    [stored] = await _put(ctx, merchant_id, [(kind, public_id, data)])
    return ObjectVersion(kind, public_id, stored.data, stored.valid_from, updated=stored.updated)


async def put_many(ctx: Context, merchant_id: str, items: Any) -> dict[str, Any]:
    """Upsert up to 500 objects: all of them, or (any one invalid) none."""
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BULK:
        raise Invalid(f"objects must be a list of 1 to {MAX_BULK} objects", fields={"objects": "1 to 500"})
    entries: list[tuple[str, str, JSON]] = []
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
        entries.append((kind, public_id, data))
    await _put(ctx, merchant_id, entries)
    return {"upserted": len(entries), "kinds": dict(Counter(kind for kind, _, _ in entries))}


async def _put(ctx: Context, merchant_id: str, entries: list[tuple[str, str, JSON]]) -> list[Stored]:
    """Store the entries as the objects' new versions in one transaction; each one's current version."""

    async def attempt() -> list[Stored]:
        async with ctx.db.write() as conn:
            now = ctx.clock()
            stored = await store.current(conn, merchant_id, [(k, p) for k, p, _ in entries])
            written = [(k, p, now, data) for k, p, data in entries]
            await store.write(conn, writes(merchant_id, stored, written, now))
        return [_after(stored.get((k, p)), data, now) for k, p, data in entries]

    return await retry_race(attempt)


def _after(old: Stored | None, data: JSON, now: float) -> Stored:
    return old if old is not None and old.data == data else Stored(data, now, now)


async def retry_race(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt`` (one transaction) and, should it lose a race to insert the same new row as another
    transaction (PostgreSQL), once more: it then finds the other's row."""
    try:
        return await attempt()
    except Conflict as exc:
        if not events.is_race(exc):
            raise
    return await attempt()


async def get(ctx: Context, merchant_id: str, kind: str, public_id: str) -> ObjectVersion:
    if kind not in snapshot.KINDS:
        raise unknown_kind(kind)
    return await store.get(ctx.db, merchant_id, kind, public_id)


async def version_at(ctx: Context, merchant_id: str, kind: str, public_id: str, at: float) -> ObjectVersion:
    if kind not in snapshot.KINDS:
        raise unknown_kind(kind)
    return await store.version_at(ctx.db, merchant_id, kind, public_id, at)


def request(event: Event, kinds: frozenset[str], seq: int = 0, at: float | None = None) -> Request:
    """What enriching ``event`` takes: its snapshot shows its own object as the REST representation, the
    one stored (as of ``at``) or, with nothing stored to look up, the REST fields the event gives."""
    family = event.type.partition(".")[0]
    own = representations.rest_update(snapshot.FAMILY_KINDS.get(family, ""), event.object)
    return Request(family, event.object, kinds, seq, own=own or None, at=at)


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
