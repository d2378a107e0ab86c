"""Webhook routes: which event types go to which target, with what payload and delivery settings."""

from __future__ import annotations

import contextlib
from typing import Any

from hookline.core import catalog, ids, routing, transform
from hookline.core.errors import Invalid, NotFound
from hookline.core.models import Changes, Route, RouteState
from hookline.core.ordering import Ordering
from hookline.core.retry import RetryPolicy
from hookline.service import names, operational
from hookline.service.context import Context
from hookline.storage import ordering as ordering_store
from hookline.storage import records
from hookline.storage import routes as route_store

SNAPSHOT_COLUMNS = ("customer", "orders", "items", "addresses", "payments", "subscriptions", "products")
# Ordergroove: order- and item-level data cannot be added to subscriber or subscription events.
FORBIDDEN = {
    ("subscriber", "orders"),
    ("subscriber", "items"),
    ("subscription", "orders"),
    ("subscription", "items"),
} | {("hookline", column) for column in SNAPSHOT_COLUMNS}  # hookline's notices involve no platform object
RESERVED_HEADERS = {
    # hookline's own: the body's type, the client, the signatures and the event id.
    "content-type",
    "user-agent",
    "ordergroove-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "hookline-event-id",
    "hookline-ordering-key",  # an ordered delivery's key and number (``hookline.core.ordering``)
    "hookline-sequence",
    # Framing and hop-by-hop headers: they describe this message and this connection, which the HTTP client
    # builds; one set by hand would make the receiver (or a proxy on the way) read the body differently.
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "trailer",
    "te",
    "connection",
    "keep-alive",
    "upgrade",
    "expect",
    "host",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
}
MAX_HEADER_NAME = 100
MAX_HEADER_VALUE = 4096
# A route's retry settings when it gives none: ``RetryPolicy``'s defaults, written there only.
_POLICY = RetryPolicy()
DEFAULT_RETRY = {
    "initial_interval_s": _POLICY.initial_interval_s,
    "max_interval_s": _POLICY.max_interval_s,
    "max_attempts": _POLICY.max_attempts,
}
LIMITS = {"initial_interval_s": (1.0, 3600.0), "max_interval_s": (1.0, 86400.0), "max_attempts": (1, 200)}
TIMEOUT_LIMITS = (0.5, 30.0)
SHAPING = ("fields_include", "fields_exclude", "transform")  # payload shaping: see hookline.core.transform


def check_snapshot(ctx: Context, snapshot: dict[str, Any], event_types: list[str]) -> dict[str, list[str]]:
    """The snapshot settings, checked against the catalogue, Ordergroove's matrix and the route's
    ``event_types``: a row asking for data for a family the route does not subscribe to would silently
    never apply, so it is refused (an empty row asks for nothing and is let through)."""
    families = catalog.families(entitlements=ctx.entitlements)
    subscribed = {t.partition(".")[0] for t in routing.expand(event_types, entitlements=ctx.entitlements)}
    problems: list[str] = []
    clean: dict[str, list[str]] = {}
    unsubscribed = [f for f, columns in snapshot.items() if columns and f in families and f not in subscribed]
    if unsubscribed:
        problems.append(
            f"the route does not subscribe to {', '.join(unsubscribed)} events "
            f"(its event types: {', '.join(event_types)})"
        )
    for family, columns in snapshot.items():
        if family not in families:
            problems.append(f"unknown event family {family!r}")
            continue
        for column in columns:
            if column not in SNAPSHOT_COLUMNS:
                problems.append(f"{family}: unknown data {column!r} (one of {', '.join(SNAPSHOT_COLUMNS)})")
            elif (family, column) in FORBIDDEN:
                problems.append(f"{family}: {column} cannot be added to {family} events")
        clean[family] = list(dict.fromkeys(columns))
    if problems:
        raise Invalid(
            "invalid snapshot settings: " + "; ".join(problems), fields={"snapshot": "; ".join(problems)}
        )
    return clean


