"""Ordergroove's own webhook API (``/webhook_targets``): targets with regex filters, as one route each.

A target created here gets one managed route (flagged ``ordergroove``, named "Ordergroove target <id>"):
the target's filters decide the route's event types, its ``enabled`` flag the route's state, and deleting
the target deletes the route. The route's event types are the catalogue event types matched by any of
the filters, recomputed in the transaction of every filter change; with no filter at all the route takes
every event type (``*``), our choice where Ordergroove documents nothing. Targets and routes made through
``/v1`` are not touched, and do not appear here.

Filter patterns are regular expressions matched anchored (``re.fullmatch``): ``order.*`` selects
``order.success`` but never ``suborder.x``. They are only ever matched against catalogue names, once,
when saved; deliveries use the stored event types.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from typing import Any, Final

from hookline import catalog, ids
from hookline.errors import Conflict, Invalid, NotFound
from hookline.models import RouteState
from hookline.service import metrics, routes, targets
from hookline.service.context import Context
from hookline.storage import filters as store
from hookline.storage import routes as route_store
from hookline.storage.records import Row

ROUTE_NAME: Final = "Ordergroove target {}"
ALL_EVENTS: Final = ("*",)
MAX_PATTERN: Final = 500
MAX_PAGE: Final = 1_000_000

# Pattern cost. Python's regex engine backtracks, so a pattern such as ``(.*)*x`` takes exponential time
# even on a 40-character event type, and ``.*.*.*.*.*.*x`` polynomial time of a high degree; either would
# hold the event loop. Patterns are therefore refused when a repeated group itself repeats or alternates,
# or when the product of their choice points (a wildcard counts as WIDE: no event type is longer) is above
# MAX_COST, which still allows three wildcards in a row (or sixteen optional characters): milliseconds.
WIDE: Final = 50
MAX_COST: Final = WIDE**3


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]
    has_next: bool


# ---- patterns --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # atom, open, close, alt, quant
    low: int = 1
    high: int | None = 1  # None: unbounded


_ATOM = _Token("atom")
_SINGLE = {"(": _Token("open"), ")": _Token("close"), "|": _Token("alt")}
_QUANTIFIERS = {"*": _Token("quant", 0, None), "+": _Token("quant", 1, None), "?": _Token("quant", 0, 1)}
_BRACES = re.compile(r"\{(\d*)(,?)(\d*)\}")


def _class_end(pattern: str, i: int) -> int:
    """The index after the ``]`` closing the character class opened at ``i`` (the pattern compiles)."""
    j = i + 1
    j += pattern.startswith("^", j)
    j += pattern.startswith("]", j)
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


def _braces(pattern: str, i: int) -> tuple[_Token, int]:
    found = _BRACES.match(pattern, i)
    if found is None or not (found[1] or found[2]):
        return _ATOM, i + 1  # a literal "{"
    low = int(found[1] or 0)
    high = int(found[3]) if found[3] else (None if found[2] else low)
    return _Token("quant", low, high), found.end()


def _token(pattern: str, i: int, after_quant: bool) -> tuple[_Token | None, int]:
    """The token at ``i`` (None for a comment or a lazy/possessive mark) and the index after it."""
    char = pattern[i]
    if char == "\\":
        return _ATOM, i + 2
    if char == "[":
        return _ATOM, _class_end(pattern, i)
    if pattern.startswith("(?#", i):
        end = pattern.find(")", i)
        return None, (len(pattern) if end < 0 else end + 1)
    if pattern.startswith("(?", i):
        return _SINGLE["("], i + 2
    if char in _QUANTIFIERS:
        return (None if after_quant else _QUANTIFIERS[char]), i + 1
    if char == "{":
        return _braces(pattern, i)
    return _SINGLE.get(char, _ATOM), i + 1


def _tokens(pattern: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(pattern):
        token, i = _token(pattern, i, bool(found) and found[-1].kind == "quant")
        if token is not None:
            found.append(token)
    return found


def _repeat(unit: int, quant: _Token) -> int:
    if quant.high is not None and quant.high <= 1:
        return unit + quant.high - quant.low  # optional: one more way
    if unit > 1:
        raise Invalid(
            "the pattern repeats a group that itself repeats or has alternatives (as in (a+)+), "
            "which can take exponential time to match; write the event types out instead",
            fields={"pattern": "nested repetition"},
        )
    return WIDE if quant.high is None else min(quant.high - quant.low + 1, WIDE)


def _cost(tokens: list[_Token], i: int) -> tuple[int, int]:
    """Choice points of the alternatives from ``i`` to the group's end: (cost, index of its ``close``)."""
    total, run = 0, 1
    while i < len(tokens) and tokens[i].kind != "close":
        if tokens[i].kind == "alt":
            total, run, i = total + run, 1, i + 1
            continue
        unit = 1
        if tokens[i].kind == "open":
            unit, i = _cost(tokens, i + 1)
        i += 1
        if i < len(tokens) and tokens[i].kind == "quant":
            unit, i = _repeat(unit, tokens[i]), i + 1
        run = min(run * unit, MAX_COST + 1)
    return min(total + run, MAX_COST + 1), i


