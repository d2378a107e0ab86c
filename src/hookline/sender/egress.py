"""The operator's egress proxy (``HOOKLINE_EGRESS_PROXY``), as both HTTP clients use it.

With a proxy, hookline itself never connects to a target: the proxy does. So the SSRF guard cannot judge
the address a socket is opened to (that is the proxy's, the operator's choice, which may well be private).
Instead hookline resolves the target's name, judges the addresses (``pin``), and hands the proxy the chosen
address, never the name: the proxy cannot resolve the name again to somewhere else (DNS rebinding).

How the request travels: an ``https`` target through ``CONNECT address:port`` (TLS to the target inside the
tunnel, with the target's name for SNI and the certificate check); an ``http`` target as an absolute-form
request (``POST http://address:port/path`` with ``Host: name``), as every HTTP proxy takes it.

A failure of the proxy itself (it cannot be reached, or it refuses the ``CONNECT``) is
``ErrorKind.PROXY``, worded ``proxy: ...``: it says nothing about the target.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

from yarl import URL

from hookline.core.models import ErrorKind
from hookline.sender import guard

PREFIX = "proxy: "
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse(text: str) -> Proxy:
    """The proxy ``text`` names (``http://host:port``); ValueError says what is wrong with it."""
    try:
        url = URL(text.strip())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if url.scheme != "http":
        raise ValueError("it must be an http:// URL (http://host:port)")
    if not url.raw_host:
        raise ValueError("it has no host")
    if url.user or url.password:
        raise ValueError("proxy credentials are not supported")
    if url.raw_path not in ("", "/") or url.raw_query_string or url.raw_fragment:
        raise ValueError("it must be http://host:port, without a path")
    return Proxy(url.raw_host, url.port or 80)


@dataclass(frozen=True, slots=True)
class Pinned:
    """Where the proxy is asked to go: the target's URL with its host replaced by the judged address."""

    url: URL
    name: str  # the target's host, for SNI and the certificate check
    host_header: str  # ``name``, with the port when it is not the scheme's default
    address: str
    port: int


def _host_header(target: URL, name: str, port: int) -> str:
    shown = f"[{name}]" if ":" in name else name
    return shown if _DEFAULT_PORTS.get(target.scheme) == port else f"{shown}:{port}"


async def _addresses(host: str, port: int) -> list[str] | tuple[ErrorKind, str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = "name not found" if isinstance(exc, socket.gaierror) else str(exc)
        return ErrorKind.DNS, f"cannot resolve {host}: {why}"
    return list(dict.fromkeys(str(info[4][0]).partition("%")[0] for info in infos))


async def pin(target: URL, *, guarded: bool) -> Pinned | tuple[ErrorKind, str]:
    """Resolve ``target``'s host and keep its first address the guard allows (any, unless ``guarded``);
    or why none may be sent to. An IP-literal host was already judged from the URL."""
    name = target.raw_host or ""
    port = target.port or _DEFAULT_PORTS.get(target.scheme, 80)
    if guard.parse_ip(name) is not None:
        address = str(guard.parse_ip(name))
    else:
        refused = guard.name_refusal(name) if guarded else None
        if refused is not None:
            return ErrorKind.BLOCKED, refused
        found = await _addresses(name, port)
        if isinstance(found, tuple):
            return found
        allowed = [
            a for a in found if not guarded or guard.refusal(ipaddress.ip_address(a), name=name) is None
        ]
        if not allowed:
            first = guard.refusal(ipaddress.ip_address(found[0]), name=name) if found else None
            return ErrorKind.BLOCKED, first or f"{name} resolves to no address"
        address = allowed[0]
    return Pinned(target.with_host(address), name, _host_header(target, name, port), address, port)


def failure(words: str) -> tuple[ErrorKind, str]:
    """A failure of the proxy itself, so worded."""
    return ErrorKind.PROXY, PREFIX + words
