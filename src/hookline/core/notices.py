"""What a merchant notification says: the kinds a merchant can be told of, and each one's words.

Written once, when the notice is stored in the outbox, so the message tells what happened at that moment
even if the route is renamed or resumed before it goes out. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

ROUTE_HALTED = "route.halted"
ROUTE_FAILING = "route.failing"
KINDS = (ROUTE_HALTED, ROUTE_FAILING)


@dataclass(frozen=True, slots=True)
class Route:
    """The route a notice is about, as the merchant knows it."""

    id: str
    name: str
    target_url: str


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str


def halted(route: Route, reason: str, at: float) -> Message:
    """A route was halted automatically: its deliveries are held until someone resumes it."""
    return Message(
        f"hookline: route {_one_line(route.name)!r} was halted",
        f"Route {route.name!r} ({route.id}) was halted automatically at {_iso(at)}: its target "
        f"{route.target_url} kept failing.\n"
        f"Reason: {reason}\n\n"
        "Its deliveries are held, not lost, and nothing is sent to this target until the route is resumed.\n"
        f"{_resume(route)}",
    )


def failing(route: Route, failed: int, total: int, window_s: float, at: float) -> Message:
    """Many of a route's recent attempts failed (the route is still active)."""
    percent = round(100 * failed / total) if total else 0
    return Message(
        f"hookline: route {_one_line(route.name)!r} is failing ({percent}% of attempts)",
        f"Route {route.name!r} ({route.id}): {failed} of its last {total} attempts in "
        f"{_span(window_s)} failed ({percent}%), as of {_iso(at)}. Target: {route.target_url}\n\n"
        "Failed deliveries are retried on the route's schedule; if the target keeps failing, the route is "
        "halted automatically and its deliveries held.\n"
        f"{_resume(route)}",
    )


def _resume(route: Route) -> str:
    return (
        "Once the target answers again, resume a halted route on the dashboard "
        f"(/dashboard/routes/{route.id}, Resume), or with POST /v1/routes/{route.id}/resume; held deliveries "
        "then go out oldest first."
    )


def slack_text(message: Message) -> str:
    """The ``text`` of a Slack-compatible incoming webhook post.

    ``&``, ``<`` and ``>`` are escaped as Slack asks, so a route's name or a target's error text cannot
    become a link or an ``<!channel>`` mention.
    """
    return _slack_escape(f"*{message.subject}*\n{message.body}")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str) -> str:
    """``text`` with its runs of whitespace (line breaks included) as single spaces: a mail header's."""
    return " ".join(text.split())


def _span(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
