"""Shared fixtures: a database per test on SQLite and on PostgreSQL, and a running hookline app."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from hookline.asgi import create_app
from hookline.config import Settings
from hookline.storage import migrate
from hookline.storage.database import Database
from support.receiver import receiver  # noqa: F401  (a fixture)
from support.senders import open_client  # noqa: F401  (a fixture)

PG_URL = os.environ.get("HOOKLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# The pytest-xdist worker this process is ("gw0", "gw1", ...; "main" without xdist).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
# Each worker's own database, named from HOOKLINE_TEST_POSTGRES_URL's and the worker's: made on demand by a
# maintenance connection to the same server, migrated, and the template of every database its tests get
# (at most 37 characters: 63 with the suffix each of those gets). The process id keeps two sessions on one
# URL (a developer's two terminals) from rebuilding each other's.
TEMPLATE = f"{(urlsplit(PG_URL).path.lstrip('/') or 'test')[:24]}_{WORKER}_{os.getpid()}"
OPERATOR_KEY = "hl_op_test_operator_key"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HOOKLINE_") and not name.startswith("HOOKLINE_TEST_"):
            monkeypatch.delenv(name)


def _pg_admin_dsn(database: str = "postgres") -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{database}"


async def _build_template() -> None:
    admin = await asyncpg.connect(_pg_admin_dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    db = Database(_pg_admin_dsn(TEMPLATE))
    try:
        await migrate.upgrade(db)
    finally:
        await db.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    built = False
    try:
        # Requested from inside a running event loop, so it runs on a loop of its own in a thread.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: asyncio.run(_build_template())).result()
        built = True
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and is not reachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({exc}); see README 'Tests'")
    yield TEMPLATE
    if built:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: asyncio.run(_drop_db(TEMPLATE))).result()


async def _create_db(name: str) -> None:
    admin = await asyncpg.connect(_pg_admin_dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    finally:
        await admin.close()


async def _drop_db(name: str) -> None:
    admin = await asyncpg.connect(_pg_admin_dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_pg_url() -> AsyncIterator[str]:
    """A new, migrated PostgreSQL database made from this worker's template (``pg_template`` must be set
    up), dropped afterwards: its URL."""
    name = f"{TEMPLATE}_{uuid.uuid4().hex[:12]}"
    await _create_db(name)
    try:
        yield _pg_admin_dsn(name)
    finally:
        await _drop_db(name)


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[str]:
    """A fresh, migrated database: a SQLite file, or a PostgreSQL database made from a template."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hookline.db"
        return
    request.getfixturevalue("pg_template")
    async with fresh_pg_url() as url:
        yield url


@pytest.fixture
async def pg_url(pg_template: str) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database (from the template), dropped afterwards."""
    async with fresh_pg_url() as url:
        yield url


def app_settings(db_url: str, **overrides: Any) -> Settings:
    base = Settings(
        database_url=db_url,
        operator_key=OPERATOR_KEY,
        allow_private_targets=True,
        poll_interval_s=0.2,
        lease_s=10.0,
        # A request's database deadline, and connecting's: generous, since four test workers share two cores
        # with PostgreSQL (a clean-clone run had a connection take over 2 s); the tests of the deadlines
        # themselves set theirs (tests/faults).
        db_timeout_s=20.0,
        db_connect_timeout_s=10.0,
    )
    return replace(base, **overrides)


class Client:
    """An API client for one caller (operator or merchant)."""

    def __init__(self, http: httpx.AsyncClient, key: str) -> None:
        self.http = http
        self.key = key

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None


@contextlib.asynccontextmanager
async def running_app(settings: Settings, *, worker: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, worker=worker, migrate_db=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as http:
            yield http


@pytest.fixture
async def http(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(app_settings(db_url)) as client:
        yield client


@pytest.fixture
async def operator(http: httpx.AsyncClient) -> Client:
    return Client(http, OPERATOR_KEY)


async def new_merchant(operator: Client, name: str = "Other Shop", public_id: str | None = None) -> Client:
    """A merchant the operator has just made: a client with its key, and its id as ``merchant_id``."""
    body: dict[str, Any] = {"name": name}
    if public_id is not None:
        body["public_id"] = public_id
    made = await operator.ok("POST", "/v1/merchants", 201, json=body)
    client = Client(operator.http, made["api_key"])
    client.merchant_id = made["id"]  # type: ignore[attr-defined]
    return client


@pytest.fixture
async def merchant(operator: Client) -> Client:
    return await new_merchant(operator, "Acme Coffee")
