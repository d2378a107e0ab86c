"""The create / edit webhook form: its fields, read from a route or a POST, and turned into a route spec.

Everything the form can say is checked here only as far as HTML cannot say it (a number is a number, a
header line has a colon); the rules themselves are the service's, and its field errors are shown next to the
fields they name.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from hookline.core import catalog, numerals
from hookline.core.models import Route
from hookline.dashboard import auth_form
from hookline.service import operational, routes

MAX_HEADERS = 20
FAMILY_NOTES = {
    catalog.OPERATIONAL_FAMILY: "hookline's notices about your webhooks (a webhook halted or resumed).",
}
# Fields a service error may name, and the form field it is shown next to.
FIELD_OF = {
    "url": "new_url",
    "destination": "new_destination",  # a broker target's (docs/destinations.md)
    "target": "target_id",
    "state": "name",
    "route": "form",
}
# The fields in the order the form shows them: its problems are listed in this order at the top.
FORM_ORDER = (
    "form",
    "name",
    "target_id",
    "target_url",
    "new_url",
    "new_destination",
    "auth_type",
    *(f"auth_{name}" for names in auth_form.FIELDS.values() for name in names),
    "event_types",
    "snapshot",
    "retry.initial_interval_s",
    "retry.max_interval_s",
    "retry.max_attempts",
    "timeout_s",
    "headers",
    "ordering",
    "auto_halt.failures",
    "auto_halt.window_s",
    "auto_halt",
    "fields_include",
    "fields_exclude",
    "transform",
)
# Each number field: (limits as the service has them, its unit).
RANGES: dict[str, tuple[tuple[float, float], str]] = {
    **{
        f"retry.{name}": (limits, "" if name == "max_attempts" else " seconds")
        for name, limits in routes.LIMITS.items()
    },
    "timeout_s": (routes.TIMEOUT_LIMITS, " seconds"),
    "auto_halt.failures": (operational.AUTO_HALT_LIMITS["failures"], ""),
    "auto_halt.window_s": (operational.AUTO_HALT_LIMITS["window_s"], " seconds"),
}
ADVANCED_ATTRIBUTES = (
    "snapshot",
    "initial_interval_s",
    "max_interval_s",
    "max_attempts",
    "timeout_s",
    "headers",
    "ordering",
)
ADVANCED_FIELDS = {
    "snapshot",
    "headers",
    "timeout_s",
    "retry.initial_interval_s",
    "retry.max_interval_s",
    "retry.max_attempts",
    "fields_include",
    "fields_exclude",
    "transform",
    "auto_halt",
    "auto_halt.failures",
    "auto_halt.window_s",
    "ordering",
}


@dataclass
class RouteForm:
    name: str = ""
    target_id: str = ""
    new_url: str = ""
    target_url: str = ""  # editing: the URL of the webhook's target, changed in place (the key stays)
    new_destination: str = ""  # a broker target's destination, as JSON
    target_destination: str = ""  # editing: the destination of the webhook's broker target, changed in place
    event_types: set[str] = field(default_factory=set)
    other_patterns: str = ""
    snapshot: set[str] = field(default_factory=set)  # "family:column"
    initial_interval_s: str = str(int(routes.DEFAULT_RETRY["initial_interval_s"]))
    max_interval_s: str = str(int(routes.DEFAULT_RETRY["max_interval_s"]))
    max_attempts: str = str(routes.DEFAULT_RETRY["max_attempts"])
    timeout_s: str = "5"
    headers: str = ""
    fields_include: str = ""  # dotted paths, one a line
    fields_exclude: str = ""
    transform: str = ""
    auto_halt_failures: str = ""  # empty: the operator's default
    auto_halt_window_s: str = ""
    auth: auth_form.AuthForm = field(default_factory=auth_form.AuthForm)  # editing: the target's auth
    ordering: str = "none"  # per-key ordering: none, object or customer
    errors: dict[str, str] = field(default_factory=dict)

    def checked(self, event_type: str) -> bool:
        family = event_type.split(".", 1)[0]
        return event_type in self.event_types or f"{family}.*" in self.event_types

    @property
    def advanced_open(self) -> bool:
        """Open Advanced settings when they hold a choice or a problem, so nothing set there is hidden."""
        defaults = RouteForm()
        changed = any(getattr(self, name) != getattr(defaults, name) for name in ADVANCED_ATTRIBUTES)
        return changed or bool(set(self.errors) & ADVANCED_FIELDS)

    @property
    def error_list(self) -> list[tuple[str, str]]:
        """The problems in the order of the fields they concern (unknown fields last)."""
        rank = {name: n for n, name in enumerate(FORM_ORDER)}
        return sorted(self.errors.items(), key=lambda item: rank.get(item[0], len(rank)))

    def add_errors(self, found: Mapping[str, str]) -> None:
        for name, problem in found.items():
            if name.startswith("destination."):  # one field of the destination: shown by the one input
                name, problem = "destination", f"{name.removeprefix('destination.')}: {problem}"
            self.errors.setdefault(FIELD_OF.get(name, name), problem)


def _number(value: float) -> str:
    return f"{value:g}"


def from_route(route: Route, *, entitlements: bool) -> RouteForm:
    known = {t.type for t in catalog.event_types(entitlements=entitlements)}
    families = catalog.families(entitlements=entitlements)
    shown = {p for p in route.event_types if p in known or p.removesuffix(".*") in families}
    return RouteForm(
        name=route.name,
        target_id=route.target_id,
        event_types=shown,
        other_patterns=", ".join(p for p in route.event_types if p not in shown),
        snapshot={f"{fam}:{col}" for fam, cols in route.snapshot.items() for col in cols},
        initial_interval_s=_number(route.retry.initial_interval_s),
        max_interval_s=_number(route.retry.max_interval_s),
        max_attempts=str(route.retry.max_attempts),
        timeout_s=_number(route.timeout_s),
        headers="\n".join(f"{k}: {v}" for k, v in route.headers.items()),
        fields_include="\n".join(route.fields_include or []),
        fields_exclude="\n".join(route.fields_exclude or []),
        transform=route.transform or "",
        auto_halt_failures=_optional(route.auto_halt_failures),
        auto_halt_window_s=_optional(route.auto_halt_window_s),
        ordering=route.ordering,
    )


def _optional(value: float | None) -> str:
    return "" if value is None else _number(value)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def from_post(form: FormData) -> RouteForm:
    return RouteForm(
        name=_text(form, "name"),
        target_id=_text(form, "target_id"),
        new_url=_text(form, "new_url"),
        target_url=_text(form, "target_url"),
        new_destination=_text(form, "new_destination"),
        target_destination=_text(form, "target_destination"),
        event_types={str(v) for v in form.getlist("event_types")},
        other_patterns=_text(form, "other_patterns"),
        snapshot={str(v) for v in form.getlist("snapshot")},
        initial_interval_s=_text(form, "initial_interval_s"),
        max_interval_s=_text(form, "max_interval_s"),
        max_attempts=_text(form, "max_attempts"),
        timeout_s=_text(form, "timeout_s"),
        headers=str(form.get("headers") or ""),
        fields_include=str(form.get("fields_include") or ""),
        fields_exclude=str(form.get("fields_exclude") or ""),
        transform=str(form.get("transform") or "").strip(),
        auto_halt_failures=_text(form, "auto_halt_failures"),
        auto_halt_window_s=_text(form, "auto_halt_window_s"),
        auth=auth_form.from_post(form),
        ordering=_text(form, "ordering") or "none",
    )


def destination(text: str) -> object:
    """A destination typed in the form (``new_destination``, ``target_destination``): the JSON, or the text
    itself when it is not JSON (the service then says what a destination must be, next to the field); None
    when left empty."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def shown_destination(destination: object) -> str:
    """A target's destination as the form shows it (JSON), "" for none."""
    return "" if destination is None else json.dumps(destination)


