"""A JWKS document's Ed25519 keys, fetched over HTTP(S) and cached.

A rotation at hookline publishes the new key at once and keeps signing with the old one for 24 hours, so
keys cached for minutes always include one that signs. A signature that no cached key verifies makes one
early fetch, at most every ``min_refresh_s``: a forged request cannot make the receiver fetch in a loop.
When a fetch fails, the keys fetched before keep serving.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from hookline_verify import _ed25519
from hookline_verify.errors import KeyFetchError

MAX_DOCUMENT_BYTES = 1 << 20


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are refused: one could lead an https:// URL to plain http://, where anyone on the path
    could hand over keys of their own. The URL to configure is the one hookline publishes."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Jwks:
    def __init__(
        self,
        url: str,
        *,
        cache_s: float = 300.0,
        min_refresh_s: float = 30.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"the JWKS URL must be http(s)://…, not {url!r}")
        self.url = url
        self._cache_s = cache_s
        self._min_refresh_s = min_refresh_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._keys: list[_ed25519.PublicKey] | None = None
        self._fresh_until = 0.0  # when the cached keys are due to be fetched again
        self._attempted = -float("inf")  # when a fetch was last tried
        self._lock = threading.Lock()

    def current(self) -> list[_ed25519.PublicKey]:
        """The cached keys, fetched first when none are cached or they are older than ``cache_s``."""
        with self._lock:
            if self._keys is None or self._clock() >= self._fresh_until:
                self._fetch()
            assert self._keys is not None
            return self._keys

    def refreshed(self) -> list[_ed25519.PublicKey] | None:
        """Keys fetched now, for a signature the cached ones do not verify; None when the last fetch was
        tried less than ``min_refresh_s`` ago."""
        with self._lock:
            if self._clock() - self._attempted < self._min_refresh_s:
                return None
            self._fetch()
            assert self._keys is not None
            return self._keys

    def _fetch(self) -> None:
        now = self._attempted = self._clock()
        try:
            self._keys = _parse(self._download())
            self._fresh_until = now + self._cache_s
        except KeyFetchError:
            if self._keys is None:
                raise
            self._fresh_until = now + self._min_refresh_s  # keep the keys known; try again soon

    def _download(self) -> bytes:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        try:
            with _OPENER.open(request, timeout=self._timeout_s) as response:
                body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise KeyFetchError(f"cannot fetch the JWKS document {self.url}: {exc}") from exc
        if len(body) > MAX_DOCUMENT_BYTES:
            raise KeyFetchError(f"the JWKS document {self.url} is larger than {MAX_DOCUMENT_BYTES} bytes")
        return body


def _parse(body: bytes) -> list[_ed25519.PublicKey]:
    """The Ed25519 signing keys of a JWKS document; other kinds of keys are skipped."""
    try:
        document: Any = json.loads(body)
        listed = document["keys"]
        if not isinstance(listed, list):
            raise TypeError("keys is not a list")
        return [_ed25519.PublicKey(_unb64url(jwk["x"])) for jwk in listed if _is_ed25519(jwk)]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise KeyFetchError(f"not a JWKS document of Ed25519 keys: {exc}") from exc


def _is_ed25519(jwk: Any) -> bool:
    return (
        isinstance(jwk, dict)
        and jwk.get("kty") == "OKP"
        and jwk.get("crv") == "Ed25519"
        and jwk.get("use", "sig") == "sig"
    )


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
