"""Every problem of a route spec at once, by field: for a form that shows them all in one round.

``routes.create`` and ``routes.update`` stop at the first problem (an API answer names one); here each check
they make runs on its own and every refusal is kept, the first per field. A field the caller could not read
(left ``None``) is not checked: the caller has its own message for it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from hookline.core import routing
from hookline.core.errors import Invalid
from hookline.service import names, operational, routes
from hookline.service.context import Context


def problems(ctx: Context, spec: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}

    def run(check: Callable[[], object], field: str) -> object:
        try:
            return check()
        except Invalid as exc:
            for name, problem in (exc.fields or {field: exc.detail}).items():
                found.setdefault(name, problem)
            return None

    if spec.get("name"):
        run(lambda: names.check(spec["name"], "a route"), "name")
    event_types = None
    if spec.get("event_types"):
        patterns = spec["event_types"]
        event_types = run(
            lambda: routing.validate_patterns(patterns, entitlements=ctx.entitlements), "event_types"
        )
    if isinstance(event_types, list):
        chosen: list[str] = event_types
        run(lambda: routes.check_snapshot(ctx, spec.get("snapshot") or {}, chosen), "snapshot")
    run(lambda: routes.check_retry(spec.get("retry") or {}), "retry")
    if spec.get("timeout_s") is not None:
        run(lambda: routes.check_timeout(spec["timeout_s"]), "timeout_s")
    run(lambda: routes.check_headers(spec.get("headers") or {}), "headers")
    for name in routes.SHAPING:
        run(partial(routes.check_shaping, {name: spec.get(name)}), name)
    run(lambda: operational.check_auto_halt(spec.get("auto_halt")), "auto_halt")
    run(lambda: routes.check_ordering(spec.get("ordering") or "none"), "ordering")
    return found
