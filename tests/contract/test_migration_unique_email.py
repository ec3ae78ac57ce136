"""Migration 0007 on a database that holds duplicate e-mail addresses (registration used
to accept them): the oldest account keeps its address, the others get a placeholder and
a log line, and the address is unique in any case from then on. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

import pg
import services
from starling.adapters.postgres.store import asyncpg_url, upgrade_async
from starling.adapters.sql.migrate import upgrade
from starling.adapters.sqlite.store import create_sqlite_engine

ROWS = [
    # id, username, email, created_at_ms
    (1, "first", "Same@Example.org", 1_000),
    (2, "second", "same@example.ORG", 2_000),
    (3, "third", "SAME@EXAMPLE.ORG", 1_500),
    (4, "alone", "alone@example.org", 500),
    (5, "imported", None, 100),
]
EXPECTED = {
    1: "Same@Example.org",  # the oldest of the three keeps it
    2: "duplicate-2@email.invalid",
    3: "duplicate-3@email.invalid",
    4: "alone@example.org",
    5: None,
}
INSERT = sa.text(
    "INSERT INTO users (id, username, username_lower, email, display_name, created_at_ms)"
    " VALUES (:id, :username, :username, :email, :username, :created)"
)


def _params() -> list[dict[str, object]]:
    return [
        {"id": i, "username": name, "email": email, "created": created}
        for i, name, email, created in ROWS
    ]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_sqlite_engine(f"sqlite:///{tmp_path}/dupes.db")
    yield engine
    engine.dispose()


def test_sqlite_keeps_the_oldest_address_and_renames_the_others(
    sqlite_engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    upgrade(sqlite_engine, "0006")
    with sqlite_engine.begin() as conn:
        conn.execute(INSERT, _params())
    with caplog.at_level(logging.WARNING, logger="starling.migrations"):
        upgrade(sqlite_engine)
    with sqlite_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, email, email_lower FROM users")).all()
    assert {row[0]: row[1] for row in rows} == EXPECTED
    assert all(row[2] == (row[1].lower() if row[1] else None) for row in rows)
    renamed = [r.getMessage() for r in caplog.records if r.name == "starling.migrations"]
    assert len(renamed) == 2
    assert all("renamed" in m for m in renamed)
    late = {"id": 9, "username": "late", "email": "x@example.org", "created": 9}
    with sqlite_engine.begin() as conn:
        conn.execute(INSERT, late)
    taken = sa.text("UPDATE users SET email_lower = 'alone@example.org' WHERE id = 9")
    with pytest.raises(IntegrityError), sqlite_engine.begin() as conn:
        conn.execute(taken)


@pytest.fixture
async def empty_pg() -> AsyncIterator[str]:
    services.require("postgresql")
    name = await pg.empty_database()
    try:
        yield pg.database_url(name)
    finally:
        await pg.drop_database(name)


async def test_postgres_keeps_the_oldest_address_and_renames_the_others(empty_pg: str) -> None:
    engine = create_async_engine(asyncpg_url(empty_pg))
    try:
        await upgrade_async(engine, "0006")
        async with engine.begin() as conn:
            await conn.execute(INSERT, _params())
        await upgrade_async(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT id, email FROM users"))).all()
        assert {row[0]: row[1] for row in rows} == EXPECTED
    finally:
        await engine.dispose()
