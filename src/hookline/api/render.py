"""Rendering resources: JSON bytes via orjson, ISO 8601 UTC times, and the public shape of each row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from hookline.core import credentials
from hookline.core.models import (
    ApiKey,
    Attempt,
    BulkJob,
    Delivery,
    DeliveryStatus,
    Merchant,
    Route,
    StoredEvent,
    Target,
)
from hookline.core.signing import standard_secret
from hookline.service.targets import LiveKeys
from hookline.storage.portal_links import PortalLink


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def merchant(found: Merchant) -> dict[str, Any]:
    return {
        "id": found.id,
        "name": found.name,
        "public_id": found.public_id,
        "created": iso(found.created),
    }


def portal_link(link: PortalLink, url: str) -> dict[str, Any]:
    return {
        "id": link.id,
        "merchant_id": link.merchant_id,
        "url": url,
        "expires": iso(link.expires),
        "read_only": link.read_only,
        "return_url": link.return_url,
        "created": iso(link.created),
    }


def api_key(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "hint": key.hint,
        "created": iso(key.created),
        "revoked": iso(key.revoked),
    }


def target(found: Target) -> dict[str, Any]:
    return {
        "id": found.id,
        "merchant": found.merchant_id,
        "url": found.url,  # as ``service.targets.shown`` gives it
        "destination": found.destination,
        "enabled": found.enabled,
        # The type and non-secret fields only: the secrets are write-only (``credentials.shown``).
        "auth": credentials.shown(found.auth),
        "created": iso(found.created),
        "updated": iso(found.updated),
    }


def signing_key(keys: LiveKeys) -> dict[str, Any]:
    return {
        "signing_key": keys.signing_key,
        "expiring_signing_key": keys.expiring_signing_key,
        "signing_key_expiry": iso(keys.signing_key_expiry),
        "standard_webhooks_secret": standard_secret(keys.signing_key.encode()),
        "standard_webhooks_public_key": keys.public_key,
    }


def route(found: Route) -> dict[str, Any]:
    return {
        "id": found.id,
        "merchant": found.merchant_id,
        "name": found.name,
        "target_id": found.target_id,
        "event_types": found.event_types,
        "state": found.state,
        "snapshot": found.snapshot,
        "retry": {
            "initial_interval_s": found.retry.initial_interval_s,
            "max_interval_s": found.retry.max_interval_s,
            "max_attempts": found.retry.max_attempts,
        },
        "timeout_s": found.timeout_s,
        "headers": found.headers,
        "fields": {"include": found.fields_include, "exclude": found.fields_exclude},
        "transform": found.transform,
        "ordering": found.ordering,
        **route_health(found),
        "created": iso(found.created),
        "updated": iso(found.updated),
    }


def route_health(found: Route) -> dict[str, Any]:
    """Auto-halt settings (null: the operator's defaults), the current failure streak and the last halt."""
    failures, window_s = found.auto_halt_failures, found.auto_halt_window_s
    return {
        "auto_halt": None
        if failures is None and window_s is None
        else {"failures": failures, "window_s": window_s},
        "failure_streak": found.failure_streak,
        "failing_since": iso(found.failing_since),
        "halted_at": iso(found.halted_at),
        "halted_reason": found.halted_reason,
    }


def event(stored: StoredEvent) -> dict[str, Any]:
    found = stored.event
    return {
        "id": found.id,
        "type": found.type,
        "created": found.created,
        "received": iso(stored.received),
        "data": {"object": found.object},
        "context": found.context,
        # Accepted in spite of its type's schema (HOOKLINE_EVENT_VALIDATION=flag), and where it broke it.
        "flagged": stored.schema_errors is not None,
        "schema_errors": stored.schema_errors or [],
    }


def delivery(found: Delivery) -> dict[str, Any]:
    return {
        "id": found.id,
        "event_id": found.event_id,
        "event_type": found.event_type,
        "route_id": found.route_id,
        "target_id": found.target_id,
        "status": found.status,
        "attempts": found.attempts,
        "next_attempt_at": iso(found.next_attempt_at) if found.status == DeliveryStatus.PENDING else None,
        "created": iso(found.created),
        "completed": iso(found.completed),
        "last_response_status": found.last_response_status,
        "last_error": found.last_error,
        "test": found.is_test,
        # Per-key ordering: the key and number (null on an unordered route; a resent delivery keeps its key
        # and loses its number), and the delivery of the same key this pending one waits for.
        "ordering_key": found.ordering_key,
        "sequence": found.sequence,
        "waiting_for": found.waiting_for,
    }


def attempt(found: Attempt, payload: bytes) -> dict[str, Any]:
    return {
        "number": found.number,
        "started": iso(found.started),
        "duration_ms": round(found.duration_ms, 3),
        "request": {"headers": found.request_headers, "body": payload.decode("utf-8", "replace")},
        "response": {
            "status": found.response_status,
            "headers": found.response_headers or {},
            "body": found.response_body or "",
        }
        if found.response_status is not None
        else None,
        "error": found.error,
        "error_kind": found.error_kind,
    }


def job(row: BulkJob) -> dict[str, Any]:
    """A background job (bulk resend, replay) and its progress; ``skipped``: events a replay left alone."""
    params = row.params or {}
    body: dict[str, Any] = {
        "id": row.id,
        "kind": row.kind,
        "route_id": row.route_id,
        "status": row.status,
        "total": row.total,
        "done": row.done,
        "error": row.error,
        "created": iso(row.created),
        "updated": iso(row.updated),
        "params": {
            **params,
            "since": iso(params.get("since")),
            "until": iso(params.get("until")),
        },
    }
    if row.kind == "replay":
        body["skipped"] = row.position.get("skipped", 0)
        # Replays recorded before it could be chosen are point in time too.
        body["params"]["point_in_time"] = params.get("point_in_time", True)
    return body
