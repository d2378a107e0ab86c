"""Bring a database up to date with the Alembic migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from hookline.storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database) -> None:
    """Apply every migration not yet applied (safe to run from several processes at once)."""
    await db.run_sync(lambda sync: command.upgrade(_config(sync), "head"))


async def revisions(db: Database) -> tuple[str | None, str | None]:
    """The database's schema revision (None: no hookline schema) and the newest this hookline knows."""
    return await db.run_sync(_revisions)


def known(revision: str) -> bool:
    """Whether ``revision`` is one of this hookline's migrations (else a newer hookline made it)."""
    return any(script.revision == revision for script in _scripts().walk_revisions())


def _revisions(conn: Connection) -> tuple[str | None, str | None]:
    return MigrationContext.configure(conn).get_current_revision(), _scripts().get_current_head()


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))
