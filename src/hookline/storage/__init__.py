"""The storage adapter: SQLAlchemy Core over SQLite (`sqlite3`, inline on the loop) and PostgreSQL (asyncpg).

Only this package imports SQLAlchemy or a database driver. The database is also the queue.
"""
