"""The outbound sender on libcurl (pycurl): the aiohttp ``Sender``'s behaviour at about half its CPU.

Same port as ``http.Sender`` (``send`` → ``Outcome``, never an exception; ``close``), same URL checks and
header merge (``vocabulary``), same answers to the same endpoints: the sender tests run against both.
What libcurl would do differently by default is turned off here: it would follow no proxy from the
environment, send no ``Expect: 100-continue`` nor ``Accept-Encoding``, and — the one that needs code —
silently re-send a POST whose reused connection died, which ``curl_loop.Transfer`` refuses.

The SSRF guard judges each resolved address as libcurl opens a socket for it (``OPENSOCKETFUNCTION``), so
no connection to a refused address is ever attempted; IP-literal and metadata hosts are refused before that,
from the URL alone, exactly as by the aiohttp sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import pycurl  # type: ignore[import-untyped]
from yarl import URL

from hookline.core.credentials import Mtls
from hookline.core.models import ErrorKind, Outcome
from hookline.sender import egress, port, vocabulary
from hookline.sender.curl_loop import CLOSED, CurlLoop, Transfer

_TLS_CODES = frozenset({35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})
_KINDS: dict[int, ErrorKind] = {
    pycurl.E_OPERATION_TIMEDOUT: ErrorKind.TIMEOUT,
    pycurl.E_COULDNT_RESOLVE_HOST: ErrorKind.DNS,
    pycurl.E_COULDNT_CONNECT: ErrorKind.CONNECT,
    pycurl.E_INTERFACE_FAILED: ErrorKind.CONNECT,
    # aiohttp reports these as a disconnect or a payload error: the answer was cut off.
    pycurl.E_SEND_ERROR: ErrorKind.RESET,
    pycurl.E_RECV_ERROR: ErrorKind.RESET,
    pycurl.E_GOT_NOTHING: ErrorKind.RESET,
    pycurl.E_PARTIAL_FILE: ErrorKind.RESET,
    pycurl.E_BAD_CONTENT_ENCODING: ErrorKind.RESET,
    **dict.fromkeys(_TLS_CODES, ErrorKind.TLS),
}
_CUT_OFF = "server closed the connection without a complete response"
# Header injection (CR, LF or NUL in a name or value): aiohttp refuses it, libcurl would send it.
_INJECTION = "Forbidden control character detected in headers. Potential header injection attack."
# Headers libcurl adds and aiohttp does not: unset, unless the caller gives one of the same name.
_UNSET = tuple(
    (f"\n{name}:", f"\n{name};", line)
    for name, line in (("expect", b"Expect:"), ("accept-encoding", b"Accept-Encoding:"))
)
_MAX_TIMEOUT_MS = 2**31 - 1
# libcurl's words around OpenSSL's verify message ("self-signed certificate"), which is what aiohttp shows.
_CERT_WORDS = re.compile(r"^SSL certificate (?:problem|OpenSSL verify result): | \(\d+\)$")


@dataclass(frozen=True, slots=True)
class _Target:
    url: str  # normalised and percent-encoded by yarl, as aiohttp would send it
    host: str
    parsed: URL


@functools.lru_cache(maxsize=4096)
def _curl_target(url: str, allow_private: bool, require_https: bool) -> _Target | tuple[ErrorKind, str]:
    parsed = vocabulary.target(url, allow_private, require_https)
    return parsed if isinstance(parsed, tuple) else _Target(str(parsed), parsed.raw_host or "", parsed)


def _through(
    target: _Target, pinned: egress.Pinned, lines: list[bytes]
) -> tuple[str, list[bytes], str | None]:
    """The URL, header lines and ``CONNECT_TO`` of a request through the proxy (see ``egress``): an https
    target keeps its URL (SNI, certificate) and is tunnelled to the address; an http one names the address
    in its absolute-form request line, and the name in ``Host``."""
    if target.parsed.scheme == "https":
        address = f"[{pinned.address}]" if ":" in pinned.address else pinned.address
        return target.url, lines, f"{target.host}:{pinned.port}:{address}:{pinned.port}"
    return str(pinned.url), [*lines, f"Host: {pinned.host_header}".encode()], None


def _header_lines(headers: Mapping[str, str]) -> list[bytes] | None:
    """The request headers as libcurl takes them, or None if one would inject a header."""
    texts = [f"{name}: {value}" if value else f"{name};" for name, value in headers.items()]
    joined = "\n".join(texts)  # one scan and one encode for all: this runs for every request
    if "\r" in joined or "\x00" in joined or joined.count("\n") != max(len(texts) - 1, 0):
        return None
    lines = joined.encode().split(b"\n") if texts else []
    given = "\n" + joined.lower()
    lines.extend(line for colon, semicolon, line in _UNSET if colon not in given and semicolon not in given)
    return lines


def _timeout_ms(timeout_s: float) -> int:
    """libcurl's ``TIMEOUT_MS``; 0 is no timeout, as ``total=0`` is for aiohttp."""
    return min(max(round(timeout_s * 1000), 1), _MAX_TIMEOUT_MS) if timeout_s > 0 else 0