def pattern_cost(pattern: str) -> int:
    """How many ways, at most, the engine may try to match a (compiling) pattern; Invalid if exponential."""
    tokens = _tokens(pattern)
    total, i = 1, 0
    while i < len(tokens):  # more than one round only past a stray ")": then be pessimistic, multiply
        cost, i = _cost(tokens, i)
        total, i = min(total * cost, MAX_COST + 1), i + 1
    return total


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set" and the like: ambiguous, so refused
            return re.compile(pattern)
    except (re.error, Warning, OverflowError, RecursionError) as exc:
        raise Invalid(
            f"the pattern is not a valid regular expression: {exc}", fields={"pattern": "invalid regex"}
        ) from None


def selects(pattern: str, event_type: str) -> bool:
    """Anchored, as a whole: ``order.*`` selects ``order.success``, not ``suborder.x``."""
    return re.fullmatch(pattern, event_type) is not None


def event_types_for(patterns: list[str], *, entitlements: bool = False) -> list[str]:
    """The catalogue event types any pattern selects; every event type (``*``) without patterns."""
    if not patterns:
        return list(ALL_EVENTS)
    types = catalog.event_types(entitlements=entitlements)
    return [t.type for t in types if any(selects(p, t.type) for p in patterns)]


def check_pattern(ctx: Context, pattern: Any) -> str:
    """A filter pattern that compiles, is cheap to match and selects at least one catalogue event type."""
    if not isinstance(pattern, str) or not pattern:
        raise Invalid("a filter needs a pattern", fields={"pattern": "required"})
    if len(pattern) > MAX_PATTERN:
        raise Invalid(f"the pattern is longer than {MAX_PATTERN} characters", fields={"pattern": "too long"})
    if _compile(pattern).flags & re.VERBOSE:
        # Its whitespace and comments would blur the cost estimate; event types need neither.
        raise Invalid("verbose patterns ((?x)) are not accepted", fields={"pattern": "verbose"})
    if pattern_cost(pattern) > MAX_COST:
        raise Invalid(
            "the pattern is too costly to match (too many wildcards or alternatives in a row)",
            fields={"pattern": "too complex"},
        )
    if not event_types_for([pattern], entitlements=ctx.entitlements):
        raise Invalid(
            f"the pattern {pattern!r} matches no event type; see GET /v1/event-types",
            fields={"pattern": "matches no event type"},
        )
    return pattern


def _selector(ctx: Context) -> functools.partial[list[str]]:
    return functools.partial(event_types_for, entitlements=ctx.entitlements)


# ---- targets ---------------------------------------------------------------------------------------------


async def create_target(ctx: Context, merchant_id: str, url: object, enabled: bool = True) -> Row:
    """A target and its route. The route is born disabled and made active and managed in one step, so a
    crash in between leaves a route that delivers nothing rather than one taking every event."""
    target = await targets.create(ctx, merchant_id, url, enabled)
    route = await routes.create(
        ctx,
        merchant_id,
        {
            "name": ROUTE_NAME.format(target["id"]),
            "target_id": target["id"],
            "event_types": list(ALL_EVENTS),
            "state": RouteState.DISABLED,
        },
    )
    state = RouteState.ACTIVE if enabled else RouteState.DISABLED
    await store.mark_managed(ctx.db, merchant_id, route["id"], state.value)
    return target


async def get_target(ctx: Context, merchant_id: str, target_id: str) -> Row:
    return await store.get_target(ctx.db, merchant_id, target_id)


def _offset(number: int, size: int) -> int:
    if not 1 <= number <= MAX_PAGE:
        raise NotFound("Invalid page.")
    return (number - 1) * size


def _page(rows: list[Row], number: int, size: int) -> Page:
    if number > 1 and not rows:
        raise NotFound("Invalid page.")  # as Django REST framework answers a page past the end
    return Page(rows[:size], len(rows) > size)


async def target_page(ctx: Context, merchant_id: str, number: int, size: int) -> Page:
    rows = await store.targets_page(ctx.db, merchant_id, _offset(number, size), size + 1)
    return _page(rows, number, size)