def patterns(f: RouteForm) -> list[str]:
    """The ticked event types; a ticked family (``order.*``) stands for all of its types."""
    wildcards = {p for p in f.event_types if p.endswith(".*")}
    families = {p.removesuffix(".*") for p in wildcards}
    ticked = sorted(p for p in f.event_types if p not in wildcards and p.split(".", 1)[0] not in families)
    others = [p for p in f.other_patterns.replace(",", " ").split() if p]
    return sorted(wildcards) + ticked + others


def snapshot(f: RouteForm) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {}
    for cell in sorted(f.snapshot):
        family, _, column = cell.partition(":")
        chosen.setdefault(family, []).append(column)
    return chosen


def _limit(value: float) -> str:
    """A limit as people write it: 0.5, 3600, 1000000 (not 1e+06)."""
    return f"{value:f}".rstrip("0").rstrip(".")


def _range(key: str) -> str:
    (low, high), unit = RANGES[key]
    return f"between {_limit(low)} and {_limit(high)}{unit}"


def _in_range(f: RouteForm, value: float, label: str, key: str) -> bool:
    """Whether ``value`` is within the field's limits; if not, the problem says them."""
    (low, high), _ = RANGES[key]
    if low <= value <= high:
        return True
    f.errors[key] = f"{label} must be {_range(key)}"
    return False


