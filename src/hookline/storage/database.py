"""Connections to the one database: engines per URL, transactions, and driver errors made ours.

PostgreSQL is reached through asyncpg, one pool for reads and writes. Pooled connections are not pinged
before use (a round trip per transaction): after a restart, the first statement on each dead connection
fails, SQLAlchemy discards the connection, and the caller gets ``Unavailable`` (a 503, or a worker retry),
as it would for a restart in the middle of a transaction anyway.

SQLite is a library in this process, not a server: a statement takes microseconds and waits on nothing but
the file. Its calls therefore run inline on the event loop (the plain ``sqlite3`` driver) rather than on a
thread per connection, whose hand-offs cost more than the statements and gave every transaction several
trips through the loop. Inline calls never yield, so a transaction that awaits only statements runs
start to end without another task in between. One writer connection, taken under an asyncio lock, and a few
reader connections, taken under a semaphore, keep the synchronous pools from ever blocking the loop.

SQLite serialises writers. A deferred transaction that reads and then writes can fail at once with
"database is locked" when another writer got there first, so every write transaction starts with
``BEGIN IMMEDIATE``. Another process holding the lock (``hookline purge``, say) is waited for with the loop
free: the connection's own busy wait is short, and ``BEGIN IMMEDIATE`` is retried after an async sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import operator
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar, TypeVarTuple, overload

import asyncpg
import orjson
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    CursorResult,
    Engine,
    Executable,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.selectable import TypedReturnsRows

from hookline.errors import Conflict, Unavailable

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000  # how long a write waits for another process's transaction, in all
_SQLITE_INLINE_WAIT_MS = 20  # how long one inline call may block the loop on another process's lock
_SQLITE_READERS = 4
CHECKPOINT_EVERY_S = 0.5
WAL_SIZE_LIMIT = 64 * 1024 * 1024

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
Rows = CursorResult[*tuple[Any, ...]]


class Conn(Protocol):
    """What storage code uses of a connection, on either engine."""

    @property
    def dialect(self) -> Dialect: ...

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*Ts], parameters: Any = None
    ) -> CursorResult[*Ts]: ...

    @overload
    async def execute(self, statement: Executable, parameters: Any = None) -> Rows: ...


class Database:
    """One database: a writer and readers (on PostgreSQL, one pool for both)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = _driver_url(url)
        self.dialect: str = self.url.get_backend_name()
        self._engine: AsyncEngine | None = None
        self._sqlite: _Sqlite | None = None
        if self.dialect == "sqlite":
            self._sqlite = _Sqlite(self.url)
        elif self.dialect == "postgresql":
            self._engine = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=False,  # see the module docstring
                pool_recycle=1800,
                json_serializer=_json_text,
                json_deserializer=orjson.loads,
            )
        else:
            raise SystemExit(f"unsupported database URL {url!r}: use sqlite:///… or postgresql://…")

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """A transaction that commits when the block ends without an exception."""
        with translate_errors():
            async with self._open(write=True) as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A connection for reads (a snapshot transaction that is rolled back)."""
        with translate_errors():
            async with self._open(write=False) as conn:
                yield conn

    def _open(self, *, write: bool) -> contextlib.AbstractAsyncContextManager[Conn]:
        if self._sqlite is not None:
            return self._sqlite.write() if write else self._sqlite.read()
        assert self._engine is not None
        return self._engine.begin() if write else self._engine.connect()

    async def run_sync(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` on a plain SQLAlchemy connection in a write transaction (migrations, schema checks)."""
        with translate_errors():
            if self._sqlite is not None:
                async with self._sqlite.write() as conn:
                    return fn(conn.sync)
            assert self._engine is not None
            async with self._engine.begin() as async_conn:
                return await async_conn.run_sync(fn)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        if self._sqlite is not None:
            await self._sqlite.close()

    def dsn(self) -> str:
        """The URL in libpq form, for a plain driver connection (LISTEN)."""
        dsn: str = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return dsn


