"""Start-up checks of the database, failing with a sentence an operator can act on.

A process that cannot use its database stops at once and says which database, where (file, or host and
port) and what to do, rather than failing later with "the database is unavailable; retry later". That short
sentence stays what API clients get from ``translate_errors``: a client has no business knowing the
database's address, an operator starting a process needs nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from hookline.core.errors import NotMigrated, Unavailable
from hookline.storage import migrate
from hookline.storage.database import Database

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 10.0  # a server that accepts nothing (a firewall dropping packets) is reported after this
SETTING = "HOOKLINE_DATABASE_URL"
# SQLSTATEs an operator fixes in the URL or on the server, each with what to do.
_AUTH = ("28000", "28P01")  # no such role, wrong password
_NO_DATABASE = "3D000"


def describe(db: Database) -> str:
    """The database in words, without its password: ``SQLite file /srv/hookline.db``, ``PostgreSQL …``."""
    url = db.url
    if not db.is_postgres:
        return f"SQLite file {sqlite_path(db) or ':memory:'}"
    return f"PostgreSQL database {url.database!r} at {_host_port(db)} (user {url.username!r})"


def sqlite_path(db: Database) -> Path | None:
    """The absolute path of an SQLite file; None for an in-memory database."""
    name = db.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser().absolute()


async def check(db: Database, *, create: bool) -> None:
    """Raise ``Unavailable`` naming the database and the fix if it cannot be opened.

    Args:
        create: an SQLite file that does not exist yet may be created (``serve``, ``migrate``); otherwise a
            missing file is an error rather than a new, empty database (``purge``, ``doctor``).
    """
    if not db.is_postgres:
        _check_sqlite_file(db, create=create)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            async with db.read() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError:
        raise Unavailable(
            f"{describe(db)} did not answer within {PROBE_TIMEOUT_S:g} s: check the host and port in "
            f"{SETTING} and that no firewall drops the connection"
        ) from None
    except Unavailable as exc:
        raise Unavailable(_explain(db, exc)) from exc


async def require_migrated(db: Database, *, migrating: bool = False) -> None:
    """Raise ``NotMigrated`` if the schema is older than this hookline's migrations; with ``migrating``,
    bring it up to date instead (``serve``, and ``api`` and ``worker`` on SQLite).

    A newer schema (a newer hookline's ``migrate`` ran) is only logged and left alone: migrations add and
    never take away, so an older release keeps working on it, through a rolling upgrade or a step back.
    """
    current, head = await migrate.revisions(db)
    if current == head:
        return
    if migrating and (current is None or migrate.known(current)):
        await migrate.upgrade(db)
        return
    if current is None:
        raise NotMigrated(f"{describe(db)} has no hookline schema yet: run `hookline migrate` first")
    if migrate.known(current):
        raise NotMigrated(
            f"{describe(db)} is at schema revision {current}, this hookline needs {head}: "
            "run `hookline migrate`"
        )
    logger.warning("%s is at schema revision %s, newer than this hookline's %s", describe(db), current, head)


def _check_sqlite_file(db: Database, *, create: bool) -> None:
    path = sqlite_path(db)
    if path is None or path.is_file():
        return
    if path.exists():
        raise Unavailable(f"{path} is not a file: point {SETTING} at an SQLite file")
    if not create:
        raise Unavailable(
            f"there is no database at {path}: check {SETTING} (`hookline serve` or `hookline migrate` "
            "creates it)"
        )
    if not path.parent.is_dir():
        raise Unavailable(
            f"cannot create the SQLite file {path}: the folder {path.parent} does not exist; create it "
            f"or point {SETTING} elsewhere"
        )


def _explain(db: Database, exc: Unavailable) -> str:
    """What went wrong in the operator's terms, from the driver's error under ``exc``."""
    where = describe(db)
    for cause in _causes(exc):
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host of {where}: check the host name in {SETTING}"
        if isinstance(cause, ConnectionRefusedError):
            return (
                f"{where} refused the connection: is PostgreSQL running and listening there? "
                f"Check the host and port in {SETTING}"
            )
        if sqlstate in _AUTH:
            return f"{where} refused the user: {cause}; check the user and password in {SETTING}"
        if sqlstate == _NO_DATABASE:
            return (
                f"{where}: the database does not exist; create it (`createdb {db.url.database}`) "
                f"or fix the name in {SETTING}"
            )
    reason = next((str(c) for c in reversed(list(_causes(exc)))), str(exc))
    if not db.is_postgres:
        return f"cannot open the {where}: {reason}; check that it is an SQLite database this user may write"
    return f"cannot use {where}: {reason}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc.__cause__
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or getattr(current, "orig", None)


def _host_port(db: Database) -> str:
    url = db.url
    host = url.host or "localhost"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{url.port or 5432}"
