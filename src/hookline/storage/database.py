"""Connections to the one database: engines per URL, transactions, and driver errors made ours.

PostgreSQL is reached through asyncpg, one pool for reads and writes. A database fault must cost a caller a
prompt ``Unavailable`` (a 503 with ``Retry-After``, or a worker's retry), never a wait without end, and must
not outlive the fault:

- Every transaction has a deadline, ``timeout_s`` (``HOOKLINE_DB_TIMEOUT_S``), covering the wait for a
  pooled connection, connecting (itself bounded by ``connect_timeout_s``), every statement and the commit;
  within a request (``deadline``) all its transactions share one. When it passes, the task is cancelled, the
  connection it held is invalidated and dropped at once (SQLAlchemy's polite close would wait 2 s more on a
  server that may be the reason), and a cleanup still stuck on it is cut off by aborting the socket.
- Pooled connections are not pinged before use (a round trip per transaction). A connection that the server
  or the network closed while it sat in the pool (a restart, a reset) is known closed without one: it is
  replaced at checkout instead of failing the transaction it would have been handed. One that dies in use
  fails that transaction only, and is discarded with the error; the connections that sat idle meanwhile are
  then replaced too (``pool_guard``).
- Each fault (``faults``) and each recovery is reported to ``availability`` (logged, rate-limited, counted).

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
from contextvars import ContextVar
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
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.selectable import TypedReturnsRows

from hookline.core.errors import Conflict, StorageFull, Unavailable
from hookline.storage.availability import Availability, Observer
from hookline.storage.faults import MESSAGES, Fault, classify, detail
from hookline.storage.pool_guard import PoolGuard

logger = logging.getLogger(__name__)

TIMEOUT_S = 5.0  # a transaction's deadline (``HOOKLINE_DB_TIMEOUT_S``)
CONNECT_TIMEOUT_S = 2.0  # connecting to PostgreSQL, within that (``HOOKLINE_DB_CONNECT_TIMEOUT_S``)
_ABORT_AFTER_S = 0.05  # past the deadline, a cleanup still on the connection (a rollback) is cut off
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


class _Budget:
    """The deadline the transactions of one request share (``Database.deadline``)."""

    __slots__ = ("ends", "task")

    def __init__(self) -> None:
        self.task = asyncio.current_task()
        self.ends: float | None = None  # set when the first transaction begins


_BUDGET: ContextVar[_Budget | None] = ContextVar("hookline_database_budget", default=None)


class _Expired(TimeoutError):
    """The deadline passed."""


class Database:
    """One database: a writer and readers (on PostgreSQL, one pool for both)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        timeout_s: float = TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        observer: Observer | None = None,
    ) -> None:
        self.url = _driver_url(url)
        self.dialect: str = self.url.get_backend_name()
        self.timeout_s = timeout_s
        self.connect_timeout_s = min(connect_timeout_s, timeout_s)
        self.availability = Availability(observer)
        self._engine: AsyncEngine | None = None
        self._guard: PoolGuard | None = None
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
                pool_timeout=timeout_s,
                connect_args={"timeout": self.connect_timeout_s},
                json_serializer=_json_text,
                json_deserializer=orjson.loads,
            )
            self._guard = PoolGuard(self._engine)
        else:
            raise SystemExit(f"unsupported database URL {url!r}: use sqlite:///… or postgresql://…")

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextlib.contextmanager
    def deadline(self) -> Iterator[None]:
        """The transactions of the block share one deadline, ``timeout_s`` after the first of them begins.

        A request that cannot finish its database work in that time answers 503 then, however many
        transactions it makes (a second one after a slow first gets what is left). It holds in the task that
        opened the block only: a task spawned from it goes by its own transactions' deadlines.
        """
        token = _BUDGET.set(_Budget())
        try:
            yield
        finally:
            _BUDGET.reset(token)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """A transaction that commits when the block ends without an exception."""
        with self._translated():
            async with self._open(write=True) as conn:
                yield conn
        self.availability.ok()

    @contextlib.asynccontextmanager
    async def each(self) -> AsyncIterator[Conn]:
        """A connection on which every statement commits on its own, for work whose statements are each
        complete (a claim: put aside, lease, read the routes). On PostgreSQL this saves the ``BEGIN`` and
        ``COMMIT`` round trips (autocommit; each statement sees what was committed before it began, as in a
        transaction at read committed); on SQLite it is a write transaction, as ``write``."""
        with self._translated():
            async with self._open(write=True, each=True) as conn:
                yield conn
        self.availability.ok()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A connection for reads. On PostgreSQL each statement runs on its own (autocommit: no ``BEGIN`` or
        ``ROLLBACK`` round trip), seeing what was committed before it began, as it would in a transaction at
        read committed; on SQLite a snapshot transaction that is rolled back."""
        with self._translated():
            async with self._open(write=False) as conn:
                yield conn
        self.availability.ok()

    def _open(self, *, write: bool, each: bool = False) -> contextlib.AbstractAsyncContextManager[Conn]:
        """A write transaction, a read, or (``each``, PostgreSQL) statements that each commit on their own."""
        if self._sqlite is not None:
            return self._sqlite.write(self._seconds_left()) if write else self._sqlite.read()
        return self._postgres(write=write and not each)

    def _seconds_left(self) -> float:
        """The time this transaction has: ``timeout_s``, or what is left of the request's."""
        budget = _BUDGET.get()
        if budget is None or budget.task is not asyncio.current_task():
            return self.timeout_s
        now = time.monotonic()
        if budget.ends is None:
            budget.ends = now + self.timeout_s
        return budget.ends - now

    @contextlib.asynccontextmanager
    async def _postgres(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A transaction (``write``), or a connection on which every statement commits on its own."""
        assert self._engine is not None
        seconds = self._seconds_left()
        if seconds <= 0:
            raise _Expired(f"the request used its {self.timeout_s:g} s for the database")
        scope = asyncio.timeout(seconds)
        try:
            async with scope, self._engine.connect() as conn:
                driver = _driver(conn)
                # The deadline's cancellation ends a statement, but SQLAlchemy finishes its cleanup (the
                # rollback) shielded from it, which on a stalled server would wait without end: just past the
                # deadline, the socket is aborted under whatever still waits on it.
                watchdog = asyncio.get_running_loop().call_at(
                    (scope.when() or 0.0) + _ABORT_AFTER_S, driver.terminate
                )
                try:
                    if write:
                        async with conn.begin():
                            yield conn
                    else:
                        # Client-side only (the driver sends no BEGIN); the pool resets it on return.
                        yield await conn.execution_options(isolation_level="AUTOCOMMIT")
                finally:
                    watchdog.cancel()
        except Exception as exc:
            # Past the deadline, the fault is the deadline's, whatever the cut-off cleanup raised instead.
            if scope.expired() and classify(exc) is not None:
                raise _Expired(f"no answer within {seconds:.3g} s") from exc
            raise

    async def run_sync(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` on a plain SQLAlchemy connection in a write transaction (migrations, schema checks).

        No deadline: a migration may rightly take minutes.
        """
        with self._translated():
            if self._sqlite is not None:
                async with self._sqlite.write(SQLITE_BUSY_TIMEOUT_MS / 1000) as conn:
                    result = fn(conn.sync)
            else:
                assert self._engine is not None
                async with self._engine.begin() as async_conn:
                    result = await async_conn.run_sync(fn)
        self.availability.ok()
        return result

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """Driver errors become ours: a database that cannot be used is Unavailable (retry; StorageFull for a
        full disk), and a fault reported; a duplicate is Conflict. Anything else is a bug, raised as it is."""
        try:
            yield
        except IntegrityError as exc:
            raise Conflict("the object already exists") from exc
        except Exception as exc:
            fault = classify(exc)
            if fault is None:
                raise
            self.availability.fault(fault, detail(exc))
            if self._guard is not None and fault in (Fault.LOST, Fault.TIMEOUT):
                self._guard.suspect_idle()
            if fault is Fault.FULL:
                raise StorageFull(MESSAGES[fault]) from exc
            raise Unavailable(MESSAGES[fault]) from exc

    async def close(self) -> None:
        if self._engine is not None and self._guard is not None:
            # The pooled connections are dropped without the protocol's goodbye, which would wait for a server
            # that may be away (PostgreSQL does not log the end of an idle connection). Bounded all the same.
            self._guard.suspect_idle()
            try:
                await asyncio.wait_for(self._engine.dispose(), self.connect_timeout_s)
            except (TimeoutError, OSError, DBAPIError) as exc:
                logger.warning("database connections not closed cleanly: %s", detail(exc))
        if self._sqlite is not None:
            await self._sqlite.close()

    def dsn(self) -> str:
        """The URL in libpq form, for a plain driver connection (LISTEN)."""
        dsn: str = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return dsn


def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``."""
    assert conn.sync_connection is not None
    driver = conn.sync_connection.connection.driver_connection
    assert driver is not None
    return driver


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

    def execute_each(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        sql, names, constants = _compiled(statement, self.sync.dialect)
        driver = self.sync.connection.driver_connection
        assert driver is not None
        found: list[tuple[Any, ...]] = []
        for row in rows:
            params = tuple({**constants, **row}[name] for name in names)
            try:
                found.extend(driver.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
        return found

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
    except asyncpg.PostgresError as exc:  # ``faults.classify`` tells a refusing server by its SQLSTATE
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


def inline(conn: Conn) -> _Inline | None:
    """``conn`` as the synchronous SQLite connection it is, if it is one (else None): for the few hot
    statements that are cheaper run on the driver once per row (``_Inline.execute_each``)."""
    return conn if isinstance(conn, _Inline) else None


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
    async def write(self, seconds: float) -> AsyncIterator[_Inline]:
        """A write transaction, begun within ``seconds`` (the wait for another process's lock)."""
        if seconds <= 0:
            raise _Expired("the request used its time for the database")
        async with self._write_lock:
            with self.writer.connect() as sync:
                await _begin(sync, min(seconds, SQLITE_BUSY_TIMEOUT_MS / 1000))
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


async def _begin(sync: Connection, seconds: float) -> None:
    """Begin (``BEGIN IMMEDIATE``: take the write lock), waiting with the loop free while another process
    holds the lock, up to ``seconds``."""
    deadline = time.monotonic() + seconds
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
