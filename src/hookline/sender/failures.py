"""How an exception from aiohttp becomes an ``ErrorKind`` and a short sentence for the merchant.

The worker decides retries and the dashboard explains failures from the kind alone, so the mapping is
table-driven and ordered: aiohttp's exceptions form a tree (a certificate error is also a connector
error, a connect timeout is also a timeout), and the first matching row wins.
"""

from __future__ import annotations

import ssl

import aiohttp

from hookline.core.models import ErrorKind
from hookline.sender import vocabulary
from hookline.sender.guard import Blocked

_KINDS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], ErrorKind], ...] = (
    (Blocked, ErrorKind.BLOCKED),
    (aiohttp.NonHttpUrlClientError, ErrorKind.BLOCKED),
    (TimeoutError, ErrorKind.TIMEOUT),
    ((aiohttp.ClientSSLError, ssl.SSLError, ssl.CertificateError), ErrorKind.TLS),
    (aiohttp.ClientConnectorDNSError, ErrorKind.DNS),
    (aiohttp.ClientConnectorError, ErrorKind.CONNECT),
    (
        (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, ConnectionError, aiohttp.ClientOSError),
        ErrorKind.RESET,
    ),
)


def kind_of(exc: BaseException) -> ErrorKind:
    """The kind of failure ``exc`` is; ``PROTOCOL`` for anything not recognised (bad response, bad URL)."""
    for types, kind in _KINDS:
        if isinstance(exc, types):
            return kind
    return ErrorKind.PROTOCOL


def of_proxy(exc: BaseException) -> bool:
    """Whether ``exc`` is the egress proxy's failure (unreachable, or it refused the ``CONNECT``)."""
    return isinstance(exc, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError))


def _os_words(exc: BaseException) -> str | None:
    """The words for the underlying OS error of a connector error, if it has a well-known errno."""
    cause = getattr(exc, "os_error", None) or exc
    code = getattr(cause, "errno", None)
    return vocabulary.ERRNO_WORDS.get(code) if isinstance(code, int) else None


def detail_of(exc: BaseException, kind: ErrorKind, timeout_s: float) -> str:
    """A short sentence saying why the attempt failed, for the attempt log."""
    if isinstance(exc, Blocked):
        return exc.reason
    if kind is ErrorKind.TIMEOUT:
        return f"timed out after {timeout_s}s"
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return f"CONNECT answered {exc.status} {exc.message}".strip()
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection without a complete response"
    words = _os_words(exc)
    if words is not None:
        return words
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve {exc.host}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        return f"TLS certificate rejected: {getattr(cert_error, 'verify_message', None) or cert_error}"
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
