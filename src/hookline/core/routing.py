"""Which routes get an event: event-type patterns and their matching.

A route subscribes to event types by name (``order.reminder``), by family wildcard (``order.*``) or to
everything (``*``). Patterns are validated against the catalogue when a route is saved, so a typo is a 4xx
and not a route that silently never fires.
"""

from __future__ import annotations

from collections.abc import Iterable

from hookline.core import catalog
from hookline.core.errors import Invalid


def validate_patterns(
    patterns: Iterable[str], *, entitlements: bool = False, field: str = "event_types"
) -> list[str]:
    """The patterns, de-duplicated in order; raises Invalid naming each unknown one (under ``field``)."""
    known_families = catalog.families(entitlements=entitlements)
    result: list[str] = []
    bad: list[str] = []
    for pattern in patterns:
        if pattern in result or pattern in bad:
            continue
        family, _, action = pattern.partition(".")
        ok = (
            pattern == "*"
            or (action == "*" and family in known_families)
            or catalog.get(pattern, entitlements=entitlements) is not None
        )
        (result if ok else bad).append(pattern)
    if bad:
        raise Invalid(
            f"unknown event type(s): {', '.join(bad)}; see GET /v1/event-types",
            fields={field: "unknown: " + ", ".join(bad)},
        )
    if not result:
        raise Invalid("a route needs at least one event type", fields={field: "empty"})
    return result


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """True when ``event_type`` is selected by any of ``patterns``."""
    family, dot, _ = event_type.partition(".")
    wildcard = family + ".*" if dot else None  # "order.*" selects "order.x", not a bare "order"
    return any(pattern in ("*", event_type, wildcard) for pattern in patterns)


def expand(patterns: Iterable[str], *, entitlements: bool = False) -> list[str]:
    """The concrete event types the patterns select, in catalogue order."""
    pats = list(patterns)
    return [t.type for t in catalog.event_types(entitlements=entitlements) if matches(pats, t.type)]


def selected(text: str, *, entitlements: bool = False, field: str = "event_type") -> list[str]:
    """The concrete event types a search filter names: comma-separated patterns, written as routes write them
    (``order.*,subscription.cancel``) and matched as routes match them; Invalid naming an unknown one."""
    patterns = [p.strip() for p in text.split(",") if p.strip()]
    return expand(
        validate_patterns(patterns, entitlements=entitlements, field=field), entitlements=entitlements
    )
