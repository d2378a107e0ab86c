"""A route's health: its auto-halt settings, and the ``hookline.route.*`` notices of its state changes.

The worker halts a failing route and sends ``hookline.route.halted`` itself, in the transaction that records
the failing attempt (``storage.autohalt``). This module covers the changes made over the API: halting a route
by hand tells the merchant's other subscribed routes (``automatic: false``), and resuming a halted route
sends ``hookline.route.resumed``. Those notices are stored right after the change, in a transaction of their
own: a crash in between loses a notice about something the merchant just did, never a delivery.
"""

from __future__ import annotations

from typing import Any

from hookline.core import catalog
from hookline.core.errors import Invalid
from hookline.core.models import JSON, Changes, Route, RouteState
from hookline.service.context import Context
from hookline.storage import autohalt

AUTO_HALT_LIMITS: dict[str, tuple[float, float]] = {
    "failures": (0, 1_000_000),  # 0: never halt this route
    "window_s": (0.0, 30 * 86400.0),
}


def check_auto_halt(spec: dict[str, Any] | None) -> Changes:
    """The route columns for ``auto_halt``; null (or a missing field) means the operator's default."""
    spec = spec or {}
    unknown = sorted(set(spec) - set(AUTO_HALT_LIMITS))
    if unknown:
        raise Invalid(f"unknown auto_halt field(s): {', '.join(unknown)}", fields={"auto_halt": "unknown"})
    for name, (low, high) in AUTO_HALT_LIMITS.items():
        value = spec.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise Invalid(
                f"auto_halt.{name} must be between {low:g} and {high:g}",
                fields={f"auto_halt.{name}": f"between {low:g} and {high:g}"},
            )
    failures, window_s = spec.get("failures"), spec.get("window_s")
    return {
        "auto_halt_failures": None if failures is None else int(failures),
        "auto_halt_window_s": None if window_s is None else float(window_s),
    }


def auto_halt_patch(patch: dict[str, Any]) -> Changes:
    """The columns a PATCH changes: ``auto_halt`` replaces both settings at once (``{}``: the defaults)."""
    return {} if patch.get("auto_halt") is None else check_auto_halt(patch["auto_halt"])


async def state_changed(ctx: Context, before: Route, after: Route) -> None:
    """Tell the merchant's subscribed routes that a route was halted by hand, or resumed."""
    was, now_state = before.state, after.state
    if was == now_state or after.deleted is not None:
        return
    now = ctx.clock()
    if now_state == RouteState.HALTED:
        extra: JSON = {"halted_at": int(now), "reason": after.halted_reason, "automatic": False}
        notice = await autohalt.announce(
            ctx.db, after.merchant_id, after.id, catalog.ROUTE_HALTED, extra, now
        )
    elif was == RouteState.HALTED and now_state == RouteState.ACTIVE:
        extra = {
            "resumed_at": int(now),
            "halted_at": None if before.halted_at is None else int(before.halted_at),
            "reason": before.halted_reason,
        }
        notice = await autohalt.announce(
            ctx.db, after.merchant_id, after.id, catalog.ROUTE_RESUMED, extra, now
        )
    else:
        return
    if notice.delivery_ids:
        ctx.wakeup.ring()
