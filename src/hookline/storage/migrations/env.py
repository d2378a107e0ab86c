"""Alembic environment: runs on a connection handed over by ``hookline.storage.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from hookline.storage.tables import metadata

connection = context.config.attributes["connection"]
if connection.dialect.name == "postgresql":
    # Several processes may start at once; one migrates, the others wait and then find nothing to do.
    connection.execute(text("SELECT pg_advisory_xact_lock(7212201)"))
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
