"""Ordergroove's own webhook API (``/webhook_targets``): targets with filters, as one route each.

A target created here gets one managed route (flagged ``ordergroove``, named "Ordergroove target <id>"):
the target's filters decide the route's event types, its ``enabled`` flag the route's state, and deleting
the target deletes the route. The route's event types are the route patterns of all the filters
(``filter_patterns``: ``order.*|item.create`` gives ``order.*`` and ``item.create``), recomputed in the
transaction of every filter change; with no filter at all the route takes every event type (``*``), our
choice where Ordergroove documents nothing. Targets and routes made through ``/v1`` are not touched, and do
not appear here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from hookline.core import filter_patterns, ids
from hookline.core.errors import Conflict, Invalid, NotFound
from hookline.core.models import EventFilter, RouteState, Target
from hookline.service import metrics, routes, targets
from hookline.service.context import Context
from hookline.storage import filters as store
from hookline.storage import routes as route_store

ROUTE_NAME: Final = "Ordergroove target {}"
ALL_EVENTS: Final = ("*",)
MAX_EVENT_TYPES: Final = 100  # as a /v1 route may have
MAX_PAGE: Final = 1_000_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    has_next: bool


# ---- patterns ------------------------------------------------------------------------------------------


def event_types_for(patterns: list[str]) -> list[str]:
    """The route patterns of a target's filter patterns (``filter_patterns``); every event type (``*``)
    without any. At most ``MAX_EVENT_TYPES``, so matching an event against a route stays cheap."""
    if not patterns:
        return list(ALL_EVENTS)
    found: dict[str, None] = {}
    for pattern in patterns:
        found.update(dict.fromkeys(filter_patterns.compile_pattern(pattern)))
    if len(found) > MAX_EVENT_TYPES:
        raise Invalid(
            f"a target's filters may name at most {MAX_EVENT_TYPES} event types and wildcards in all",
            fields={"pattern": "too many event types"},
        )
    return list(found)


# ---- targets ---------------------------------------------------------------------------------------------


async def create_target(ctx: Context, merchant_id: str, url: object, enabled: bool = True) -> Target:
    """A target and its route. The route is born disabled and made active and managed in one step, so a
    crash in between leaves a route that delivers nothing rather than one taking every event."""
    target = await targets.create(ctx, merchant_id, url, enabled)
    route = await routes.create(
        ctx,
        merchant_id,
        {
            "name": ROUTE_NAME.format(target.id),
            "target_id": target.id,
            "event_types": list(ALL_EVENTS),
            "state": RouteState.DISABLED,
        },
    )
    state = RouteState.ACTIVE if enabled else RouteState.DISABLED
    await store.mark_managed(ctx.db, merchant_id, route.id, state.value)
    return target


async def get_target(ctx: Context, merchant_id: str, target_id: str) -> Target:
    return targets.shown(await store.get_target(ctx.db, merchant_id, target_id))


def _offset(number: int, size: int) -> int:
    if not 1 <= number <= MAX_PAGE:
        raise NotFound("Invalid page.")
    return (number - 1) * size


def _page(rows: list[T], number: int, size: int) -> Page[T]:
    if number > 1 and not rows:
        raise NotFound("Invalid page.")  # as Django REST framework answers a page past the end
    return Page(rows[:size], len(rows) > size)


async def target_page(ctx: Context, merchant_id: str, number: int, size: int) -> Page[Target]:
    rows = await store.targets_page(ctx.db, merchant_id, _offset(number, size), size + 1)
    return _page([targets.shown(row) for row in rows], number, size)


async def update_target(
    ctx: Context, merchant_id: str, target_id: str, url: object = None, enabled: bool | None = None
) -> Target:
    """Change the URL or ``enabled``; disabling also disables the route (its pending deliveries are
    canceled, as Ordergroove documents for disabling), enabling makes a disabled route active again."""
    route = await store.get_route(ctx.db, merchant_id, target_id)
    row = await targets.update(ctx, merchant_id, target_id, url, enabled)
    if enabled is False and route.state != RouteState.DISABLED:
        await routes.set_state(ctx, merchant_id, route.id, RouteState.DISABLED)
    elif enabled and route.state == RouteState.DISABLED:
        await routes.set_state(ctx, merchant_id, route.id, RouteState.ACTIVE)
    return row


async def delete_target(ctx: Context, merchant_id: str, target_id: str) -> None:
    """Delete the target, its route (canceling its pending and held deliveries) and its filters."""
    route = await store.get_route(ctx.db, merchant_id, target_id)
    others = [r for r in await route_store.using_target(ctx.db, merchant_id, target_id) if r != route.id]
    if others:
        raise Conflict(f"target {target_id} is also used by route(s) {', '.join(others)}; delete those first")
    await routes.delete(ctx, merchant_id, route.id)
    await store.remove_filters(ctx.db, merchant_id, target_id)
    await targets.delete(ctx, merchant_id, target_id)


async def rotate_key(ctx: Context, merchant_id: str, target_id: str) -> targets.LiveKeys:
    await store.get_target(ctx.db, merchant_id, target_id)
    target = await targets.rotate(ctx, merchant_id, target_id)
    return targets.live_keys(target, ctx.clock())


async def target_metrics(ctx: Context, merchant_id: str, target_id: str) -> dict[str, int]:
    """The route's 30-day counters under Ordergroove's names; a held delivery is still pending delivery."""
    route = await store.get_route(ctx.db, merchant_id, target_id)
    found = await metrics.counts(ctx, merchant_id, route.id)
    return {
        "failed": found.get("failed", 0),
        "successful": found.get("successful", 0),
        "successful_retries": found.get("successful_retries", 0),
        "pending_delivery": found.get("pending", 0) + found.get("held", 0),
    }


# ---- filters ---------------------------------------------------------------------------------------------


async def filter_page(
    ctx: Context, merchant_id: str, target_id: str, number: int, size: int
) -> Page[EventFilter]:
    offset = _offset(number, size)
    await store.get_target(ctx.db, merchant_id, target_id)
    rows = await store.filters_page(ctx.db, merchant_id, target_id, offset, size + 1)
    return _page(rows, number, size)


async def get_filter(ctx: Context, merchant_id: str, target_id: str, filter_id: str) -> EventFilter:
    async with ctx.db.read() as conn:
        await store.route_of(conn, merchant_id, target_id)
        return await store.fetch_filter(conn, merchant_id, target_id, filter_id)


async def create_filter(ctx: Context, merchant_id: str, target_id: str, pattern: Any) -> EventFilter:
    await store.get_target(ctx.db, merchant_id, target_id)  # an unknown target is 404 before a bad pattern
    filter_patterns.compile_pattern(pattern)
    now = ctx.clock()
    made = EventFilter(ids.new("flt", now=now), merchant_id, target_id, pattern, now)
    async with ctx.db.write() as conn:
        route = await store.route_of(conn, merchant_id, target_id, lock=True)
        await store.add_filter(conn, made)
        await store.recompute(conn, merchant_id, target_id, route.id, event_types_for, now)
    return made


async def update_filter(
    ctx: Context, merchant_id: str, target_id: str, filter_id: str, pattern: Any = None
) -> EventFilter:
    if pattern is None:
        return await get_filter(ctx, merchant_id, target_id, filter_id)
    await get_filter(ctx, merchant_id, target_id, filter_id)
    filter_patterns.compile_pattern(pattern)
    now = ctx.clock()
    async with ctx.db.write() as conn:
        route = await store.route_of(conn, merchant_id, target_id, lock=True)
        row = await store.set_pattern(conn, merchant_id, target_id, filter_id, pattern)
        await store.recompute(conn, merchant_id, target_id, route.id, event_types_for, now)
    return row


async def delete_filter(ctx: Context, merchant_id: str, target_id: str, filter_id: str) -> None:
    """Remove a filter; the last one gone, the target takes every event type again."""
    now = ctx.clock()
    async with ctx.db.write() as conn:
        route = await store.route_of(conn, merchant_id, target_id, lock=True)
        await store.remove_filter(conn, merchant_id, target_id, filter_id)
        await store.recompute(conn, merchant_id, target_id, route.id, event_types_for, now)
