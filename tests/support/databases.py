"""A PostgreSQL database with no schema at all, for what must create it (``hookline migrate``)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from conftest import TEMPLATE, _drop_db, _pg_admin_dsn


@contextlib.asynccontextmanager
async def empty_postgres() -> AsyncIterator[str]:
    """The name of a new, empty database (not made from the migrated template), dropped afterwards."""
    name = f"{TEMPLATE}_empty_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_pg_admin_dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield name
    finally:
        await _drop_db(name)
