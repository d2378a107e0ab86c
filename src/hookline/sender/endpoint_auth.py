"""Endpoint authentication on the way out: what a target's sealed ``auth`` adds to each of its attempts.

``basic`` adds ``Authorization: Basic …``; ``oauth2`` adds ``Authorization: Bearer <token>``, the token got
from the target's token endpoint (client credentials, the client authenticated with HTTP Basic as RFC 6749
§2.3.1 requires every server to accept) through the same guarded client as the deliveries, kept per target
until shortly before it expires, and got again once when the receiver answers 401; ``mtls`` hands the
client certificate to the client (``Port.send``'s ``client_cert``). The ``Authorization`` header an attempt
carried is recorded as ``[redacted]`` (``core.redaction``): attempts are shown in the API and the dashboard.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from hookline.core import credentials, redaction
from hookline.core.models import ErrorKind, Outcome
from hookline.sender import vocabulary
from hookline.sender.port import Port

TOKEN_MARGIN_S = 30.0  # a token is got again this long before it expires (at most half its life early)
DEFAULT_TOKEN_TTL_S = 3600.0  # when the token endpoint gives no ``expires_in``
_LEAST_S = 0.1  # the least time a step of an attempt is given, however little of its timeout is left
_MAX_CACHED = 10_000  # targets whose token (or opened credentials) are kept; the oldest go first


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    good_until: float


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _without_authorization(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() != "authorization"}


def _redacted(outcome: Outcome) -> Outcome:
    return replace(outcome, request_headers=redaction.recorded(outcome.request_headers))


def _failed(started: Outcome | None, headers: dict[str, str], kind: ErrorKind, detail: str) -> Outcome:
    """An attempt that never reached the receiver because its credentials could not be had."""
    sent = vocabulary.request_headers(headers)  # the headers it would have sent, as attempts record them
    if started is None:
        return Outcome(time.time(), 0.0, sent, error=kind, error_detail=detail)
    return Outcome(started.started, started.duration_ms, sent, error=kind, error_detail=detail)


V = TypeVar("V")


def _bounded_put(cache: dict[str, V], key: str, value: V) -> None:
    if len(cache) >= _MAX_CACHED and key not in cache:
        del cache[next(iter(cache))]
    cache[key] = value


class Authenticator:
    """Sends attempts with their target's credentials; one per worker, sharing its tokens across attempts."""

    def __init__(
        self, keyring: credentials.Keyring | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._keyring = keyring
        self._clock = clock
        self._opened: dict[str, credentials.Auth] = {}  # by the sealed form
        self._tokens: dict[str, _Token] = {}  # by the sealed form: new credentials, new token
        self._fetching: dict[str, asyncio.Future[_Token | Outcome]] = {}
        #: Token requests made (for tests and metrics).
        self.token_requests = 0

    async def send(
        self, port: Port, sealed: str | None, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Outcome:
        """One attempt at ``url`` with the credentials sealed in ``sealed`` (None: none)."""
        if sealed is None:
            return await port.send(url, body, headers, timeout_s)
        auth = self._open(sealed)
        if isinstance(auth, str):
            return _failed(None, headers, ErrorKind.PROTOCOL, auth)
        if isinstance(auth, credentials.Mtls):
            return await port.send(url, body, headers, timeout_s, client_cert=auth)
        plain = _without_authorization(headers)
        if isinstance(auth, credentials.Basic):
            given = {**plain, "Authorization": _basic(auth.username, auth.password)}
            return _redacted(await port.send(url, body, given, timeout_s))
        assert isinstance(auth, credentials.OAuth2)
        # The token requests and the sends share the attempt's timeout, so an attempt stays within the
        # lease its claim took for one timeout.
        deadline = time.monotonic() + timeout_s if timeout_s > 0 else None

        def left() -> float:
            return timeout_s if deadline is None else max(deadline - time.monotonic(), _LEAST_S)

        token = await self._token(port, sealed, auth, left(), plain)
        if isinstance(token, Outcome):
            return token
        outcome = await port.send(url, body, {**plain, "Authorization": f"Bearer {token}"}, left())
        if outcome.status == 401:  # the token may have been revoked or expired early: get one more, once
            if (cached := self._tokens.get(sealed)) is not None and cached.value == token:
                del self._tokens[sealed]
            token = await self._token(port, sealed, auth, left(), plain)
            if isinstance(token, Outcome):
                return token
            outcome = await port.send(url, body, {**plain, "Authorization": f"Bearer {token}"}, left())
        return _redacted(outcome)

    def _open(self, sealed: str) -> credentials.Auth | str:
        """The credentials, or why they cannot be opened (a sentence for the attempt log)."""
        known = self._opened.get(sealed)
        if known is not None:
            return known
        if self._keyring is None:
            return "the target's credentials cannot be opened: HOOKLINE_SECRET_KEY is not set"
        try:
            auth = self._keyring.open(sealed)
        except credentials.InvalidToken:
            return (
                "the target's credentials cannot be opened: they were sealed with a key that is neither "
                "HOOKLINE_SECRET_KEY nor one of HOOKLINE_SECRET_KEY_OLD"
            )
        _bounded_put(self._opened, sealed, auth)
        return auth

    async def _token(
        self, port: Port, sealed: str, auth: credentials.OAuth2, timeout_s: float, headers: dict[str, str]
    ) -> str | Outcome:
        cached = self._tokens.get(sealed)
        if cached is not None and cached.good_until > self._clock():
            return cached.value
        pending = self._fetching.get(sealed)
        if pending is None:  # one request per target at a time; the others wait for its answer
            pending = asyncio.ensure_future(self._fetch(port, auth, timeout_s))
            self._fetching[sealed] = pending
            pending.add_done_callback(lambda _: self._fetching.pop(sealed, None))
        got = await asyncio.shield(pending)
        if isinstance(got, Outcome):
            return _failed(got, headers, got.error or ErrorKind.PROTOCOL, got.error_detail or "")
        _bounded_put(self._tokens, sealed, got)
        return got.value

    async def _fetch(self, port: Port, auth: credentials.OAuth2, timeout_s: float) -> _Token | Outcome:
        """A token from the token endpoint, or the failed outcome saying why not."""
        self.token_requests += 1
        form = {"grant_type": "client_credentials"}
        if auth.scope:
            form["scope"] = auth.scope
        quote = urllib.parse.quote
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Authorization": _basic(quote(auth.client_id, safe=""), quote(auth.client_secret, safe="")),
        }
        body = urllib.parse.urlencode(form).encode()
        answer = await port.send(auth.token_url, body, headers, timeout_s)
        prefix = f"OAuth2 token request to {auth.token_url} failed: "
        if answer.error is not None and answer.error is not ErrorKind.STATUS:
            return replace(answer, error_detail=prefix + (answer.error_detail or answer.error.value))
        if answer.status != 200:
            return replace(
                answer, error=ErrorKind.PROTOCOL, error_detail=f"{prefix}it answered {answer.status}"
            )
        try:
            document = json.loads(answer.response_body or "")
            token = document["access_token"]
            if not isinstance(token, str) or not token or "\n" in token or "\r" in token:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            detail = f"{prefix}its answer has no access_token (a JSON object with one was expected)"
            return replace(answer, error=ErrorKind.PROTOCOL, error_detail=detail)
        lifetime = document.get("expires_in")
        ttl = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_TOKEN_TTL_S
        return _Token(token, self._clock() + max(ttl - TOKEN_MARGIN_S, ttl / 2))
