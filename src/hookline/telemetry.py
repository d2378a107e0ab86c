"""Prometheus metrics of this process: deliveries, attempts, latencies, ingested events, queue depth, and the
database's faults and recoveries.

Counters and histograms are process-local: every API or worker process exposes its own on ``GET /metrics``
and Prometheus adds them up (``sum by (…)``). The queue depth gauge is read from the shared database at
scrape time, so every process reports the same figure (aggregate it with ``max``, not ``sum``).

They live in one ``CollectorRegistry`` made once per process at import, not in prometheus_client's global
default registry: tests build many applications in one process, and a library should not claim names in
a registry its host may use too. The worker feeds ``observe`` once per recorded batch, so the hot path pays
a few dictionary updates per result and one counter increment per label per batch.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Mapping, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from hookline.core.models import DeliveryStatus, ErrorKind, Outcome, Result

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

DELIVERIES = Counter(
    "hookline_deliveries",
    "Delivery attempts by what they led to: success, failed (attempts exhausted) or retry (scheduled again).",
    ["outcome"],
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "hookline_attempts",
    "HTTP attempts by result: the status class (2xx, 4xx, 5xx, …) or why there was no answer "
    "(timeout, connect, reset, dns, tls, blocked, protocol).",
    ["result"],
    registry=REGISTRY,
)
ATTEMPT_DURATION = Histogram(
    "hookline_attempt_duration_seconds",
    "Duration of one HTTP attempt, connect to last response byte (or the failure).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "hookline_delivery_latency_seconds",
    "From ingest (the delivery's creation) to its successful attempt, retries included.",
    buckets=(
        0.01,
        0.05,
        0.1,
        0.25,
        0.5,
        1.0,
        2.5,
        5.0,
        10.0,
        30.0,
        60.0,
        300.0,
        900.0,
        3600.0,
        14_400.0,
        43_200.0,
    ),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "hookline_queue_depth",
    "Deliveries waiting, by status, in the whole database (read at scrape time, cached a few seconds).",
    ["status"],
    registry=REGISTRY,
)
EVENTS_INGESTED = Counter(
    "hookline_events_ingested",
    "Platform events accepted (new ones; an idempotent repeat is not counted).",
    registry=REGISTRY,
)

AUTH_FAILURES = Counter(
    "hookline_auth_failures",
    "Authentications refused for an unknown or revoked key, by where it was sent: api (API keys on every "
    "endpoint) or dashboard (sign-in).",
    ["via"],
    registry=REGISTRY,
)
AUTH_THROTTLED = Counter(
    "hookline_auth_throttled",
    "Authentications answered 429 because their client address failed too often (see docs/security.md).",
    ["via"],
    registry=REGISTRY,
)
for _via in ("api", "dashboard"):  # the series exist from the first scrape
    AUTH_FAILURES.labels(via=_via)
    AUTH_THROTTLED.labels(via=_via)
DATABASE_FAULTS = Counter(
    "hookline_database_faults",
    "Database operations that failed for want of the database, by kind: refused (no connection), lost (a "
    "connection broke in use), timeout (no answer within HOOKLINE_DB_TIMEOUT_S), full (disk full), locked "
    "(SQLite's write lock held too long by another process), error (another failure of the database), "
    "contended (PostgreSQL failed a transaction to break a deadlock).",
    ["kind"],
    registry=REGISTRY,
)
DATABASE_RECOVERIES = Counter(
    "hookline_database_recoveries",
    "Outages of the database this process saw end: the first success after faults.",
    registry=REGISTRY,
)
DATABASE_OUTAGE = Histogram(
    "hookline_database_outage_seconds",
    "How long each outage this process saw lasted, from its first fault to the first success after it.",
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
    registry=REGISTRY,
)
DATABASE_UP = Gauge(
    "hookline_database_up",
    "1 while this process's last database operation succeeded (or failed for its own reasons), 0 during "
    "an outage.",
    registry=REGISTRY,
)
DATABASE_UP.set(1)

_OUTCOMES = {DeliveryStatus.SUCCESS: "success", DeliveryStatus.FAILED: "failed"}
# Children made up front: the series exist (at 0) from the first scrape, so rate() has a starting point,
# and the hot path skips the labels lookup.
_DELIVERIES = {name: DELIVERIES.labels(outcome=name) for name in ("success", "failed", "retry")}
_ATTEMPTS = {
    name: ATTEMPTS.labels(result=name)
    for name in ("2xx", "3xx", "4xx", "5xx", *(k.value for k in ErrorKind if k is not ErrorKind.STATUS))
}

# core.ids: a prefix, "_", then 26 Crockford base32 characters, the first 10 the creation millisecond.
_CROCKFORD = {c: i for i, c in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}


def created_at(identifier: str) -> float | None:
    """The creation time (epoch seconds) encoded in a time-ordered id, or None if it is not one."""
    _, _, body = identifier.rpartition("_")
    if len(body) != 26:
        return None
    ms = 0
    for char in body[:10]:
        digit = _CROCKFORD.get(char)
        if digit is None:
            return None
        ms = ms * 32 + digit
    return ms / 1000


def attempt_result(outcome: Outcome) -> str:
    """The ``result`` label of an attempt: why it got no answer, else the status class of the answer."""
    if outcome.error is not None and outcome.error is not ErrorKind.STATUS:
        return outcome.error.value
    if outcome.status is None:
        return ErrorKind.PROTOCOL.value
    return f"{outcome.status // 100}xx"


def observe(results: Sequence[Result]) -> None:
    """Count a batch of recorded attempts. Never raises: metrics must not stop deliveries."""
    try:
        _observe(results)
    except Exception:
        logger.exception("cannot update delivery metrics")


def _observe(results: Sequence[Result]) -> None:
    outcomes: Tally[str] = Tally()
    kinds: Tally[str] = Tally()
    for r in results:
        outcomes[_OUTCOMES.get(r.status, "retry")] += 1
        kinds[attempt_result(r.outcome)] += 1
        ATTEMPT_DURATION.observe(r.outcome.duration_ms / 1000)
        if r.status is DeliveryStatus.SUCCESS and r.completed is not None:
            created = created_at(r.job.delivery_id)
            if created is not None:
                DELIVERY_LATENCY.observe(max(0.0, r.completed - created))
    for name, n in outcomes.items():
        _DELIVERIES[name].inc(n)
    for name, n in kinds.items():
        (_ATTEMPTS.get(name) or ATTEMPTS.labels(result=name)).inc(n)


def auth_failed(via: str) -> None:
    AUTH_FAILURES.labels(via=via).inc()


def auth_throttled(via: str) -> None:
    AUTH_THROTTLED.labels(via=via).inc()


class DatabaseMetrics:
    """The database's faults and recoveries as metrics (a process's ``storage.availability.Observer``)."""

    def __init__(self) -> None:
        self._faults = {kind: DATABASE_FAULTS.labels(kind=kind) for kind in _FAULT_KINDS}

    def fault(self, kind: str) -> None:
        (self._faults.get(kind) or DATABASE_FAULTS.labels(kind=kind)).inc()
        DATABASE_UP.set(0)

    def recovered(self, outage_s: float) -> None:
        DATABASE_RECOVERIES.inc()
        DATABASE_OUTAGE.observe(outage_s)
        DATABASE_UP.set(1)


_FAULT_KINDS = ("refused", "lost", "timeout", "full", "locked", "error", "contended")
DATABASE = DatabaseMetrics()


def events_ingested(count: int) -> None:
    if count:
        EVENTS_INGESTED.inc(count)


def exposition(queue_depth: Mapping[str, int] | None) -> tuple[bytes, str]:
    """The text exposition of this process's metrics, with the queue depth as last read, and its type."""
    for status, n in (queue_depth or {}).items():
        QUEUE_DEPTH.labels(status=status).set(n)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
