"""Rendering resources: JSON bytes via orjson, ISO 8601 UTC times, and the public shape of each row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

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
    return {"id": row["id"], "name": row["name"], "created": iso(row["created"])}


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
        "url": row["url"],
        "enabled": row["enabled"],
        "created": iso(row["created"]),
        "updated": iso(row["updated"]),
    }


def signing_key(keys: dict[str, Any]) -> dict[str, Any]:
    return {
        "signing_key": keys["signing_key"],
        "expiring_signing_key": keys["expiring_signing_key"],
        "signing_key_expiry": iso(keys["signing_key_expiry"]),
        "standard_webhooks_secret": standard_secret(keys["signing_key"].encode()),
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
        "created": iso(row["created"]),
        "updated": iso(row["updated"]),
    }


def event(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "type": row["type"],
        "created": row["created"],
        "received": iso(row["received"]),
        "data": {"object": row["object"]},
        "context": row["context"],
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
