"""Listening sockets, bound before a process prints or generates anything (its operator key included).

A port in use is found here, at once, in one line naming the address and the setting to change; uvicorn and
the demo receiver then serve on the bound socket.
"""

from __future__ import annotations

import errno
import socket

from hookline.cli.exits import Exit, Failure


def bind(host: str, port: int, *, what: str, setting: str) -> socket.socket:
    """A socket listening on ``host:port`` for ``what``; ``Failure`` naming ``setting`` if it cannot be."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except socket.gaierror:
        raise Failure(
            Exit.ADDRESS, f"cannot listen for {what} on {host!r}: unknown host; check {setting}"
        ) from None
    except OSError as exc:
        raise Failure(Exit.ADDRESS, f"cannot listen for {what} on {where}: {_why(exc, setting)}") from None
    sock.set_inheritable(True)
    return sock


def _why(exc: OSError, setting: str) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"the port is in use (by another hookline?); stop that process or choose another port ({setting})"
        )
    if exc.errno == errno.EACCES:
        return f"permission denied (ports below 1024 need privileges); choose another port ({setting})"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"that is not an address of this machine; check {setting}"
    return f"{exc.strerror or exc}; check {setting}"


def port_of(sock: socket.socket) -> int:
    """The port ``sock`` listens on (the one the system chose for port 0)."""
    port: int = sock.getsockname()[1]
    return port
