"""SQLite implementation of the ``Store`` port (the embedded default).

SQLAlchemy Core on the stdlib ``sqlite3`` driver, run inline on the event loop's thread
(see :mod:`starling.adapters.sql.database` for why). WAL mode lets ``starling load`` or
a second reader work beside a running server.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, Insert, Table, create_engine, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.pool import ConnectionPoolEntry

from starling.adapters.sql.database import SyncDatabase
from starling.adapters.sql.migrate import upgrade
from starling.adapters.sql.store import SqlStore


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///path`` URL, or None for an in-memory database."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"not a SQLite URL: {url!r}")
    rest = url[len(prefix) :]
    return None if rest in ("", ":memory:") else Path(rest)


def create_sqlite_engine(url: str) -> Engine:
    """An engine with WAL and a 30 s busy timeout, so a concurrent writer (a load beside
    a running server) waits instead of failing."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30.0})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: durable across application crashes, fsync at checkpoints.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    return engine


def _insert_ignoring(table: Table) -> Insert:
    return sqlite_insert(table).on_conflict_do_nothing()


class SqliteStore(SqlStore):
    """The embedded store on one SQLite file; ``migrate=True`` brings the schema to the
    newest Alembic revision on open."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = create_sqlite_engine(url)
        if migrate:
            upgrade(self.engine)
        super().__init__(SyncDatabase(self.engine), _insert_ignoring)