async def update_target(
    ctx: Context, merchant_id: str, target_id: str, url: object = None, enabled: bool | None = None
) -> Row:
    """Change the URL or ``enabled``; disabling also disables the route (its pending deliveries are
    canceled, as Ordergroove documents for disabling), enabling makes a disabled route active again."""
    route = await store.get_route(ctx.db, merchant_id, target_id)
    row = await targets.update(ctx, merchant_id, target_id, url, enabled)
    if enabled is False and route["state"] != RouteState.DISABLED:
        await routes.set_state(ctx, merchant_id, route["id"], RouteState.DISABLED)
    elif enabled and route["state"] == RouteState.DISABLED:
        await routes.set_state(ctx, merchant_id, route["id"], RouteState.ACTIVE)
    return row


async def delete_target(ctx: Context, merchant_id: str, target_id: str) -> None:
    """Delete the target, its route (canceling its pending and held deliveries) and its filters."""
    route = await store.get_route(ctx.db, merchant_id, target_id)
    others = [r for r in await route_store.using_target(ctx.db, merchant_id, target_id) if r != route["id"]]
    if others:
        raise Conflict(f"target {target_id} is also used by route(s) {', '.join(others)}; delete those first")
    await routes.delete(ctx, merchant_id, route["id"])
    await store.remove_filters(ctx.db, merchant_id, target_id)
    await targets.delete(ctx, merchant_id, target_id)


async def rotate_key(ctx: Context, merchant_id: str, target_id: str) -> Row:
    await store.get_target(ctx.db, merchant_id, target_id)
    row = await targets.rotate(ctx, merchant_id, target_id)
    return targets.live_keys(row, ctx.clock())


async def target_metrics(ctx: Context, merchant_id: str, target_id: str) -> dict[str, int]:
    """The route's 30-day counters under Ordergroove's names; a held delivery is still pending delivery."""
    route = await store.get_route(ctx.db, merchant_id, target_id)
    found = await metrics.counts(ctx, merchant_id, route["id"])
    return {
        "failed": found.get("failed", 0),
        "successful": found.get("successful", 0),
        "successful_retries": found.get("successful_retries", 0),
        "pending_delivery": found.get("pending", 0) + found.get("held", 0),
    }


# ---- filters ---------------------------------------------------------------------------------------------


async def filter_page(ctx: Context, merchant_id: str, target_id: str, number: int, size: int) -> Page:
    offset = _offset(number, size)
    await store.get_target(ctx.db, merchant_id, target_id)
    rows = await store.filters_page(ctx.db, merchant_id, target_id, offset, size + 1)
    return _page(rows, number, size)


async def get_filter(ctx: Context, merchant_id: str, target_id: str, filter_id: str) -> Row:
    async with ctx.db.read() as conn:
        await store.route_of(conn, merchant_id, target_id)
        return await store.fetch_filter(conn, merchant_id, target_id, filter_id)


async def create_filter(ctx: Context, merchant_id: str, target_id: str, pattern: Any) -> Row:
    await store.get_target(ctx.db, merchant_id, target_id)  # an unknown target is 404 before a bad pattern
    clean = check_pattern(ctx, pattern)
    now = ctx.clock()
    row = {
        "id": ids.new("flt", now=now),
        "merchant_id": merchant_id,
        "target_id": target_id,
        "pattern": clean,
        "created": now,
    }
    async with ctx.db.write() as conn:
        route = await store.route_of(conn, merchant_id, target_id, lock=True)
        await store.add_filter(conn, row)
        await store.recompute(conn, merchant_id, target_id, route["id"], _selector(ctx), now)
    return row


async def update_filter(
    ctx: Context, merchant_id: str, target_id: str, filter_id: str, pattern: Any = None
) -> Row:
    if pattern is None:
        return await get_filter(ctx, merchant_id, target_id, filter_id)
    await get_filter(ctx, merchant_id, target_id, filter_id)
    clean = check_pattern(ctx, pattern)
    now = ctx.clock()
    async with ctx.db.write() as conn:
        route = await store.route_of(conn, merchant_id, target_id, lock=True)
        row = await store.set_pattern(conn, merchant_id, target_id, filter_id, clean)
        await store.recompute(conn, merchant_id, target_id, route["id"], _selector(ctx), now)
    return row


async def delete_filter(ctx: Context, merchant_id: str, target_id: str, filter_id: str) -> None:
    """Remove a filter; the last one gone, the target takes every event type again."""
    now = ctx.clock()
    async with ctx.db.write() as conn:
        route = await store.route_of(conn, merchant_id, target_id, lock=True)
        await store.remove_filter(conn, merchant_id, target_id, filter_id)
        await store.recompute(conn, merchant_id, target_id, route["id"], _selector(ctx), now)
