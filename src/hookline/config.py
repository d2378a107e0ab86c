"""Settings: read once from ``HOOKLINE_*`` environment variables; nothing else reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

PREFIX = "HOOKLINE_"


@dataclass(frozen=True, slots=True)
class Settings:
    #: SQLAlchemy-style URL: ``sqlite:///./hookline.db`` or ``postgresql://user@host/db``.
    database_url: str = "sqlite:///./hookline.db"
    #: Address and port the HTTP server listens on (``0.0.0.0``: every interface; behind a reverse proxy,
    #: keep ``127.0.0.1``).
    host: str = "127.0.0.1"
    port: int = 8080
    #: ``hookline worker`` serves ``/metrics``, ``/healthz`` and ``/readyz`` on ``host`` at this port (0: it
    #: serves no HTTP). The API and ``serve`` serve them on ``port``.
    metrics_port: int = 0
    #: The operator's key; when empty one is generated at first start and printed once.
    operator_key: str = ""
    #: The hookline API that ``simulate`` and the management commands (``merchants``, ``routes``,
    #: ``deliveries``) talk to; empty: ``http://HOST:PORT`` from the settings above.
    api_url: str = ""
    #: Allow targets on loopback, private, link-local addresses (development and tests only).
    allow_private_targets: bool = False
    #: Send every delivery (and Slack notice) through this HTTP proxy, ``http://host:port`` (docs/security.md,
    #: "Egress proxy"): ``CONNECT`` for https targets, absolute-form requests for http ones. hookline still
    #: resolves and judges each target's address itself and hands the proxy that address; the proxy's own
    #: address is not judged. Empty: deliveries connect directly.
    egress_proxy: str = ""
    #: Refuse plain-http target URLs.
    require_https: bool = False
    #: Offer the optional ``entitlement`` event family.
    entitlements: bool = False
    #: An event whose ``data.object`` breaks its type's schema (docs/event-types.md): ``strict`` refuses it
    #: (400 naming the failing paths), ``flag`` accepts and delivers it, stored with its problems.
    event_validation: str = "strict"
    #: Deliveries in flight at once in one worker process, and the ceiling of each target's learned limit
    #: (it starts at 4, grows while the target answers fast, halves on 429/503/timeouts).
    concurrency: int = 256
    per_target_concurrency: int = 64
    #: Deliveries claimed per round trip to the database.
    claim_batch: int = 200
    #: Seconds between safety-net polls when no wake-up arrives.
    poll_interval_s: float = 1.0
    #: Seconds a claimed delivery stays invisible to other workers (longer than any route timeout).
    lease_s: float = 60.0
    #: Seconds a ``hookline listen`` stream stays open before hookline ends it (between deliveries) and the
    #: listener connects again, so that no stream outlives a deploy or pins one API process (docs/listen.md).
    listen_stream_s: float = 900.0
    #: Auto-halt defaults for routes that set none: halt a route after this many consecutive failed attempts
    #: (0: never) once they span at least this many seconds. See docs/lifecycle.md.
    auto_halt_failures: int = 20
    auto_halt_window_s: float = 3600.0
    #: Merchant notifications (docs/notifications.md): the SMTP server e-mail goes through
    #: (``smtp://host:port``, ``smtp+starttls://user:password@host:port`` or ``smtps://host:port``; empty:
    #: no e-mail is sent, and e-mail notices wait, retried, until one is set), and the messages' ``From``.
    smtp_url: str = ""
    smtp_from: str = "hookline@localhost"
    #: A route is failing when at least ``notify_failing_rate`` (0 to 1) of its attempts in the last
    #: ``notify_failing_window_s`` seconds failed, and there were at least ``notify_failing_min_attempts``;
    #: its merchant is told at most once per ``notify_failing_every_s`` seconds per route.
    notify_failing_rate: float = 0.5
    notify_failing_min_attempts: int = 20
    notify_failing_window_s: float = 900.0
    notify_failing_every_s: float = 3600.0
    #: Finished deliveries (with their attempts and bodies) and events older than this many days are purged;
    #: 0 keeps everything. The worker process purges every ``retention_interval_s`` seconds.
    retention_days: float = 30.0
    retention_interval_s: float = 600.0
    #: Request bodies (see docs/security.md): the most a request with a valid API key may send, the most
    #: any other request may (the dashboard's forms, its sign-in, a request without a key), and how deeply
    #: a JSON body may nest. Checked before the body is read, or while it streams in.
    max_body_bytes: int = 5 * 1024 * 1024
    max_keyless_body_bytes: int = 64 * 1024
    max_json_depth: int = 64
    #: Shaping work (the routes' transformations; see docs/security.md), in units (a transformation step,
    #: or a value walked): the most one event's routes may take, the most one request may take, and each
    #: merchant's sustained share per second (one request's worth in hand).
    shaping_event_units: int = 250_000
    shaping_request_units: int = 1_000_000
    shaping_merchant_units_per_s: float = 300_000.0
    #: The key that seals targets' endpoint credentials (docs/security.md): a Fernet key, 32 bytes in
    #: url-safe base64. Without it, targets cannot be given ``auth``. Old keys, comma-separated, still open
    #: what they sealed while a rotation lasts (``hookline reseal`` re-seals with the new key).
    secret_key: str = ""
    secret_key_old: str = ""
    #: Bytes of a response body kept with an attempt.
    response_body_limit: int = 4096
    #: The worker's HTTP client: ``curl`` (libcurl through pycurl), or ``aiohttp``. Same behaviour (the sender
    #: tests run on both); curl takes about half the CPU per request (bench/senders.py).
    http_client: str = "curl"
    #: Failed authentications (unknown or revoked API keys, failed dashboard sign-ins) a client address may
    #: make at once before it is answered 429; after that one more per ``auth_failure_window_s / limit``
    #: seconds (0: no throttling). Counted per process, in a table of at most ``auth_failure_addresses``.
    auth_failure_limit: int = 20
    auth_failure_window_s: float = 60.0
    auth_failure_addresses: int = 100_000
    #: The HTTP server's limits on clients (docs/security.md): a request's line and headers must arrive within
    #: ``header_timeout_s`` (of the connection's opening, or of the request's first byte) and be at most
    #: ``max_header_bytes``; its body must arrive within ``body_timeout_s`` of its headers; an idle
    #: connection is closed after ``keep_alive_s``; at most ``max_connections`` are held at once, and
    #: ``max_connections_per_client`` from one client address (the ``forwarded_allow_ips`` are exempt).
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_header_bytes: int = 65536
    keep_alive_s: int = 5
    max_connections: int = 1000
    max_connections_per_client: int = 100
    #: Addresses (or networks) of reverse proxies whose ``X-Forwarded-For`` names the client (comma-separated,
    #: ``*`` for any): failed authentications are counted under the client it names, and the proxies'
    #: connections are exempt from ``max_connections_per_client``.
    forwarded_allow_ips: str = "127.0.0.1"
    #: Database connection pool size (PostgreSQL).
    pool_size: int = 10
    #: Seconds a transaction may take, all in (waiting for a pooled connection, connecting, statements, the
    #: commit); a request's transactions share one such deadline. Past it the request answers 503 and a
    #: worker retries. Keep it well under the clients' timeouts.
    db_timeout_s: float = 5.0
    #: Seconds connecting to PostgreSQL may take (within ``db_timeout_s``).
    db_connect_timeout_s: float = 2.0
    #: The embedded portal (docs/portal.md): origins allowed to frame the dashboard (space- or
    #: comma-separated, such as ``https://platform.example``; sent as CSP ``frame-ancestors``, and the
    #: dashboard's cookies become ``SameSite=None; Secure; Partitioned``); empty: no site may frame it.
    portal_frame_ancestors: str = ""
    #: The portal's theme, JSON ``{"name": "Acme", "logo_url": "https://…", "accent": "#0055ff"}`` (``name``
    #: required): shown instead of hookline's name to browsers signed in through a portal link.
    portal_brand: str = ""
    #: Log as JSON lines (``ts``, ``level``, ``logger``, ``msg``) instead of text.
    log_json: bool = False
    #: The lowest level logged: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``.
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from the environment, then from explicit overrides (CLI flags) that are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _cast(f.type, raw, f.name)
        settings = cls(**values)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def _cast(kind: Any, raw: str, name: str) -> Any:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind == "bool":
            word = raw.strip().lower()  # as int() and float(), tolerate surrounding whitespace
            if word in ("1", "true", "yes", "on"):
                return True
            if word in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SystemExit(f"{PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
