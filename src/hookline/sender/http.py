"""The outbound HTTP sender: one POST per delivery attempt, turned into an ``Outcome``, never an exception.

One aiohttp session (and so one connection pool and one DNS cache) serves every attempt of a worker
process: a session per request would pay a TCP and TLS handshake and a DNS lookup each time, which is most
of the cost of a webhook. A bad endpoint is the normal case here, so every failure is reported as data
(``Outcome.error``) for the worker to record and schedule a retry from.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from typing import Any

import aiohttp

from hookline.core.credentials import Mtls
from hookline.core.models import ErrorKind, Outcome
from hookline.sender import client_certs, egress, failures, port, vocabulary
from hookline.sender.resolver import GuardedResolver


def _response_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    """Lower-case names; a repeated header is joined with ", " as HTTP allows."""
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> str:
    """At most ``limit`` bytes of the body, so a receiver streaming gigabytes costs nothing to keep."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = await response.content.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


class Sender:
    """POSTs webhook bodies through one pooled aiohttp session, with the SSRF guard on every connection.

    Build it inside a running event loop (``open_sender`` does), and ``close`` it when done.
    """

    def __init__(self, options: port.Options) -> None:
        self._options = options
        resolver: aiohttp.abc.AbstractResolver = aiohttp.DefaultResolver()
        # The proxy is the operator's setting, so its own address is not judged (it may well be private).
        proxy = options.proxy
        exempt = frozenset({proxy.host}) if proxy is not None else frozenset()
        self._resolver = resolver if options.allow_private else GuardedResolver(resolver, exempt=exempt)
        connector = aiohttp.TCPConnector(
            limit=options.max_connections,
            limit_per_host=0,  # per-target fairness is the worker's job, not the pool's
            ttl_dns_cache=vocabulary.DNS_TTL_S,
            resolver=self._resolver,
            keepalive_timeout=vocabulary.KEEPALIVE_S,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # A receiver's cookies must not leak into the next delivery, nor grow without bound.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Only a few KiB of the answer are kept, so compression buys nothing and invites zip bombs.
            skip_auto_headers=("Accept-Encoding",),
            trust_env=False,  # an HTTP_PROXY in the environment must not reroute (or unguard) deliveries
        )
        self._closed = False

    def _tls(self, client_cert: Mtls | None) -> ssl.SSLContext | bool:
        if client_cert is not None:
            return client_certs.context(
                client_cert.certificate, client_cert.private_key, self._options.ca_file
            )
        return client_certs.verifying(self._options.ca_file) if self._options.ca_file else True

    async def send(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout_s: float,
        client_cert: Mtls | None = None,
    ) -> Outcome:
        """POST ``body`` to ``url`` (presenting ``client_cert`` if given) and report what happened;
        redirects are answers, not followed."""
        started = time.time()
        clock = time.perf_counter()
        request_headers = vocabulary.request_headers(headers)
        target = vocabulary.target(url, self._options.allow_private, self._options.require_https)
        if isinstance(target, tuple):
            kind, reason = target
            return Outcome(started, port.ms_since(clock), request_headers, error=kind, error_detail=reason)
        send_to, send_headers, via = target, request_headers, dict[str, Any]()
        if self._options.proxy is not None:
            pinned = await egress.pin(target, guarded=not self._options.allow_private)
            if isinstance(pinned, tuple):
                kind, reason = pinned
                return Outcome(
                    started, port.ms_since(clock), request_headers, error=kind, error_detail=reason
                )
            send_to, send_headers = pinned.url, {**request_headers, "Host": pinned.host_header}
            via = {"proxy": self._options.proxy.url, "server_hostname": pinned.name}
        status: int | None = None
        response_headers: dict[str, str] = {}
        try:
            async with self._session.post(
                send_to,
                data=body,
                headers=send_headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                allow_redirects=False,
                ssl=self._tls(client_cert),
                **via,
            ) as response:
                status = response.status
                response_headers = _response_headers(response)
                text = await _read_limited(response, self._options.response_body_limit)
        except Exception as exc:  # every failure of the endpoint is an outcome, never an exception
            kind = failures.kind_of(exc)
            detail = failures.detail_of(exc, kind, timeout_s)
            if self._options.proxy is not None and failures.of_proxy(exc):
                kind, detail = egress.failure(detail)
            return Outcome(
                started,
                port.ms_since(clock),
                request_headers,
                status=status,
                response_headers=response_headers,
                error=kind,
                error_detail=detail,
            )
        return Outcome(
            started,
            port.ms_since(clock),
            request_headers,
            status=status,
            response_headers=response_headers,
            response_body=text,
            error=None if 200 <= status < 300 else ErrorKind.STATUS,
        )

    async def close(self) -> None:
        """Close the pool and the resolver; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._session.close()
        await self._resolver.close()


def open_sender(options: port.Options) -> contextlib.AbstractAsyncContextManager[Sender]:
    """A ready ``Sender``, closed on exit (call it inside the running event loop)."""
    return port.opened(Sender(options))