def _status_of(line: bytes) -> int | None:
    parts = line.split(None, 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def _response_head(lines: list[bytes]) -> tuple[int | None, dict[str, str]]:
    """The final answer's status and headers, or ``(None, {})`` if its head did not arrive in full.

    Lower-case names; a repeated header is joined with ", " as HTTP allows. Names and values are decoded as
    aiohttp's parser decodes them.
    """
    status: int | None = None
    headers: dict[str, str] = {}
    complete = False
    for line in lines:
        if line.startswith(b"HTTP/"):  # a status line: an interim (1xx) head may come before the answer
            status, headers, complete = _status_of(line), {}, False
            continue
        name, colon, value = line.decode("utf-8", "surrogateescape").partition(":")
        if colon:
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        elif not name.strip():
            complete = True  # the empty line that ends a head
    if not complete or status is None or status < 200:
        return None, {}
    return status, headers


def _proxy_failure(
    transfer: Transfer, code: int, message: str, timeout_s: float
) -> tuple[ErrorKind, str] | None:
    """The proxy's own failure, if it is one: with a proxy, every connection hookline opens is to it."""
    refused = transfer.connect_code()
    if refused not in (0, 200):
        return egress.failure(f"CONNECT answered {refused}")
    if code in (pycurl.E_COULDNT_CONNECT, pycurl.E_COULDNT_RESOLVE_PROXY):
        return egress.failure(_failure(transfer, code, message, timeout_s)[1])
    return None


def _failure(transfer: Transfer, code: int, message: str, timeout_s: float) -> tuple[ErrorKind, str]:
    """The kind of a failed transfer and its sentence for the attempt log, as ``failures`` words aiohttp's."""
    if transfer.refusal is not None and not transfer.opened:  # the guard refused every resolved address
        return ErrorKind.BLOCKED, transfer.refusal
    if code == CLOSED:
        return ErrorKind.RESET, message
    os_errno = transfer.os_errno()
    if code == pycurl.E_ABORTED_BY_CALLBACK and transfer.requests > 1:  # its reused connection had died
        return ErrorKind.RESET, vocabulary.ERRNO_WORDS.get(os_errno, _CUT_OFF)
    kind = _KINDS.get(code, ErrorKind.PROTOCOL)
    if kind is ErrorKind.TIMEOUT:
        return kind, f"timed out after {timeout_s}s"
    if kind is ErrorKind.DNS:
        why = "name not found" if message.startswith("Could not resolve host") else message
        return kind, f"cannot resolve {transfer.host}: {why}"
    if code == pycurl.E_PEER_FAILED_VERIFICATION:
        return kind, "TLS certificate rejected: " + _CERT_WORDS.sub("", message)
    words = vocabulary.ERRNO_WORDS.get(os_errno)
    if words is not None and kind in (ErrorKind.CONNECT, ErrorKind.RESET):
        return kind, words
    if code in (pycurl.E_GOT_NOTHING, pycurl.E_PARTIAL_FILE):
        return kind, _CUT_OFF
    text = message.strip() or f"libcurl error {code}"
    return kind, text if len(text) <= 300 else text[:297] + "..."


class CurlSender:
    """POSTs webhook bodies through one libcurl multi handle (one connection cache), SSRF guard included.

    Build it inside a running event loop (``open_curl_sender`` does), and ``close`` it when done.
    """

    def __init__(self, options: port.Options) -> None:
        self._options = options
        self._multi = CurlLoop(max_connections=options.max_connections)
        self._loop = asyncio.get_running_loop()
        self._idle: list[Transfer] = []  # easy handles between transfers, reused (their state is reset)
        self._closed = False

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
        target = _curl_target(url, self._options.allow_private, self._options.require_https)
        if not isinstance(target, _Target):
            kind, reason = target
            return Outcome(started, port.ms_since(clock), request_headers, error=kind, error_detail=reason)
        lines = _header_lines(request_headers)
        if lines is None or self._closed:
            reason = "the sender is closed" if self._closed else _INJECTION
            return Outcome(
                started, port.ms_since(clock), request_headers, error=ErrorKind.PROTOCOL, error_detail=reason
            )
        # A client certificate stays with its handle: such a handle serves one request and is closed (its
        # connection stays in the multi handle's cache, which keeps it apart from the others).
        send_to, connect_to = target.url, None
        if self._options.proxy is not None:
            pinned = await egress.pin(target.parsed, guarded=not self._options.allow_private)
            if isinstance(pinned, tuple):
                kind, reason = pinned
                return Outcome(
                    started, port.ms_since(clock), request_headers, error=kind, error_detail=reason
                )
            send_to, lines, connect_to = _through(target, pinned, lines)
        # With a proxy the sockets go to the proxy (the operator's choice): the target was judged by ``pin``.
        transfer = (
            self._idle.pop()
            if self._idle and client_cert is None
            else Transfer(
                self._options.response_body_limit,
                not self._options.allow_private and self._options.proxy is None,
                self._loop,
                ca_file=self._options.ca_file,
                proxy=self._options.proxy.url if self._options.proxy is not None else "",
            )
        )
        transfer.start(send_to, target.host, body, lines, _timeout_ms(timeout_s), client_cert, connect_to)
        try:
            code, message = await self._multi.perform(transfer.curl)
        except BaseException:  # cancelled: take the handle back from libcurl before anyone reuses it
            self._multi.discard(transfer.curl)
            self._release(transfer)
            raise
        status, response_headers = _response_head(transfer.header_lines)
        if transfer.answered(code) and status is not None:
            text = transfer.body()
            self._release(transfer)
            return Outcome(
                started,
                port.ms_since(clock),
                request_headers,
                status=status,
                response_headers=response_headers,
                response_body=text,
                error=None if 200 <= status < 300 else ErrorKind.STATUS,
            )
        failed = (
            _proxy_failure(transfer, code, message, timeout_s) if self._options.proxy is not None else None
        )
        kind, detail = failed or _failure(transfer, code, message, timeout_s)
        if kind is ErrorKind.PROXY:
            status, response_headers = None, {}  # the proxy's answer to CONNECT, not the target's
        self._release(transfer)
        return Outcome(
            started,
            port.ms_since(clock),
            request_headers,
            status=status,
            response_headers=response_headers,
            error=kind,
            error_detail=detail,
        )

    def _release(self, transfer: Transfer) -> None:
        if self._closed or transfer.client_cert:
            transfer.curl.close()
        else:
            self._idle.append(transfer)

    async def close(self) -> None:
        """Close the connections (transfers still running end as resets); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._multi.close()
        for transfer in self._idle:
            transfer.curl.close()
        self._idle.clear()


def open_curl_sender(options: port.Options) -> contextlib.AbstractAsyncContextManager[CurlSender]:
    """A ready ``CurlSender``, closed on exit (call it inside the running event loop)."""
    return port.opened(CurlSender(options))
