"""The storage adapter: SQLAlchemy Core over SQLite (aiosqlite) and PostgreSQL (asyncpg).

Only this package imports SQLAlchemy or a database driver. The database is also the queue.
"""
