"""Database faults: which driver errors mean the database cannot be used, and of what kind.

A fault is the database's absence, not a statement's mistake: no connection, a connection lost, no answer
in time, a full disk, another process's lock held too long. Those become ``Unavailable`` (a 503, or a
worker's retry); anything else (a bug, a constraint) is not a fault and is raised as it is.
"""

from __future__ import annotations

import enum
import socket
import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class Fault(enum.StrEnum):
    """Why the database could not be used (the ``kind`` label of the fault metric)."""

    REFUSED = "refused"  # no connection: the server is down, starting, or out of connections
    LOST = "lost"  # a connection broke while in use (a reset, a restart, a terminated backend)
    TIMEOUT = "timeout"  # no answer within the deadline (a stalled or overloaded server or network)
    FULL = "full"  # the disk is full
    LOCKED = "locked"  # SQLite: another process held the write lock past the deadline
    ERROR = "error"  # the database failed the operation otherwise (an I/O error, a read-only file)
    CONTENDED = "contended"  # PostgreSQL failed the transaction to break a deadlock: it can run again


MESSAGES = {  # what a caller is told (the problem detail of a 503 or 507)
    Fault.REFUSED: "the database cannot be reached; retry later",
    Fault.LOST: "the database connection was lost; retry later",
    Fault.TIMEOUT: "the database did not answer in time; retry later",
    Fault.FULL: "the database's disk is full; retry later",
    Fault.LOCKED: "the database is busy; retry later",
    Fault.ERROR: "the database is unavailable; retry later",
    Fault.CONTENDED: "the database broke a deadlock by failing this request; retry it",
}


# SQLSTATE classes of a server that is unreachable, out of connections, or shutting down / starting up.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
_DISK_FULL_SQLSTATE = "53100"
# A transaction the server chose to fail to break a deadlock: nothing of it stays, so it can run again.
_DEADLOCK_SQLSTATE = "40P01"
_SQLITE_FAULTS = {
    "SQLITE_FULL": Fault.FULL,
    "SQLITE_BUSY": Fault.LOCKED,
    "SQLITE_LOCKED": Fault.LOCKED,
}


def classify(exc: Exception) -> Fault | None:
    """The kind of database fault ``exc`` is, or None if it is not one (a bug, a statement at fault)."""
    if isinstance(exc, TimeoutError | PoolTimeout):
        return Fault.TIMEOUT
    if isinstance(exc, DBAPIError):
        if isinstance(exc.orig, sqlite3.Error):
            return _sqlite_fault(exc)
        return _postgres_fault(exc)
    if isinstance(exc, ConnectionRefusedError | socket.gaierror):
        return Fault.REFUSED
    if isinstance(exc, OSError):  # reset, broken pipe, unreachable
        return Fault.LOST
    return None


def _sqlite_fault(exc: DBAPIError) -> Fault | None:
    if not isinstance(exc, OperationalError):
        return None
    return _SQLITE_FAULTS.get(getattr(exc.orig, "sqlite_errorname", ""), Fault.ERROR)


def _postgres_fault(exc: DBAPIError) -> Fault | None:
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate == _DISK_FULL_SQLSTATE:
        return Fault.FULL
    if sqlstate == _DEADLOCK_SQLSTATE:
        return Fault.CONTENDED
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return Fault.LOST
    if exc.statement is None:
        # While connecting (a commit or rollback on a lost connection is told above): refused, or "the
        # database system is starting up / shutting down".
        return Fault.REFUSED
    if sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        # The server ended the session (a shutdown, a terminated backend), or is out of resources.
        return Fault.LOST if sqlstate.startswith(("08", "57P")) else Fault.ERROR
    return Fault.ERROR if isinstance(exc, OperationalError) else None


def detail(exc: BaseException) -> str:
    """What the driver (or the deadline) said, on one line."""
    said = getattr(exc, "orig", None) or exc
    if not str(said).strip() and exc.__cause__ is not None:
        said = exc.__cause__
    text = str(said).strip()
    return text.splitlines()[0][:300] if text else type(said).__name__