def check_retry(retry: dict[str, Any]) -> dict[str, Any]:
    merged = {**DEFAULT_RETRY, **{k: v for k, v in retry.items() if v is not None}}
    for name, (low, high) in LIMITS.items():
        if not low <= merged[name] <= high:
            raise Invalid(
                f"retry.{name} must be between {low:g} and {high:g}",
                fields={f"retry.{name}": f"between {low:g} and {high:g}"},
            )
    if merged["max_interval_s"] < merged["initial_interval_s"]:
        raise Invalid(
            "retry.max_interval_s must be at least retry.initial_interval_s",
            fields={"retry.max_interval_s": "less than initial_interval_s"},
        )
    return merged


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    """Custom headers as they will be sent: names that are HTTP tokens, not reserved and not repeated (in
    any case); values of visible ASCII, spaces and tabs, without the spaces around them (HTTP ignores those,
    and a value stored as sent reads back the same through the dashboard's form)."""
    bad = [name for name in headers if name.lower() in RESERVED_HEADERS or not _token(name)]
    if bad:
        raise Invalid(f"these headers cannot be set: {', '.join(bad)}", fields={"headers": ", ".join(bad)})
    seen: set[str] = set()
    for name in headers:
        if name.lower() in seen:
            raise Invalid(f"header {name} is given twice", fields={"headers": f"{name} given twice"})
        seen.add(name.lower())
    clean = {}
    for name, value in headers.items():
        problem = _value_problem(value)
        if problem is not None:
            raise Invalid(f"header {name}: {problem}", fields={"headers": f"{name}: {problem}"})
        clean[name] = value.strip(" \t")
    return clean


def _value_problem(value: str) -> str | None:
    if len(value) > MAX_HEADER_VALUE:
        return f"the value is longer than {MAX_HEADER_VALUE} characters"
    for char in value:
        # Not str.isprintable(): it takes non-ASCII letters, and receivers decode those as they please.
        if not (" " <= char <= "~" or char == "\t"):
            return (
                f"the value holds U+{ord(char):04X}; values are visible ASCII characters, spaces and tabs "
                "(line breaks, other controls and non-ASCII characters would be read differently, or as a "
                "new header, by the receiver)"
            )
    return None


def check_shaping(spec: dict[str, Any]) -> Changes:
    """The shaping settings present in ``spec``, checked; ``null`` (or an empty list or text) clears one."""
    values: Changes = {}
    for name in ("fields_include", "fields_exclude"):
        if name in spec:
            values[name] = _check_paths(name, spec[name])
    if "transform" in spec:
        expression = spec["transform"] if spec["transform"] and spec["transform"].strip() else None
        problem = transform.validate(expression) if expression is not None else None
        if problem is not None:
            raise Invalid(f"transform: {problem}", fields={"transform": problem})
        values["transform"] = expression
    return values


def _check_paths(name: str, paths: list[str] | None) -> list[str] | None:
    if not paths:
        return None
    problem = transform.validate_paths(paths, excluding=name == "fields_exclude")
    if problem is not None:
        raise Invalid(f"{name}: {problem}", fields={name: problem})
    return list(dict.fromkeys(paths))


def _token(name: str) -> bool:
    return (
        0 < len(name) <= MAX_HEADER_NAME
        and name.isascii()
        and all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in name)
    )


def check_ordering(ordering: str) -> str:
    """A route's per-key ordering (``hookline.core.ordering``), or Invalid."""
    if ordering not in tuple(Ordering):
        choices = ", ".join(o.value for o in Ordering)
        raise Invalid(f"ordering must be one of {choices}", fields={"ordering": "unknown ordering"})
    return Ordering(ordering).value


def check_timeout(timeout_s: float) -> float:
    low, high = TIMEOUT_LIMITS
    if not low <= timeout_s <= high:
        raise Invalid(
            f"timeout_s must be between {low:g} and {high:g}",
            fields={"timeout_s": f"between {low:g} and {high:g}"},
        )
    return timeout_s


async def _check_target(ctx: Context, merchant_id: str, target_id: str) -> str:
    try:
        await records.get(ctx.db, records.TARGETS, merchant_id, target_id)
    except Exception as exc:
        raise Invalid(f"target {target_id} not found", fields={"target_id": "not found"}) from exc
    return target_id


