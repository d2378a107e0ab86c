"""Domain values shared by every layer: states, statuses and the shapes passed between them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from hookline.retry import RetryPolicy

JSON = dict[str, Any]
Row = dict[str, Any]  # a database row, column name to value


class RouteState(StrEnum):
    ACTIVE = "active"
    HALTED = "halted"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    HELD = "held"


class ErrorKind(StrEnum):
    """Why an attempt got no 2xx; ``None`` on an attempt means the receiver answered."""

    TIMEOUT = "timeout"
    CONNECT = "connect"
    RESET = "reset"
    DNS = "dns"
    BLOCKED = "blocked"  # the SSRF guard refused the address
    TLS = "tls"
    PROTOCOL = "protocol"
    STATUS = "status"  # a non-2xx answer
    PROXY = (
        "proxy"  # the egress proxy failed (unreachable, or it refused the CONNECT): not the target's doing
    )


@dataclass(frozen=True, slots=True)
class Route:
    id: str
    merchant_id: str
    name: str
    target_id: str
    event_types: tuple[str, ...]
    state: RouteState
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float = 5.0
    headers: tuple[tuple[str, str], ...] = ()
    snapshot: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """An accepted platform event, as the merchant will see it in the envelope."""

    id: str
    merchant_id: str
    type: str
    created: int  # epoch seconds, as in Ordergroove's payloads
    object: JSON
    context: JSON | None
    #: Where ``object`` breaks its type's schema, as (path, problem): accepted anyway when the operator
    #: chose to flag such events rather than refuse them (``HOOKLINE_EVENT_VALIDATION=flag``).
    schema_errors: tuple[tuple[str, str], ...] = ()


class Signer(Protocol):
    """An asymmetric signing key (a target's Ed25519 key, loaded: ``keypairs.signer``)."""

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery, with everything the worker needs to send it and nothing more."""

    delivery_id: str
    event_id: str
    route_id: str
    target_id: str
    url: str
    payload: bytes
    attempts: int  # attempts made before this one
    budget_used: int  # of those, the ones counted against the retry budget (since the last resend)
    keys: tuple[bytes, ...]  # signing keys, newest first
    timeout_s: float
    headers: tuple[tuple[str, str], ...]
    retry: RetryPolicy
    # The lease the claim took (``next_attempt_at`` while claimed). An attempt starts only while the lease
    # covers its timeout, and handing the job back only works while the row still carries it, so a job
    # whose lease ran out and was claimed again elsewhere is left alone. Infinite: not from a claim.
    leased_until: float = math.inf
    signers: tuple[Signer, ...] = ()  # Ed25519 keys for Standard Webhooks ``v1a``, newest first
    # A broker target's destination (``hookline.sender.destinations``) as sorted items; () for HTTP.
    destination: tuple[tuple[str, Any], ...] = ()
    auth: str | None = None  # the target's endpoint credentials, sealed (``hookline.credentials``)
    # Its key and number among its route's deliveries of that key (per-key ordering; ``hookline.ordering``):
    # when it ends, the next of its key is due.
    ordering_key: str | None = None
    sequence: int | None = None


class Dispatch(Protocol):
    """A worker in this process that takes freshly accepted deliveries straight from ingestion.

    Ingestion reserves room, stores that many deliveries already leased (``next_attempt_at`` = the lease's
    end, as a claim would), and after the commit hands their jobs over: no claim reads them back. It settles
    every reservation, with no jobs when the transaction failed. Should this process die in between, the
    leases run out and any worker claims those deliveries (at least once, as after any claim).
    """

    @property
    def lease_s(self) -> float:
        """How long the deliveries handed over stay leased to the worker."""
        ...

    def reserve(self, wanted: int) -> int:
        """Room for up to ``wanted`` jobs, reserved; how many (0 when stopping or full)."""
        ...

    def settle(self, reserved: int, jobs: list[Job]) -> None:
        """Give back a reservation of ``reserved`` and start ``jobs`` (at most that many)."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one HTTP attempt produced, as the sender reports it."""

    started: float
    duration_ms: float
    request_headers: dict[str, str]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    error: ErrorKind | None = None
    error_detail: str | None = None

    @property
    def about_target(self) -> bool:
        """Whether the attempt says something about the target (not so when the egress proxy failed): only
        those count toward a route's auto-halt streak and its failure rate."""
        return self.error is not ErrorKind.PROXY


@dataclass(frozen=True, slots=True)
class Result:
    """A finished attempt and the delivery's state after it, ready to be recorded."""

    job: Job
    outcome: Outcome
    status: DeliveryStatus
    next_attempt_at: float | None
    completed: float | None

    @property
    def number(self) -> int:
        return self.job.attempts + 1
