"""Domain values shared by every layer: states, statuses and the shapes passed between them."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

import orjson

from hookline.core.retry import RetryPolicy

JSON = dict[str, Any]
Row = dict[str, Any]  # a database row, column name to value
Changes = dict[str, Any]  # column values to write: a record made or patched, checked and not yet stored
#: A row as the database driver reads it (column name to value), which a record is built from.
RowMap = Mapping[Any, Any]

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def from_columns(record: type[R], row: RowMap) -> R:
    """A record whose fields are columns of its table under the same names, built from a row of it."""
    return record(**{f.name: row[f.name] for f in dataclasses.fields(record)})


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
    LISTENER = "listener"  # a listener target with no ``hookline listen`` connected, or one that went away


@dataclass(frozen=True, slots=True)
class Merchant:
    """A tenant; ``public_id`` is its id on the commerce platform (Ordergroove's merchant public id)."""

    id: str
    name: str
    created: float
    public_id: str | None

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        return cls(row["id"], row["name"], row["created"], row["public_id"])


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A merchant's API key as it is listed: its id and hint, never the key nor its hash."""

    id: str
    hint: str
    created: float
    revoked: float | None

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        return cls(row["id"], row["hint"], row["created"], row.get("revoked"))


@dataclass(frozen=True, slots=True)
class Target:
    """A merchant's receiving endpoint (a URL, or a broker's with its ``destination``) and its keys."""

    id: str
    merchant_id: str
    url: str
    destination: JSON | None  # a broker target's (``hookline.sender.destinations.spec``); None for HTTP
    enabled: bool
    signing_key: str
    expiring_signing_key: str | None
    signing_key_expiry: float | None
    ed25519_private_key: str | None
    expiring_ed25519_private_key: str | None
    auth: JSON | None  # public fields and the sealed whole (``hookline.core.credentials``); None: none
    created: float
    updated: float

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        return from_columns(cls, row)

    def in_rotation(self, now: float) -> bool:
        """Whether the expiring keys still sign (the rotation window lasts)."""
        return (self.signing_key_expiry or 0) > now


@dataclass(frozen=True, slots=True)
class Route:
    """Which events of a merchant go to one target, shaped how, retried how; its health for auto-halt."""

    id: str
    merchant_id: str
    name: str
    target_id: str
    event_types: list[str]  # event types and wildcards (``hookline.core.routing``)
    state: RouteState
    snapshot: JSON  # family to the snapshot columns ticked (``hookline.core.snapshot``)
    retry: RetryPolicy
    timeout_s: float
    headers: dict[str, str]
    created: float
    updated: float
    deleted: float | None
    fields_include: list[str] | None
    fields_exclude: list[str] | None
    transform: str | None
    auto_halt_failures: int | None  # None: the operator's default
    auto_halt_window_s: float | None
    failure_streak: int
    failing_since: float | None
    halted_at: float | None
    halted_reason: str | None
    ordergroove: bool  # stands for an Ordergroove-style target (``/webhook_targets``)
    ordering: str  # per-key ordering: none, object or customer (``hookline.core.ordering``)

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        return cls(
            row["id"],
            row["merchant_id"],
            row["name"],
            row["target_id"],
            row["event_types"],
            RouteState(row["state"]),
            row["snapshot"] or {},
            RetryPolicy(
                row["retry_initial_interval_s"], row["retry_max_interval_s"], row["retry_max_attempts"]
            ),
            row["timeout_s"],
            row["headers"] or {},
            row["created"],
            row["updated"],
            row["deleted"],
            row["fields_include"],
            row["fields_exclude"],
            row["transform"],
            row["auto_halt_failures"],
            row["auto_halt_window_s"],
            row["failure_streak"] or 0,
            row["failing_since"],
            row["halted_at"],
            row["halted_reason"],
            bool(row["ordergroove"]),
            row["ordering"] or "none",
        )

    @property
    def due_status(self) -> DeliveryStatus:
        """The status of a delivery made due on this route now (new, resent, replayed): held while the
        route is halted (released when it resumes), else pending."""
        return DeliveryStatus.HELD if self.state == RouteState.HALTED else DeliveryStatus.PENDING


@dataclass(frozen=True, slots=True)
class Routed:
    """A route with its target, read together where deliveries are made and sent."""

    route: Route
    target: Target


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


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event's delivery to one route's target, as stored: its state and last outcome."""

    id: str
    merchant_id: str
    event_id: str
    event_type: str
    route_id: str
    target_id: str
    status: DeliveryStatus
    attempts: int
    attempt_base: int  # attempts made before the last manual resend: the retry budget counts from here
    next_attempt_at: float | None
    created: float
    completed: float | None
    last_response_status: int | None
    last_error: str | None
    is_test: bool
    ordering_key: str | None  # per-key ordering (``hookline.core.ordering``): its key, and its number in it
    sequence: int | None
    payload: bytes | None = None  # None where it was not read (lists)
    waiting_for: str | None = None  # an open numbered delivery: the one of its key it waits for, if listed

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        payload = row.get("payload")
        return cls(
            row["id"],
            row["merchant_id"],
            row["event_id"],
            row["event_type"],
            row["route_id"],
            row["target_id"],
            DeliveryStatus(row["status"]),
            row["attempts"],
            row["attempt_base"],
            row["next_attempt_at"],
            row["created"],
            row["completed"],
            row["last_response_status"],
            row["last_error"],
            bool(row["is_test"]),
            row["ordering_key"],
            row["sequence"],
            None if payload is None else bytes(payload),
            row.get("waiting_for"),
        )


@dataclass(slots=True)
class NewDelivery:
    """A delivery planned (``core.fanout``) and not stored yet. Storage gives an ordered one its
    ``sequence`` (``storage.ordering``); one handed straight to this process's worker is stored leased
    (``next_attempt_at``: the lease's end)."""

    id: str
    merchant_id: str
    event_id: str
    event_type: str
    route_id: str
    target_id: str
    status: DeliveryStatus
    next_attempt_at: float | None  # due at; None: never sent (made failed)
    created: float
    completed: float | None
    last_error: str | None
    payload: bytes
    is_test: bool = False
    ordering_key: str | None = None
    sequence: int | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a delivery, as recorded: the request's headers and the answer, or why there was none."""

    id: str
    delivery_id: str
    number: int
    started: float
    duration_ms: float
    request_headers: dict[str, str]
    response_status: int | None
    response_headers: dict[str, str] | None
    response_body: str | None
    error_kind: str | None
    error: str | None

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        return cls(
            row["id"],
            row["delivery_id"],
            row["number"],
            row["started"],
            row["duration_ms"],
            row["request_headers"],
            row["response_status"],
            row["response_headers"],
            row["response_body"],
            row["error_kind"],
            row["error"],
        )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An accepted event as stored: the event, when it was received, and where it broke its type's schema
    (``[{"path", "detail"}]``; None: it did not); the customer and the object it is about, as indexed."""

    event: Event
    received: float
    schema_errors: list[JSON] | None
    customer_id: str | None = None
    object_id: str | None = None

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        event = Event(
            row["id"], row["merchant_id"], row["type"], row["created"], row["object"], row["context"]
        )
        return cls(event, row["received"], row["schema_errors"], row.get("customer_id"), row.get("object_id"))


@dataclass(frozen=True, slots=True)
class BulkJob:
    """A bulk resend or a replay of one route and its progress (``storage.bulk_jobs``).

    ``params`` are the job's arguments as given (``status``, ``since``, ``until``, ``point_in_time``);
    ``cursor`` is where its next batch starts, as JSON text, with its running counters (``position``).
    ``lease_until`` is the deadline and token of the runner that holds it.
    """

    id: str
    merchant_id: str
    route_id: str
    kind: str
    params: JSON
    status: str
    created: float
    updated: float
    total: int | None = None
    done: int = 0
    cursor: str | None = None
    error: str | None = None
    lease_until: float | None = None

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        return from_columns(cls, row)

    @property
    def position(self) -> JSON:
        """The cursor, decoded: ``{}`` before the first batch."""
        value: JSON = orjson.loads(self.cursor) if self.cursor else {}
        return value


@dataclass(frozen=True, slots=True)
class EventFilter:
    """One of an Ordergroove-managed target's filters: an event-type pattern (``core.filter_patterns``)."""

    id: str
    merchant_id: str
    target_id: str
    pattern: str
    created: float

    @classmethod
    def from_row(cls, row: RowMap) -> Self:
        return cls(row["id"], row["merchant_id"], row["target_id"], row["pattern"], row["created"])


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One version of an object's REST representation, as the API shows it: valid from ``valid_from``
    until ``valid_until`` (None: it is the current one); ``updated``: when the current one was written."""

    kind: str
    public_id: str
    data: JSON
    valid_from: float
    valid_until: float | None = None
    updated: float | None = None


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
    auth: str | None = None  # the target's endpoint credentials, sealed (``hookline.core.credentials``)
    # Its key and number among its route's deliveries of that key (``hookline.core.ordering``):
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
        """Whether the attempt says something about the target (not so when the egress proxy failed, or no
        listener was there to take it): only those count toward a route's auto-halt streak and its failure
        rate."""
        return self.error is not ErrorKind.PROXY and self.error is not ErrorKind.LISTENER


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