async def create(ctx: Context, merchant_id: str, spec: dict[str, Any]) -> Route:
    now = ctx.clock()
    retry = check_retry(spec.get("retry") or {})
    event_types = routing.validate_patterns(spec["event_types"], entitlements=ctx.entitlements)
    row = {
        "id": ids.new("rte"),
        "merchant_id": merchant_id,
        "name": names.check(spec["name"], "a route"),
        "target_id": await _check_target(ctx, merchant_id, spec["target_id"]),
        "event_types": event_types,
        "state": RouteState(spec.get("state") or RouteState.ACTIVE).value,
        "snapshot": check_snapshot(ctx, spec.get("snapshot") or {}, event_types),
        "retry_initial_interval_s": retry["initial_interval_s"],
        "retry_max_interval_s": retry["max_interval_s"],
        "retry_max_attempts": retry["max_attempts"],
        "timeout_s": check_timeout(5.0 if spec.get("timeout_s") is None else spec["timeout_s"]),
        "headers": check_headers(spec.get("headers") or {}),
        **check_shaping({name: spec.get(name) for name in SHAPING}),
        **operational.check_auto_halt(spec.get("auto_halt")),
        "ordering": check_ordering(spec.get("ordering") or Ordering.NONE),
        "ordergroove": False,
        "failure_streak": 0,
        "failing_since": None,
        "halted_at": None,
        "halted_reason": None,
        "created": now,
        "updated": now,
        "deleted": None,
    }
    return await records.add(ctx.db, records.ROUTES, row)


async def get(ctx: Context, merchant_id: str, route_id: str) -> Route:
    return await records.get(ctx.db, records.ROUTES, merchant_id, route_id)


async def page(ctx: Context, merchant_id: str, limit: int, cursor: str | None) -> list[Route]:
    return await records.page(ctx.db, records.ROUTES, merchant_id, limit, cursor)


async def update(ctx: Context, merchant_id: str, route_id: str, patch: dict[str, Any]) -> Route:
    current = await get(ctx, merchant_id, route_id)
    values: Changes = {}
    if patch.get("name") is not None:
        values["name"] = names.check(patch["name"], "a route")
    if patch.get("target_id") is not None:
        values["target_id"] = await _check_target(ctx, merchant_id, patch["target_id"])
    if patch.get("event_types") is not None:
        values["event_types"] = routing.validate_patterns(patch["event_types"], entitlements=ctx.entitlements)
    if patch.get("state") is not None:
        values["state"] = RouteState(patch["state"]).value
    if patch.get("snapshot") is not None or "event_types" in values:
        # New event types are checked against the snapshot the route keeps, unless one comes with them.
        snapshot = patch["snapshot"] if patch.get("snapshot") is not None else current.snapshot
        event_types = values.get("event_types", current.event_types)
        values["snapshot"] = check_snapshot(ctx, snapshot, event_types)
    if patch.get("retry") is not None:
        retry = check_retry({**_retry_of(current.retry), **patch["retry"]})
        values.update({f"retry_{k}": v for k, v in retry.items()})
    if patch.get("timeout_s") is not None:
        values["timeout_s"] = check_timeout(patch["timeout_s"])
    if patch.get("headers") is not None:
        values["headers"] = check_headers(patch["headers"])
    if patch.get("ordering") is not None:
        # Deliveries made before keep their keys and numbers; the new setting orders the events from now on.
        values["ordering"] = check_ordering(patch["ordering"])
    values.update(check_shaping({name: patch[name] for name in SHAPING if name in patch}))
    values.update(operational.auto_halt_patch(patch))
    row = await route_store.change(ctx.db, merchant_id, route_id, values, ctx.clock())
    await operational.state_changed(ctx, current, row)
    ctx.wakeup.ring()
    return row


async def set_state(ctx: Context, merchant_id: str, route_id: str, state: RouteState) -> Route:
    before = await get(ctx, merchant_id, route_id)
    row = await route_store.change(ctx.db, merchant_id, route_id, {"state": state.value}, ctx.clock())
    await operational.state_changed(ctx, before, row)
    ctx.wakeup.ring()  # a resumed route has deliveries due now
    return row


async def delete(ctx: Context, merchant_id: str, route_id: str) -> None:
    now = ctx.clock()
    # Disabling first cancels the route's pending and held deliveries and stops new ones (404 if missing).
    await route_store.change(ctx.db, merchant_id, route_id, {"state": RouteState.DISABLED.value}, now)
    async with ctx.db.write() as conn:
        # records.change re-reads the row, which a soft delete has just made invisible: not an error here.
        with contextlib.suppress(NotFound):
            await records.change(conn, records.ROUTES, merchant_id, route_id, {"deleted": now})
        await ordering_store.forget(conn, route_id)  # its numbers: nothing will be numbered on it again


def _retry_of(policy: RetryPolicy) -> dict[str, Any]:
    return {k: getattr(policy, k) for k in DEFAULT_RETRY}
