"""One async connection interface over SQLAlchemy's sync and async engines.

:class:`~starling.adapters.sql.store.SqlStore` is written once against
:class:`Database`. PostgreSQL passes SQLAlchemy's ``AsyncEngine`` (asyncpg) through;
SQLite wraps a sync engine and runs each statement inline on the event loop's thread,
because a thread hop per call (aiosqlite) costs ~30x the throughput of the stdlib driver
on point reads (DESIGN.md: 316k vs 11.6k reads/s).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeAlias

from sqlalchemy import Connection, CursorResult, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

AnyResult: TypeAlias = CursorResult[*tuple[Any, ...]]
"""A buffered result of any number of columns."""


class Conn(Protocol):
    """An open connection: ``await conn.execute(stmt, params)`` → a buffered Result."""

    async def execute(self, statement: Executable, parameters: Any = None) -> AnyResult: ...


class Database(Protocol):
    """Connections on demand: ``connect()`` to read, ``begin()`` for one transaction."""

    def connect(self) -> AbstractAsyncContextManager[Conn]: ...

    def begin(self) -> AbstractAsyncContextManager[Conn]: ...

    async def dispose(self) -> None: ...


class _SyncConn:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, statement: Executable, parameters: Any = None) -> AnyResult:
        return self._conn.execute(statement, parameters)


class SyncDatabase:
    """A sync SQLAlchemy engine behind the async :class:`Database` interface."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Conn]:
        with self.engine.connect() as conn:
            yield _SyncConn(conn)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Conn]:
        with self.engine.begin() as conn:
            yield _SyncConn(conn)

    async def dispose(self) -> None:
        self.engine.dispose()


class AsyncDatabase:
    """SQLAlchemy's ``AsyncEngine`` (asyncpg) as a :class:`Database`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def connect(self) -> AbstractAsyncContextManager[Conn]:
        return self.engine.connect()

    def begin(self) -> AbstractAsyncContextManager[Conn]:
        return self.engine.begin()

    async def dispose(self) -> None:
        await self.engine.dispose()