class _Inline:
    """A synchronous SQLite connection behind the async ``Conn`` interface; nothing in it yields."""

    def __init__(self, sync: Connection) -> None:
        self.sync = sync

    @property
    def dialect(self) -> Dialect:
        return self.sync.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        # Typed by ``Conn``, which this class is used as.
        return self.sync.execute(statement, parameters)

    def execute_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        sql, names, constants = _compiled(statement, self.sync.dialect)
        self._executemany(sql, [tuple({**constants, **row}[name] for name in names) for row in rows])

    def insert_rows(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        names, records = _records(table, rows)
        quoted = ", ".join(f'"{name}"' for name in names)
        sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" * len(names))})'
        self._executemany(sql, records)

    def _executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        driver = self.sync.connection.driver_connection
        assert driver is not None
        try:
            driver.executemany(sql, params)
        except sqlite3.Error as exc:
            # The same wrapper SQLAlchemy would raise (IntegrityError, OperationalError, ...).
            raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc


async def insert_rows(conn: Conn, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``INSERT`` many rows (every row with the same keys), as one ``executemany``.

    On SQLite straight to the driver: SQLAlchemy's per-row parameter handling costs more than SQLite's
    insert of the row (about 12 against 2 µs a row).
    """
    if not rows:
        return
    if isinstance(conn, _Inline):
        conn.insert_rows(table, rows)
    elif isinstance(conn, AsyncConnection) and (driver := await _copying(conn)) is not None:
        await _copy_rows(driver, table, rows)
    else:
        await conn.execute(insert(table), list(rows))


async def _copying(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` if its transaction has begun on the server, else None.

    SQLAlchemy begins it there with the transaction's first statement, and a ``COPY`` must not run outside
    it: before that, rows go in by ``executemany`` as usual (``tests/storage/test_bulk_rows.py`` checks that
    the ingest and record paths COPY).
    """
    adapted = (await conn.get_raw_connection()).dbapi_connection
    if adapted is None or getattr(adapted, "_transaction", None) is None:
        return None
    return adapted.driver_connection


async def _copy_rows(driver: asyncpg.Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows through PostgreSQL's ``COPY``, in the caller's transaction: one command for the batch, where
    an ``executemany`` runs the ``INSERT`` once per row (ingesting an event with 2 deliveries: 328 -> 200 µs).
    Values are bound as they would be for the ``INSERT`` (JSON as its text)."""
    names, records = _records(table, rows)
    statement = f"COPY {table.name}"
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=names)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except asyncpg.InterfaceError as exc:  # the connection is closed or broken
        raise InterfaceError(statement, None, exc) from exc
    except asyncpg.PostgresError as exc:  # ``translate_errors`` tells a refusing server by its SQLSTATE
        raise DBAPIError(statement, None, exc) from exc


async def execute_many(conn: Conn, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """One statement for many parameter sets whose values are plain (no JSON), as one ``executemany``.

    On SQLite straight to the driver, the statement compiled once (see ``insert_rows``).
    """
    if not rows:
        return
    if isinstance(conn, _Inline):
        conn.execute_many(statement, rows)
    else:
        await conn.execute(statement, list(rows))


@functools.lru_cache(maxsize=64)
def _compiled(statement: Executable, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """SQL text, parameter names in order, and the statement's own constant values (enums as values)."""
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ())
    constants = {
        name: value.value if isinstance(value, enum.Enum) else value
        for name, value in compiled.params.items()
        if value is not None
    }
    return str(compiled.string), names, constants


def _records(table: Table, rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[Sequence[Any]]]:
    """The column names of ``rows`` (all with the same keys) and each row's values in that order, bound as
    SQLAlchemy would bind them for an ``INSERT`` (JSON as its text), for the drivers' bulk calls."""
    names = list(rows[0])
    # Each row's values in one C call; only the few columns with a conversion (JSON) are touched again.
    values = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    converted = [(i, bind) for i, name in enumerate(names) if (bind := _json_value(table.c[name]))]
    records: list[Sequence[Any]] = []
    for row in rows:
        got = values(row)
        if converted:
            got = list(got)
            for i, bind in converted:
                got[i] = bind(got[i])
        records.append(got)
    return names, records


def _json_value(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a value of ``column`` is bound, as SQLAlchemy binds it (JSON None is ``null``); None: as it is."""
    if isinstance(column.type, JSON):
        if column.type.none_as_null:
            return lambda value: None if value is None else _json_text(value)
        return _json_text
    return None


class _Sqlite:
    """The writer engine (one connection, ``BEGIN IMMEDIATE``) and the reader engine of an SQLite file."""

    def __init__(self, url: Any) -> None:
        self.writer = _sqlite_engine(url, immediate=True, pool_size=1)
        self.reader = _sqlite_engine(url, immediate=False, pool_size=_SQLITE_READERS)
        self._write_lock = asyncio.Lock()
        self._readers = asyncio.Semaphore(_SQLITE_READERS)
        self._path = url.database
        self._checkpoint: asyncio.Future[None] | None = None  # the running ``_checkpoint_log``
        self._checkpointed = time.monotonic()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[_Inline]:
        async with self._write_lock:
            with self.writer.connect() as sync:
                await _begin(sync)
                try:
                    yield _Inline(sync)
                except BaseException:
                    sync.rollback()
                    raise
                sync.commit()
        self._maybe_checkpoint()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[_Inline]:
        async with self._readers:
            with self.reader.connect() as sync:
                yield _Inline(sync)

    def _maybe_checkpoint(self) -> None:
        """Copy the write-ahead log into the database file now and then, on a thread.

        SQLite would do it inside a commit once the log passes 1,000 pages, with an fsync, which would
        stall the loop; here commits never checkpoint (``wal_autocheckpoint=0``) and ``_checkpoint_log``
        runs at most every ``CHECKPOINT_EVERY_S``.
        """
        running = self._checkpoint is not None and not self._checkpoint.done()
        if running or time.monotonic() - self._checkpointed < CHECKPOINT_EVERY_S or not self._path:
            return
        self._checkpointed = time.monotonic()
        self._checkpoint = asyncio.ensure_future(self._checkpoint_log(self._path))

    async def _checkpoint_log(self, path: str) -> None:
        """A passive checkpoint on a thread while writers go on (it copies nearly everything), then a second
        one holding the write lock, which copies the few pages written meanwhile. The log is then fully
        copied with no writer in it, so the next write starts it over instead of growing it forever.
        """
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, _checkpoint, path)
            async with self._write_lock:
                await loop.run_in_executor(None, _checkpoint, path)
        except sqlite3.Error as exc:  # the next one tries again; nothing is lost meanwhile
            logger.warning("checkpoint of %s failed: %s", path, exc)

    async def close(self) -> None:
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        self.writer.dispose()
        self.reader.dispose()


def _checkpoint(path: str) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


async def _begin(sync: Connection) -> None:
    """Begin (``BEGIN IMMEDIATE``: take the write lock), waiting with the loop free while another process
    holds the lock."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            sync.begin()
            return
        except OperationalError as exc:
            if not _locked(exc) or time.monotonic() > deadline:
                raise
            sync.rollback()
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


def _locked(exc: OperationalError) -> bool:
    return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Driver errors become ours: a lost database is Unavailable (retry), a duplicate is Conflict."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict("the object already exists") from exc
    except (OperationalError, InterfaceError) as exc:
        logger.warning("database unavailable: %s", exc.orig)
        raise Unavailable("the database is unavailable; retry later") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated or _refused(exc):
            raise Unavailable("the database connection was lost; retry later") from exc
        raise
    except (OSError, ConnectionError) as exc:
        raise Unavailable("the database is unreachable; retry later") from exc


# SQLSTATE classes of a server that is unreachable, out of connections, or shutting down / starting up;
# and a transaction the server chose to fail to break a deadlock (nothing of it stays: it can run again).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "40P01")


def _refused(exc: DBAPIError) -> bool:
    """The server refused us (a restart, a connection limit) rather than the statement: retry later.

    Some of these reach us as plain driver errors on a connection not (yet) closed, or while connecting
    (no statement then: "the database system is starting up", "not currently accepting connections").
    """
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return exc.statement is None or sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


def _json_text(value: Any) -> str:
    """JSON columns through orjson: about 15x cheaper than the stdlib encoder on the ingest path."""
    return orjson.dumps(value).decode()


def _driver_url(url: str) -> Any:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    return parsed


def _sqlite_engine(url: Any, *, immediate: bool, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver: transactions are begun explicitly (BEGIN IMMEDIATE for writes).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_INLINE_WAIT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # see _Sqlite._maybe_checkpoint
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")  # a restarted log is cut back to this
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # The driver is in autocommit mode; SQLAlchemy's transactions begin here, of the kind we choose.
        # Straight to the driver: every transaction begins, and SQLAlchemy's statement machinery cost more
        # than the BEGIN itself (errors are wrapped as SQLAlchemy would, for ``_begin``'s retry).
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            driver.execute(begin)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(begin, (), exc, sqlite3.Error) from exc

    return engine
