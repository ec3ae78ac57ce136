"""One async connection interface over SQLAlchemy's sync and async engines.

:class:`~starling.adapters.sql.store.SqlStore` is written once against
:class:`Database`. PostgreSQL passes SQLAlchemy's ``AsyncEngine`` (asyncpg) through;
SQLite wraps a sync engine and runs each statement inline on the event loop's thread,
because a thread hop per call (aiosqlite) costs ~30x the throughput of the stdlib driver
on point reads (docs/decisions/0009: 316k vs 11.6k reads/s).

The few reads every home-timeline page makes (:mod:`~starling.adapters.sql.hot_reads`)
skip SQLAlchemy's execution machinery and go to the driver itself through
:meth:`Database.fetch`: SQLAlchemy's per-statement work (pool checkout, parameter
processing, expanding ``IN`` lists, result wrapping) measured ~290 us per query on a
50-id page here, against ~10-30 us for the same SQL on the driver (docs/decisions/0009).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, NamedTuple, Protocol, TypeAlias

import msgspec
from sqlalchemy import Connection, CursorResult, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Executable

AnyResult: TypeAlias = CursorResult[*tuple[Any, ...]]
"""A buffered result of any number of columns."""


Rows: TypeAlias = Sequence[Sequence[Any]]
"""Rows of a :meth:`Database.fetch`: tuples (SQLite) or asyncpg Records, both indexable."""


class RawQuery(NamedTuple):
    """One hot read written in each dialect's own SQL, run on the driver itself.

    Parameters are positional. A parameter that is a list of ints (an id list) is bound
    as one value: SQLite reads it as JSON text through ``json_each(?n)``, PostgreSQL as
    ``$n::bigint[]`` (``= ANY``), so each query is one fixed SQL string whatever the
    list's length, and both drivers keep it prepared in their statement caches.
    """

    sqlite: str
    postgresql: str


class Conn(Protocol):
    """An open connection: ``await conn.execute(stmt, params)`` → a buffered Result."""

    async def execute(self, statement: Executable, parameters: Any = None) -> AnyResult: ...


class Database(Protocol):
    """Connections on demand: ``connect()`` to read, ``begin()`` for one transaction."""

    def connect(self) -> AbstractAsyncContextManager[Conn]: ...

    def begin(self) -> AbstractAsyncContextManager[Conn]: ...

    fetch_listeners: list[Callable[[str], None]]
    """Called with the SQL of each :meth:`fetch` (SQLAlchemy's own events see the rest)."""

    async def fetch(self, query: RawQuery, *params: Any) -> Rows:
        """All rows of ``query`` with ``params``, read outside any transaction (each
        sees what committed before it)."""
        ...

    async def dispose(self) -> None: ...


class _SyncConn:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, statement: Executable, parameters: Any = None) -> AnyResult:
        return self._conn.execute(statement, parameters)


def _sqlite_param(value: Any) -> Any:
    # str, not bytes: SQLite 3.45+ would read a BLOB as its binary JSONB.
    return msgspec.json.encode(value).decode() if isinstance(value, list) else value


class SyncDatabase:
    """A sync SQLAlchemy engine (SQLite) behind the async :class:`Database` interface.

    :meth:`fetch` runs on one pooled DBAPI connection kept for hot reads. It never opens
    a transaction (the stdlib driver begins one only before DML), so in WAL mode each
    read sees every commit made before it on the engine's other connections.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fetch_listeners: list[Callable[[str], None]] = []
        self._reader: PoolProxiedConnection | None = None

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Conn]:
        with self.engine.connect() as conn:
            yield _SyncConn(conn)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Conn]:
        with self.engine.begin() as conn:
            yield _SyncConn(conn)

    async def fetch(self, query: RawQuery, *params: Any) -> Rows:
        for listener in self.fetch_listeners:
            listener(query.sqlite)
        reader = self._reader
        if reader is None:
            reader = self._reader = self.engine.raw_connection()
        cursor = reader.cursor()
        try:
            cursor.execute(query.sqlite, [_sqlite_param(p) for p in params])
            rows: Rows = cursor.fetchall()
        finally:
            cursor.close()
        return rows

    async def dispose(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.engine.dispose()


async def _keep_session(_connection: Any) -> None:
    """asyncpg's pool by default runs a reset query (``RESET ALL``, ``UNLISTEN *``, ...)
    each time a connection goes back: a second round trip per hot read. These connections
    only run the reads of :meth:`AsyncDatabase.fetch`, which change no session state, so
    there is nothing to reset (an open transaction would still be rolled back)."""


class AsyncDatabase:
    """SQLAlchemy's ``AsyncEngine`` (asyncpg) as a :class:`Database`.

    :meth:`fetch` runs on an asyncpg pool of its own (opened on first use, at most
    ``raw_pool_size`` connections), whose connections keep each query prepared.
    """

    def __init__(self, engine: AsyncEngine, *, raw_pool_size: int = 10) -> None:
        self.engine = engine
        self.fetch_listeners: list[Callable[[str], None]] = []
        self._raw_pool_size = raw_pool_size
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()

    async def _raw_pool(self) -> Any:
        async with self._pool_lock:
            if self._pool is None:
                import asyncpg

                url = self.engine.url.set(drivername="postgresql")
                self._pool = await asyncpg.create_pool(
                    url.render_as_string(hide_password=False),
                    min_size=1,
                    max_size=self._raw_pool_size,
                    reset=_keep_session,
                )
            return self._pool

    async def fetch(self, query: RawQuery, *params: Any) -> Rows:
        for listener in self.fetch_listeners:
            listener(query.postgresql)
        pool = self._pool if self._pool is not None else await self._raw_pool()
        rows: Rows = await pool.fetch(query.postgresql, *params)
        return rows

    def connect(self) -> AbstractAsyncContextManager[Conn]:
        return self.engine.connect()

    def begin(self) -> AbstractAsyncContextManager[Conn]:
        return self.engine.begin()

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        await self.engine.dispose()
