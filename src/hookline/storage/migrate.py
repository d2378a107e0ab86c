"""Bring a database up to date with the Alembic migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

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
