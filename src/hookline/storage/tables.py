"""Table definitions, shared by both engines. Times are epoch seconds as floats (UTC)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

DUE_ORDERED = "status = 'pending' AND sequence IS NOT NULL"


def open_ordered(table: str = "") -> str:
    """The predicate of the ordering index (open numbered deliveries), which the claim's look-up repeats
    word for word (``storage.queue``), its columns qualified by ``table`` when given."""
    at = f"{table}." if table else ""
    return f"{at}sequence IS NOT NULL AND {at}status IN ('pending', 'held')"


meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

merchants = Table(
    "merchants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created", Float, nullable=False),
    # The merchant's id on the commerce platform (Ordergroove's merchant public id), set by the operator
    # (migration 0008): accepted by /webhook_targets as the merchant, and an event's default
    # ``data.object.merchant``.
    Column("public_id", String(100), nullable=True),
    Index("ux_merchants_public_id", "public_id", unique=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),
    Column("created", Float, nullable=False),
    Column("revoked", Float, nullable=True),
)

# Signed-in browser sessions (migration 0006). The cookie holds a random token; only its SHA-256 is kept, so
# a copy of this table signs nobody in. A session belongs to a merchant, or to the operator (acting for
# ``merchant_id`` once chosen); ``key_hash`` is the API key it was opened with (null: opened another way),
# whose revocation ends it. Sign-out and revocation set ``revoked``; rows are deleted once expired. A session
# opened by a portal link (migration 0012) names it, and keeps the platform's ``return_url``.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("operator", Boolean, nullable=False),
    Column("merchant_id", String(40), nullable=True),
    Column("key_hash", String(64), nullable=True, index=True),
    Column("read_only", Boolean, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False, index=True),
    Column("last_seen", Float, nullable=False),
    Column("revoked", Float, nullable=True),
    Column("portal_link_id", String(40), nullable=True),
    Column("return_url", Text, nullable=True),
)

# Portal links (migration 0012): minted by the operator for one merchant, used once before ``expires`` to open
# a session. Only the SHA-256 of the link's token is kept; ``used`` is set by the one request that opens it.
portal_links = Table(
    "portal_links",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True, index=True),
    Column("merchant_id", String(40), nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("return_url", Text, nullable=True),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False, index=True),
    Column("used", Float, nullable=True),
)

targets = Table(
    "targets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),
    # A broker target's destination (``hookline.sender.destinations.spec``); null for an HTTP target.
    Column("destination", JSON, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("signing_key", String(100), nullable=False),
    Column("expiring_signing_key", String(100), nullable=True),
    Column("signing_key_expiry", Float, nullable=True),
    # Ed25519 private keys (base64 of the seed, ``core.keypairs``); the expiring one shares the HMAC key's
    # expiry. Every target has one (created with it, or given one by migration 0007): nullable only because
    # SQLite cannot add a NOT NULL column without a default.
    Column("ed25519_private_key", String(100), nullable=True),
    Column("expiring_ed25519_private_key", String(100), nullable=True),
    # Endpoint authentication (``core.credentials``): its public fields and the whole object sealed with
    # ``HOOKLINE_SECRET_KEY`` under ``sealed``; null: none.
    Column("auth", JSON(none_as_null=True), nullable=True),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("deleted", Float, nullable=True),
)

routes = Table(
    "routes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("target_id", String(40), ForeignKey("targets.id"), nullable=False, index=True),
    Column("event_types", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("retry_initial_interval_s", Float, nullable=False),
    Column("retry_max_interval_s", Float, nullable=False),
    Column("retry_max_attempts", Integer, nullable=False),
    Column("timeout_s", Float, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("deleted", Float, nullable=True),
    # Payload shaping (migration 0002): field selection and a sandboxed transformation of the body.
    Column("fields_include", JSON, nullable=True),
    Column("fields_exclude", JSON, nullable=True),
    Column("transform", Text, nullable=True),
    # Auto-halt (migration 0002): the settings (null = the operator's defaults) and the failure streak.
    Column("auto_halt_failures", Integer, nullable=True),
    Column("auto_halt_window_s", Float, nullable=True),
    Column("failure_streak", Integer, nullable=False, server_default=text("0")),
    Column("failing_since", Float, nullable=True),
    Column("halted_at", Float, nullable=True),
    Column("halted_reason", Text, nullable=True),
    # A route that stands for an Ordergroove-style target (``/webhook_targets``): its event types are the
    # union of the target's filters.
    Column("ordergroove", Boolean, nullable=False, server_default=text("false")),
    # Per-key ordering (migration 0011): none, object or customer (``hookline.core.ordering``).
    Column("ordering", String(16), nullable=False, server_default=text("'none'")),
)

filters = Table(
    "filters",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), nullable=False),
    Column("target_id", String(40), ForeignKey("targets.id"), nullable=False, index=True),
    Column("pattern", Text, nullable=False),
    Column("created", Float, nullable=False),
)

objects = Table(
    "objects",
    metadata,
    Column("merchant_id", String(40), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("public_id", String(100), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("email", String(320), nullable=True),
    Column("updated", Float, nullable=False),
    # The id named by the kind's parent field (an item's order; ``snapshot.parent_id``), for reverse lookups.
    Column("parent_id", String(100), nullable=True),
    # Since when this version is the object's (migration 0010); the ones before it are in object_versions.
    # Copies stored before versioning count as valid since 0: hookline has no older one.
    Column("valid_from", Float, nullable=False, server_default=text("0")),
    Index("ix_objects_email", "merchant_id", "email"),
    Index("ix_objects_parent", "merchant_id", "kind", "parent_id"),
)

# The versions an object had before its current one (migration 0010), each valid from ``valid_from``
# (inclusive) until ``valid_until`` (exclusive): a payload built later for an older event reads the
# objects as they were when it was accepted. Retention deletes the versions no stored event falls in.
object_versions = Table(
    "object_versions",
    metadata,
    Column("merchant_id", String(40), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("public_id", String(100), primary_key=True),
    Column("valid_from", Float, primary_key=True),
    Column("valid_until", Float, nullable=False),
    Column("data", JSON, nullable=False),
    Column("parent_id", String(100), nullable=True),
    Index("ix_object_versions_parent", "merchant_id", "kind", "parent_id"),
    Index("ix_object_versions_until", "valid_until"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), nullable=False, index=True),
    Column("route_id", String(40), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("params", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("total", Integer, nullable=True),
    Column("done", Integer, nullable=False, server_default=text("0")),
    Column("cursor", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
    Column("lease_until", Float, nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("merchant_id", String(40), ForeignKey("merchants.id"), primary_key=True),
    Column("id", String(100), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("received", Float, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("object_id", String(100), nullable=True),
    Column("customer_id", String(100), nullable=True),
    Column("object", JSON, nullable=False),
    Column("context", JSON, nullable=True),
    # An event accepted in spite of its type's schema (HOOKLINE_EVENT_VALIDATION=flag): [{"path", "detail"}]
    # (migration 0009); SQL NULL (not JSON null) for an event that matched, so that flagged ones are found.
    Column("schema_errors", JSON(none_as_null=True), nullable=True),
    Index("ix_events_merchant_received", "merchant_id", "received"),
    Index("ix_events_object", "merchant_id", "object_id"),
    Index("ix_events_customer", "merchant_id", "customer_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("route_id", String(40), nullable=False),
    Column("target_id", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # Attempts made before the last manual resend: the retry budget counts from here.
    Column("attempt_base", Integer, nullable=False, server_default=text("0")),
    # For a pending delivery: when it may next be claimed. Claiming pushes it past the lease, so a worker that
    # dies mid-attempt leaves the delivery claimable again once the lease runs out.
    Column("next_attempt_at", Float, nullable=True),
    Column("created", Float, nullable=False),
    Column("completed", Float, nullable=True),
    Column("last_response_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    # Its body, in ``delivery_bodies`` (migration 0017): one row for all the deliveries of an event stored
    # together whose bodies are the same bytes, so a fan-out writes the body once.
    Column("body_id", String(40), nullable=False, server_default=text("''")),
    Column("is_test", Boolean, nullable=False, server_default=text("false")),
    # Per-key ordering (migration 0011): the key of a delivery on an ordered route, and its number among the
    # route's deliveries of that key (1, 2, 3 ... in the order the events were accepted). A delivery with a
    # number is claimed only once no open delivery of its route and key has a lower one; a resent delivery
    # loses its number (it goes out of band) and keeps its key.
    Column("ordering_key", String(100), nullable=True),
    Column("sequence", BigInteger, nullable=True),
    Index(
        # The target too: a claim that leaves out busy targets filters on the index alone.
        "ix_deliveries_due",
        "next_attempt_at",
        "target_id",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    Index("ix_deliveries_merchant_id", "merchant_id", "id"),
    Index("ix_deliveries_route_id", "route_id", "id"),
    Index("ix_deliveries_event", "merchant_id", "event_id"),
    # Retention finds finished deliveries by age (migration 0003).
    Index("ix_deliveries_completed", "completed"),
    # The open numbered deliveries of a route and key, lowest number first: what a claim of an ordered
    # delivery looks up (migration 0011). Only those rows: unordered deliveries never enter it.
    # The due numbered deliveries, for the claim's look for those that wait behind an earlier one of their
    # key (``storage.ordering.park``; migration 0011).
    Index(
        "ix_deliveries_due_ordered",
        "next_attempt_at",
        postgresql_where=text(DUE_ORDERED),
        sqlite_where=text(DUE_ORDERED),
    ),
    Index(
        "ix_deliveries_ordering",
        "route_id",
        "ordering_key",
        "sequence",
        postgresql_where=text(open_ordered()),
        sqlite_where=text(open_ordered()),
    ),
)

# The bytes sent for deliveries (migration 0017): written once per event and distinct body in the
# transaction that stores the deliveries (``storage.bodies``), never changed, deleted by retention with the
# last delivery that uses it. Kept apart so that the claim and the record of every attempt rewrite small
# rows, and a fan-out of N deliveries with the same body stores it once.
delivery_bodies = Table(
    "delivery_bodies",
    metadata,
    Column("id", String(40), primary_key=True),  # the id of the first delivery stored with it
    Column("merchant_id", String(40), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("body", LargeBinary, nullable=False),
)

# The last number given to each (route, key) of an ordered route (migration 0011); bumped in the
# transaction that stores the deliveries, so two transactions never give out the same number and a rolled
# back one gives out none.
ordering_sequences = Table(
    "ordering_sequences",
    metadata,
    Column("route_id", String(40), primary_key=True),
    Column("ordering_key", String(100), primary_key=True),
    Column("last", BigInteger, nullable=False),
)

# ``hookline listen`` sessions (migration 0016, docs/listen.md): one row per connected listener, kept alive
# by its API process; a route with a live one is left to that process by the workers.
listeners = Table(
    "listeners",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("route_id", String(40), nullable=False),
    Column("connected", Float, nullable=False),
    Column("seen", Float, nullable=False),
    Index("ix_listeners_route", "route_id", "seen"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("delivery_id", String(40), nullable=False),
    Column("number", Integer, nullable=False),
    Column("started", Float, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("request_headers", JSON, nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_headers", JSON, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("error_kind", String(16), nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_attempts_delivery", "delivery_id", "number"),
)

# Merchant notifications (migration 0011, docs/notifications.md): each merchant's channels, and the outbox
# of notices written in the transaction that halts a route, sent by the worker process with retries.
notification_settings = Table(
    "notification_settings",
    metadata,
    Column("merchant_id", String(40), primary_key=True),
    Column("emails", JSON, nullable=False),
    Column("slack_webhook_url", Text, nullable=True),
    Column("kinds", JSON, nullable=False),  # the API's "on"
    Column("updated", Float, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("route_id", String(40), nullable=True),
    Column("channel", String(10), nullable=False),  # email | slack
    Column("destination", JSON, nullable=False),  # the addresses, or {"url": ...}
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # When it is due; while a process sends it, the end of that process's lease (and its token).
    Column("next_attempt_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created", Float, nullable=False),
    Column("sent", Float, nullable=True),
    Index("ix_notifications_due", "status", "next_attempt_at"),
    Index("ix_notifications_route", "route_id", "kind", "created"),
    Index("ix_notifications_merchant", "merchant_id", "id"),
)
