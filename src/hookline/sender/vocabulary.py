"""What both HTTP clients (``http.Sender`` on aiohttp, ``curl.CurlSender`` on libcurl) say the same way.

The default request headers and how a caller's headers merge with them, which URLs are sent to (and why
not), the words for well-known OS errors, and how long DNS answers and idle connections are kept: one
definition, so the two clients cannot drift apart.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Mapping

from yarl import URL

from hookline import __version__
from hookline.core.models import ErrorKind
from hookline.sender import guard

USER_AGENT = f"hookline/{__version__}"
DEFAULT_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
DNS_TTL_S = 10
# Shorter than the idle timeout of common receivers (uvicorn and Node close after 5 s), so hookline drops
# an idle connection before the server does, instead of racing a POST against the server's FIN: a POST is
# not retried on a stale connection and would show as a reset.
KEEPALIVE_S = 4.0

ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.ECONNABORTED: "connection aborted",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EPIPE: "connection closed while sending",
    errno.ETIMEDOUT: "connection timed out",
}


@functools.lru_cache(maxsize=4096)
def target(url: str, allow_private: bool, require_https: bool) -> URL | tuple[ErrorKind, str]:
    """The parsed URL, or why it is refused; cached because the same few URLs are sent to over and over."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        return ErrorKind.PROTOCOL, f"invalid URL: {exc}"
    if parsed.scheme in ("http", "https") and not parsed.raw_host:
        return ErrorKind.PROTOCOL, "invalid URL: it has no host"
    reason = guard.check_parsed(parsed, allow_private=allow_private, require_https=require_https)
    return parsed if reason is None else (ErrorKind.BLOCKED, reason)


def request_headers(given: Mapping[str, str]) -> dict[str, str]:
    """Defaults plus the caller's headers; a caller's header replaces a default whatever its case."""
    if not given:
        return dict(DEFAULT_HEADERS)
    names = {name.lower() for name in given}
    merged = {name: value for name, value in DEFAULT_HEADERS.items() if name.lower() not in names}
    merged.update(given)
    return merged
