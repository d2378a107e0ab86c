"""Rendering resources: JSON bytes via orjson, ISO 8601 UTC times, and the public shape of each row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from hookline import credentials
from hookline.signing import standard_secret


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def merchant(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "public_id": row.get("public_id"),
        "created": iso(row["created"]),
    }


def portal_link(row: dict[str, Any], url: str) -> dict[str, Any]:
    return {
        "id": row["id"],
        "merchant_id": row["merchant_id"],
        "url": url,
        "expires": iso(row["expires"]),
        "read_only": row["read_only"],
        "return_url": row["return_url"],
        "created": iso(row["created"]),
    }


def api_key(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "hint": row["hint"],
        "created": iso(row["created"]),
        "revoked": iso(row.get("revoked")),
    }


def target(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "merchant": row["merchant_id"],
        "url": row["url"],  # as ``service.targets.shown`` gives it
        "destination": row.get("destination"),
        "enabled": row["enabled"],
        # The type and non-secret fields only: the secrets are write-only (``credentials.shown``).
        "auth": credentials.shown(row.get("auth")),
        "created": iso(row["created"]),
        "updated": iso(row["updated"]),
    }


def signing_key(keys: dict[str, Any]) -> dict[str, Any]:
    return {
        "signing_key": keys["signing_key"],
        "expiring_signing_key": keys["expiring_signing_key"],
        "signing_key_expiry": iso(keys["signing_key_expiry"]),
        "standard_webhooks_secret": standard_secret(keys["signing_key"].encode()),
        "standard_webhooks_public_key": keys["public_key"],
    }


def route(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "merchant": row["merchant_id"],
        "name": row["name"],
        "target_id": row["target_id"],
        "event_types": row["event_types"],
        "state": row["state"],
        "snapshot": row["snapshot"],
        "retry": {
            "initial_interval_s": row["retry_initial_interval_s"],
            "max_interval_s": row["retry_max_interval_s"],
            "max_attempts": row["retry_max_attempts"],
        },
        "timeout_s": row["timeout_s"],
        "headers": row["headers"],
        "fields": {"include": row.get("fields_include"), "exclude": row.get("fields_exclude")},
        "transform": row.get("transform"),
        "ordering": row.get("ordering") or "none",
        **route_health(row),
        "created": iso(row["created"]),
        "updated": iso(row["updated"]),
    }


def route_health(row: dict[str, Any]) -> dict[str, Any]:
    """Auto-halt settings (null: the operator's defaults), the current failure streak and the last halt."""
    failures, window_s = row.get("auto_halt_failures"), row.get("auto_halt_window_s")
    return {
        "auto_halt": None
        if failures is None and window_s is None
        else {"failures": failures, "window_s": window_s},
        "failure_streak": row.get("failure_streak") or 0,
        "failing_since": iso(row.get("failing_since")),
        "halted_at": iso(row.get("halted_at")),
        "halted_reason": row.get("halted_reason"),
    }


def event(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "type": row["type"],
        "created": row["created"],
        "received": iso(row["received"]),
        "data": {"object": row["object"]},
        "context": row["context"],
        # Accepted in spite of its type's schema (HOOKLINE_EVENT_VALIDATION=flag), and where it broke it.
        "flagged": row.get("schema_errors") is not None,
        "schema_errors": row.get("schema_errors") or [],
    }


def delivery(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "route_id": row["route_id"],
        "target_id": row["target_id"],
        "status": row["status"],
        "attempts": row["attempts"],
        "next_attempt_at": iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "created": iso(row["created"]),
        "completed": iso(row["completed"]),
        "last_response_status": row["last_response_status"],
        "last_error": row["last_error"],
        "test": row["is_test"],
        # Per-key ordering: the key and number (null on an unordered route; a resent delivery keeps its key
        # and loses its number), and the delivery of the same key this pending one waits for.
        "ordering_key": row.get("ordering_key"),
        "sequence": row.get("sequence"),
        "waiting_for": row.get("waiting_for"),
    }


def attempt(row: dict[str, Any], payload: bytes) -> dict[str, Any]:
    return {
        "number": row["number"],
        "started": iso(row["started"]),
        "duration_ms": round(row["duration_ms"], 3),
        "request": {"headers": row["request_headers"], "body": payload.decode("utf-8", "replace")},
        "response": {
            "status": row["response_status"],
            "headers": row["response_headers"] or {},
            "body": row["response_body"] or "",
        }
        if row["response_status"] is not None
        else None,
        "error": row["error"],
        "error_kind": row["error_kind"],
    }


def job(row: dict[str, Any]) -> dict[str, Any]:
    """A background job (bulk resend, replay) and its progress; ``skipped``: events a replay left alone."""
    params = row["params"] or {}
    cursor = orjson.loads(row["cursor"]) if row["cursor"] else {}
    body = {
        "id": row["id"],
        "kind": row["kind"],
        "route_id": row["route_id"],
        "status": row["status"],
        "total": row["total"],
        "done": row["done"],
        "error": row["error"],
        "created": iso(row["created"]),
        "updated": iso(row["updated"]),
        "params": {
            **params,
            "since": iso(params.get("since")),
            "until": iso(params.get("until")),
        },
    }
    if row["kind"] == "replay":
        body["skipped"] = cursor.get("skipped", 0)
        # Replays recorded before it could be chosen are point in time too.
        body["params"]["point_in_time"] = params.get("point_in_time", True)
    return body
