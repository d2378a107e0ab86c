"""What each field of the request bodies means, for the API reference.

Kept here rather than on the models, which the validation rules keep changing: ``reference.document``
gives every property of every body schema its description from this table, by ``Model.field`` or by the
field's name alone where it means the same in every body; ``tests/api/test_reference.py`` fails on a
property that has none.
"""

from __future__ import annotations

from typing import Final

FIELDS: Final[dict[str, str]] = {
    "merchant": "The merchant the operator key acts for (a merchant key acts for its own; "
    "the `?merchant=` parameter does the same).",
    "MerchantIn.name": "The merchant's name, as the dashboard shows it.",
    "MerchantPatch.name": "The merchant's name, as the dashboard shows it.",
    "PortalLinkIn.ttl_s": "Seconds the link may wait to be opened (10 to 3600; 600 by default).",
    "PortalLinkIn.read_only": "The session it opens sees everything and changes nothing.",
    "ListenReportIn.duration_ms": "How long the local URL took to answer (or to fail), in milliseconds.",
    "ListenReportIn.response_status": "The local URL's HTTP status; a 2xx is a success (docs/listen.md).",
    "ListenReportIn.response_headers": "The local answer's headers.",
    "ListenReportIn.response_body": "The local answer's body (the first 4 KiB are kept).",
    "ListenReportIn.error_kind": "Why the local URL gave no answer, instead of `response_status`: "
    "`timeout`, `connect`, `reset`, `dns`, `tls` or `protocol`.",
    "ListenReportIn.error": "What went wrong, in words (with `error_kind`).",
    "PortalLinkIn.return_url": "The platform's page (`http(s)://…`) the dashboard offers to go back to.",
    "public_id": "The merchant's id on the commerce platform (Ordergroove's merchant public id); "
    "`/webhook_targets` and events may name the merchant by it.",
    "url": "Where deliveries are POSTed: `https://…` (plain `http://` unless HOOKLINE_REQUIRE_HTTPS; "
    "loopback and private addresses only where HOOKLINE_ALLOW_PRIVATE_TARGETS), or a broker URL "
    "(`redis(s)://`, `nats://` or `tls://`, `amqp(s)://`) with a `destination`; "
    "its password is never shown back. "
    "`listen://<name>`: a listener target, whose deliveries `hookline listen` takes (docs/listen.md).",
    "destination": "Where a broker target publishes (docs/destinations.md): for `redis(s)://` "
    '`{"stream", "maxlen"?}`, for `nats://` / `tls://` `{"subject"}`, '
    'for `amqp(s)://` `{"exchange", "routing_key"}`; '
    "null for an http(s) target. "
    "A PATCH without it keeps the current one.",
    "enabled": "A disabled target gets nothing; its routes' pending deliveries are canceled.",
    "target_url": "Where deliveries are POSTed (Ordergroove's name for `url`).",
    "pattern": "Event types or family wildcards separated by `|` (`order.*|subscription.cancel`), "
    "matched whole.",
    "name": "The route's name, as the dashboard shows it.",
    "target_id": "The target the route delivers to.",
    "event_types": "Event types and family wildcards (`order.*`) the route receives (GET /v1/event-types).",
    "snapshot": "Which platform objects to add to each payload, per event family: "
    '`{"order": ["customer", "items", "products"]}` (docs/payloads.md).',
    "state": "`active`, `halted` (deliveries held) or `disabled` (pending deliveries canceled).",
    "retry": "The retry policy; omitted values keep the defaults (60 s, doubling, at most 600 s apart, "
    "60 attempts).",
    "initial_interval_s": "Seconds before the first retry.",
    "max_interval_s": "The longest wait between two attempts, in seconds.",
    "max_attempts": "Attempts before a delivery is `failed`, the first one included.",
    "timeout_s": "Seconds to wait for the receiver's answer (5 by default; 0.5 to 30).",
    "headers": "Custom headers sent with every delivery of the route.",
    "auto_halt": "When the route halts itself after consecutive failures (docs/lifecycle.md); null: the "
    "server's defaults.",
    "failures": "Consecutive failed attempts that halt the route (0: never).",
    "window_s": "The least time, in seconds, those failures must span.",
    "fields_include": "Only these fields of the payload, as dotted paths (docs/transform.md).",
    "fields_exclude": "These fields of the payload left out, as dotted paths (docs/transform.md).",
    "transform": "A JMESPath expression that reshapes the payload (docs/transform.md).",
    "event": "The event to preview with (a sample of the route's first type when omitted).",
    "PreviewIn.snapshot": "The snapshot to preview with (objects from the store when omitted).",
    "PreviewIn.event_id": "A stored event to preview with, its snapshot as it was when it was accepted.",
    "point_in_time": "Snapshots as the objects were when each event was accepted (the default), or as "
    "they are now (`false`).",
    "status": "The statuses of the deliveries to resend (`failed` and `canceled` by default).",
    "dry_run": '`true`: answer 200 `{"count"}`, how many it would go through, and change nothing.',
    "since": "From this time (ISO 8601, inclusive).",
    "until": "Before this time (ISO 8601, exclusive; now when omitted).",
    "TestEventsIn.event_types": "The types to send a test event of (every type of the route when omitted).",
    "NotificationsIn.emails": "Addresses e-mailed when a route halts or is failing (at most 10; each a plain "
    "address such as `ops@example.com`). Sent through the server's HOOKLINE_SMTP_URL.",
    "NotificationsIn.slack_webhook_url": 'A Slack-compatible incoming-webhook URL that gets `{"text": …}` '
    "posts; null: none. The rules of a target's `url` apply (docs/notifications.md).",
    "NotificationsIn.on": "What the merchant is told of: `route.halted` (a route halted itself) and "
    "`route.failing` (a route's failure rate crossed the threshold).",
}


def describe(model: str, field: str) -> str | None:
    """The description of ``model``'s ``field``: its own, else the one shared by its name."""
    return FIELDS.get(f"{model}.{field}") or FIELDS.get(field)