def _float(f: RouteForm, name: str, label: str, key: str) -> float | None:
    """The number in a field; None (the default) when left empty, or when it is not a number or out of its
    range (with a problem that says so)."""
    if not getattr(f, name):
        return None
    value = numerals.decimal(getattr(f, name))
    if value is None or not math.isfinite(value):
        f.errors[key] = f"{label} must be a number {_range(key)}"
        return None
    return value if _in_range(f, value, label, key) else None


def _int(f: RouteForm, name: str, label: str, key: str) -> int | None:
    if not getattr(f, name):
        return None
    value = numerals.integer(getattr(f, name))
    if value is None:
        f.errors[key] = f"{label} must be a whole number {_range(key)}"
        return None
    return value if _in_range(f, value, label, key) else None


# A textarea's lines as browsers send them (CRLF), or typed elsewhere (LF, CR). Not str.splitlines(): it
# also breaks at form feeds, NEL and U+2028, which inside a value must reach the service's check (and be
# refused), not quietly make a second header of the rest of the line.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def headers(f: RouteForm) -> dict[str, str]:
    found: dict[str, str] = {}
    for number, line in enumerate(_LINE_BREAK.split(f.headers), 1):
        if not line.strip(" \t"):
            continue
        name, colon, value = line.partition(":")
        name = name.strip(" \t")
        if not colon or not name:
            f.errors["headers"] = f"line {number}: write each header as 'Name: value'"
            continue
        if name.lower() in (given.lower() for given in found):
            f.errors["headers"] = f"line {number}: {name} is given twice"
            continue
        # Only spaces and tabs around the value are dropped: anything else is the service's to judge.
        found[name] = value.strip(" \t")
    if len(found) > MAX_HEADERS:
        f.errors["headers"] = f"at most {MAX_HEADERS} custom headers"
    return found


def paths(text: str) -> list[str] | None:
    """Dotted field paths, one a line (commas work too); None for none."""
    found = [p for p in text.replace(",", "\n").split() if p]
    return found or None


def shaping(f: RouteForm) -> dict[str, Any]:
    """The payload shaping settings (field selection, transformation) as the service takes them."""
    return {
        "fields_include": paths(f.fields_include),
        "fields_exclude": paths(f.fields_exclude),
        "transform": f.transform or None,
    }


def spec(f: RouteForm) -> dict[str, Any]:
    """The route spec for the service; problems the form itself can see are left in ``f.errors``."""
    chosen = patterns(f)
    if not f.name:
        f.errors["name"] = "give the webhook a name"
    if not f.target_id and not f.new_url:
        f.errors["target_id"] = "choose a target, or enter the URL of a new one"
    if not chosen:
        f.errors["event_types"] = "choose at least one event type"
    retry = {
        "initial_interval_s": _float(f, "initial_interval_s", "the first delay", "retry.initial_interval_s"),
        "max_interval_s": _float(f, "max_interval_s", "the longest wait", "retry.max_interval_s"),
        "max_attempts": _int(f, "max_attempts", "the number of attempts", "retry.max_attempts"),
    }
    return {
        "name": f.name,
        "target_id": f.target_id,
        "event_types": chosen,
        "snapshot": snapshot(f),
        "retry": retry,
        "timeout_s": _float(f, "timeout_s", "the timeout", "timeout_s"),
        "headers": headers(f),
        **shaping(f),
        "auto_halt": {
            "failures": _int(f, "auto_halt_failures", "the failures before halting", "auto_halt.failures"),
            "window_s": _float(f, "auto_halt_window_s", "the failure window", "auto_halt.window_s"),
        },
        "ordering": f.ordering,
    }


def matrix(*, entitlements: bool) -> list[dict[str, Any]]:
    """The Advanced settings rows: each family with its cells, forbidden ones marked. A family that can
    carry no data at all (hookline's own notices) has no row."""
    rows = []
    for family in catalog.families(entitlements=entitlements):
        cells = [
            {"column": col, "key": f"{family}:{col}", "forbidden": (family, col) in routes.FORBIDDEN}
            for col in routes.SNAPSHOT_COLUMNS
        ]
        if not all(cell["forbidden"] for cell in cells):
            rows.append({"family": family, "cells": cells})
    return rows


def event_groups(*, entitlements: bool) -> list[dict[str, Any]]:
    groups: dict[str, list[catalog.EventType]] = {}
    for event_type in catalog.event_types(entitlements=entitlements):
        groups.setdefault(event_type.family, []).append(event_type)
    return [
        {"family": family, "types": types, "note": FAMILY_NOTES.get(family, "")}
        for family, types in groups.items()
    ]
