"""Listener targets: a target whose ``url`` is ``listen://<name>`` is sent to by ``hookline listen`` on a
developer's machine, over a stream it opened to the API (docs/listen.md), rather than by the worker.

Here: what such a URL looks like, and how an attempt made through a listener becomes an ``Outcome``. A
delivery due while no listener of its route is connected is an attempt with error kind ``listener``,
retried on the route's schedule and left out of auto-halt, as the egress proxy's failures are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hookline.core.models import ErrorKind, Outcome

SCHEME = "listen"
_URL = re.compile(r"listen://([a-z0-9][a-z0-9._-]{0,62})/?", re.IGNORECASE)
NOT_CONNECTED = "listener: not connected (start `hookline listen --route <route id>`)"
BODY_LIMIT = 4096  # of the local answer's body, as an HTTP attempt keeps
# What a listener may say went wrong when it could not get an answer from the local URL.
REPORTED_ERRORS = frozenset(
    {ErrorKind.TIMEOUT, ErrorKind.CONNECT, ErrorKind.RESET, ErrorKind.DNS, ErrorKind.TLS, ErrorKind.PROTOCOL}
)


class BadListenerUrl(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_listener(url: str) -> bool:
    return url.strip().lower().startswith(SCHEME + ":")


def check_url(url: str) -> str:
    """``listen://<name>`` in canonical form (lower case, no slash); BadListenerUrl otherwise."""
    found = _URL.fullmatch(url.strip())
    if found is None:
        raise BadListenerUrl(
            "a listener URL is listen://<name>: up to 63 letters, digits, '.', '_' or '-' (e.g. listen://laptop)"
        )
    return f"{SCHEME}://{found[1].lower()}"


def not_connected(started: float, request_headers: dict[str, str]) -> Outcome:
    """The attempt of a delivery due while no listener of its route is connected."""
    return Outcome(started, 0.0, request_headers, error=ErrorKind.LISTENER, error_detail=NOT_CONNECTED)


@dataclass(frozen=True, slots=True)
class Report:
    """What ``hookline listen`` says the local URL answered (status) or why it did not (error)."""

    duration_ms: float
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error_kind: ErrorKind | None = None
    error: str | None = None


def reported(started: float, request_headers: dict[str, str], report: Report) -> Outcome:
    """The attempt a listener's report describes, worded as an HTTP attempt's."""
    if report.status is None:
        kind = report.error_kind if report.error_kind in REPORTED_ERRORS else ErrorKind.PROTOCOL
        detail = f"listener: {report.error or kind.value}"
        return Outcome(started, report.duration_ms, request_headers, error=kind, error_detail=detail)
    return Outcome(
        started,
        report.duration_ms,
        request_headers,
        status=report.status,
        response_headers={name.lower(): value for name, value in report.headers.items()},
        response_body=report.body[:BODY_LIMIT],
        error=None if 200 <= report.status < 300 else ErrorKind.STATUS,
    )


def gone(started: float, request_headers: dict[str, str], waited_s: float) -> Outcome:
    """The attempt of a delivery handed to a listener that sent no report in time (it went away)."""
    detail = f"listener: no report from the listener within {waited_s:g} s (it went away?)"
    return Outcome(started, waited_s * 1000, request_headers, error=ErrorKind.LISTENER, error_detail=detail)
