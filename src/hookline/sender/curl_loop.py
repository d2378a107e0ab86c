"""libcurl's mechanics for ``curl.CurlSender``: the multi handle on the asyncio loop, and pooled easy handles.

``CurlLoop``: libcurl never blocks here; it says which sockets to watch (``M_SOCKETFUNCTION``) and when to
wake it (``M_TIMERFUNCTION``), we register those with the running loop and call ``socket_action`` when one
fires. A finished transfer resolves the future ``perform`` returned with libcurl's code (0: success) and
message. ``Transfer``: one easy handle, reused from request to request (its connection stays in the multi
handle's cache), and what libcurl's callbacks collected for the current request. All of it runs on the
loop's thread; what it means for an ``Outcome`` is ``curl``'s business.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from typing import Any

import pycurl  # type: ignore[import-untyped]

from hookline.core.credentials import Mtls
from hookline.sender import guard, vocabulary

#: The code a transfer finishes with when the loop is closed under it (not a libcurl code).
CLOSED = -1

_IN, _OUT = pycurl.POLL_IN, pycurl.POLL_OUT  # bits of the wanted events; POLL_INOUT is both
_PREREQ_OK: int = pycurl.PREREQFUNC_OK
_PREREQ_ABORT: int = pycurl.PREREQFUNC_ABORT


class CurlLoop:
    """One ``CurlMulti`` (so one connection cache and one DNS cache) driven by the running asyncio loop.

    Build it inside the loop that will drive it, and ``close`` it in the same loop.
    """

    def __init__(self, *, max_connections: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._futures: dict[Any, asyncio.Future[tuple[int, str]]] = {}
        self._watched: dict[int, int] = {}  # fd -> the events registered with the loop for it
        self._soon: asyncio.Handle | None = None  # libcurl asked to run at once
        self._later: asyncio.TimerHandle | None = None  # libcurl asked to run at ``_later.when()`` (or after)
        self._closed = False
        multi = pycurl.CurlMulti()
        multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        # The same bound as aiohttp's ``TCPConnector(limit=...)``: more transfers wait for a connection.
        multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, max_connections)
        multi.setopt(pycurl.M_MAXCONNECTS, max_connections)
        self._multi = multi

    def perform(self, easy: Any) -> asyncio.Future[tuple[int, str]]:
        """Start ``easy`` (already set up); the future gets ``(code, message)`` when it finishes."""
        future: asyncio.Future[tuple[int, str]] = self._loop.create_future()
        self._multi.add_handle(easy)
        self._futures[easy] = future
        return future

    def discard(self, easy: Any) -> None:
        """Stop ``easy`` if it is still running (its caller was cancelled); it may then be reused."""
        if self._futures.pop(easy, None) is not None:
            self._multi.remove_handle(easy)

    def close(self) -> None:
        """Finish every running transfer with ``CLOSED``, stop watching, close the connections."""
        if self._closed:
            return
        self._closed = True  # from here the callbacks ignore libcurl, which is being torn down
        for fd in self._watched:  # first, while libcurl has not closed these sockets yet
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)
        self._watched.clear()
        for easy, future in self._futures.items():
            self._multi.remove_handle(easy)
            if not future.done():
                future.set_result((CLOSED, "the sender was closed"))
        self._futures.clear()
        for wake_up in (self._soon, self._later):
            if wake_up is not None:
                wake_up.cancel()
        self._multi.close()

    # libcurl's callbacks run inside socket_action and add_handle, so they only (un)register.

    def _on_socket(self, what: int, fd: int, multi: Any, socketp: Any) -> None:
        if self._closed:
            return
        old = self._watched.get(fd, 0)
        new = 0 if what == pycurl.POLL_REMOVE else what
        loop = self._loop
        if old & _IN and not new & _IN:
            loop.remove_reader(fd)
        elif new & _IN and not old & _IN:
            loop.add_reader(fd, self._act, fd, pycurl.CSELECT_IN)
        if old & _OUT and not new & _OUT:
            loop.remove_writer(fd)
        elif new & _OUT and not old & _OUT:
            loop.add_writer(fd, self._act, fd, pycurl.CSELECT_OUT)
        if new:
            self._watched[fd] = new
        else:
            self._watched.pop(fd, None)

    def _on_timer(self, timeout_ms: int) -> None:
        # libcurl asks to be run in ``timeout_ms`` (0: at once; -1: no need). Running it early is harmless:
        # it finds nothing due and asks again. So a wake-up already set for earlier is kept, not moved,
        # which spares a timer per request (every finished transfer moves libcurl's next deadline later).
        if self._closed or timeout_ms < 0:
            return
        if timeout_ms == 0:
            if self._soon is None:
                self._soon = self._loop.call_soon(self._on_soon)
            return
        when = self._loop.time() + timeout_ms / 1000.0
        if self._later is not None:
            if self._later.when() <= when:
                return
            self._later.cancel()
        self._later = self._loop.call_at(when, self._on_later)

    # The loop's callbacks.

    def _on_soon(self) -> None:
        self._soon = None
        self._act(pycurl.SOCKET_TIMEOUT, 0)

    def _on_later(self) -> None:
        self._later = None
        self._act(pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, events: int) -> None:
        if self._closed:
            return
        running = self._multi.socket_action(fd, events)[1]
        if running < len(self._futures):  # some transfer finished: collect it
            self._collect()

    def _collect(self) -> None:
        while True:
            queued, succeeded, failed = self._multi.info_read()
            for easy in succeeded:
                self._finish(easy, 0, "")
            for easy, code, message in failed:
                self._finish(easy, code, message)
            if not queued:
                return

    def _finish(self, easy: Any, code: int, message: str) -> None:
        future = self._futures.pop(easy, None)
        if future is None:
            return
        self._multi.remove_handle(easy)
        if not future.done():
            future.set_result((code, message))


def _options() -> list[tuple[int, Any]]:
    """The options every easy handle keeps; the per-request ones are set by ``Transfer.start``."""
    options: list[tuple[int, Any]] = [
        (pycurl.NOSIGNAL, 1),
        (pycurl.PROXY, ""),  # an HTTP_PROXY in the environment must not reroute (or unguard) deliveries
        (pycurl.NETRC, pycurl.NETRC_IGNORED),
        (pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS),
        (pycurl.REDIR_PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS),
        (pycurl.FOLLOWLOCATION, 0),  # a redirect is an answer, recorded, not followed
        (pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1),  # as aiohttp; no HTTP/2 by ALPN
        (pycurl.SSLVERSION, pycurl.SSLVERSION_TLSv1_2),
        (pycurl.DNS_CACHE_TIMEOUT, vocabulary.DNS_TTL_S),
        (pycurl.MAXAGE_CONN, int(vocabulary.KEEPALIVE_S)),  # see vocabulary.KEEPALIVE_S
        # Decode a compressed answer as aiohttp does, without asking for one (``curl`` unsets the header).
        (pycurl.ACCEPT_ENCODING, ""),
    ]
    # The wheel's libcurl looks for a Red Hat CA bundle path; use the one Python's ssl (so aiohttp) uses.
    paths = ssl.get_default_verify_paths()
    if paths.cafile:
        options.append((pycurl.CAINFO, paths.cafile))
    if paths.capath:
        options.append((pycurl.CAPATH, paths.capath))
    return options


_OPTIONS = _options()


def _address_refusal(text: str, host: str) -> str | None:
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return f"{host} resolves to {text}, which is not an IP address"
    return guard.refusal(address, name=host)


class Transfer:
    """A pooled easy handle and what its current request received; libcurl calls the underscored methods.

    ``guarded``: judge each resolved address with the SSRF guard before a socket is opened for it.
    """

    def __init__(
        self,
        limit: int,
        guarded: bool,
        loop: asyncio.AbstractEventLoop,
        *,
        ca_file: str | None = None,
        proxy: str = "",
    ) -> None:
        self.limit = limit  # bytes of the response body kept
        self.header_lines: list[bytes] = []  # the raw head lines, status lines included
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False  # the body went past ``limit``, so ``_write`` stopped the transfer
        self.host = ""
        self.refusal: str | None = None  # the guard's first refusal of a resolved address
        self.opened = False  # a socket was opened to an allowed address
        self.requests = 0  # times libcurl was about to send the request
        self.client_cert = False  # a client certificate was set (mTLS): the handle is not reused
        self._loop = loop
        curl = pycurl.Curl()
        for option, value in _OPTIONS:
            curl.setopt(option, value)
        curl.setopt(pycurl.HEADERFUNCTION, self.header_lines.append)
        curl.setopt(pycurl.WRITEFUNCTION, self._write)
        curl.setopt(pycurl.PREREQFUNCTION, self._prereq)
        if guarded:
            curl.setopt(pycurl.OPENSOCKETFUNCTION, self._open_socket)
        if proxy:  # the operator's egress proxy (``egress``); https goes through CONNECT, http absolute-form
            curl.setopt(pycurl.PROXY, proxy)
            curl.setopt(pycurl.PROXYTYPE, pycurl.PROXYTYPE_HTTP)
        if ca_file:
            curl.setopt(pycurl.CAINFO, ca_file)
            curl.setopt(pycurl.CAPATH, "")
        self.curl = curl

    def start(
        self,
        url: str,
        host: str,
        body: bytes,
        lines: list[bytes],
        timeout_ms: int,
        client_cert: Mtls | None = None,
        connect_to: str | None = None,
    ) -> None:
        """Forget the last request and set up this one; ``lines`` are the headers as libcurl takes them;
        ``client_cert``'s PEM is handed to libcurl in memory (no file); ``connect_to`` (libcurl's
        ``host:port:address:port``) pins where a proxy tunnels to."""
        self.header_lines.clear()
        self.chunks.clear()
        self.size = self.requests = 0
        self.truncated = self.opened = False
        self.refusal = None
        self.host = host
        curl = self.curl
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.POSTFIELDS, body)
        curl.setopt(pycurl.HTTPHEADER, lines)
        curl.setopt(pycurl.TIMEOUT_MS, timeout_ms)
        curl.setopt(pycurl.CONNECT_TO, [connect_to] if connect_to else [])
        if client_cert is not None:
            self.client_cert = True
            curl.setopt(pycurl.SSLCERTTYPE, "PEM")
            curl.setopt(pycurl.SSLCERT_BLOB, client_cert.certificate.encode())
            curl.setopt(pycurl.SSLKEYTYPE, "PEM")
            curl.setopt(pycurl.SSLKEY_BLOB, client_cert.private_key.encode())

    def answered(self, code: int) -> bool:
        """Whether the transfer ended with an answer (cut at the body limit by ``_write``, if need be)."""
        return code == 0 or (code == pycurl.E_WRITE_ERROR and self.truncated)

    def body(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")

    def connect_code(self) -> int:
        """The proxy's answer to ``CONNECT`` (0: none was sent)."""
        return int(self.curl.getinfo(pycurl.HTTP_CONNECTCODE))

    def os_errno(self) -> int:
        """The OS error of the last failed socket call, 0 if none."""
        return int(self.curl.getinfo(pycurl.OS_ERRNO))

    def _write(self, chunk: bytes) -> int | None:
        room = self.limit - self.size
        if len(chunk) <= room:
            self.chunks.append(chunk)
            self.size += len(chunk)
            return None
        if room > 0:
            self.chunks.append(chunk[:room])
            self.size = self.limit
        self.truncated = True
        return 0  # stop here (E_WRITE_ERROR), as aiohttp stops reading at the limit and drops the connection

    def _prereq(self, primary_ip: str, local_ip: str, primary_port: int, local_port: int) -> int:
        # libcurl re-sends a request whose reused connection died before any answer, on a new connection.
        # aiohttp does not, and neither may we: the receiver may have acted on the first POST, and the
        # attempt log would hide the failure. The second call for one transfer is that retry: refuse it.
        self.requests += 1
        return _PREREQ_OK if self.requests == 1 else _PREREQ_ABORT

    def _open_socket(self, purpose: int, address: Any) -> Any:
        reason = _address_refusal(address.addr[0], self.host)
        if reason is not None:
            if self.refusal is None:
                self.refusal = reason
            return pycurl.SOCKET_BAD  # libcurl tries the next address, or fails with "couldn't connect"
        self.opened = True
        try:
            sock = socket.socket(address.family, address.socktype, address.protocol)
        except OSError:
            return pycurl.SOCKET_BAD
        self._loop.call_soon(sock.close)  # pycurl gives libcurl a duplicate of it before the loop runs again
        return sock
