"""Throw-away PostgreSQL databases for tests: one fresh, migrated database per test.

Creating a database and running the migrations takes about a second; cloning a migrated
template (``CREATE DATABASE ... TEMPLATE``) takes a fraction of that. So the migrations
run once per schema version into a template database named after a digest of the
migration files (``starling_tpl_<digest>``), which later sessions reuse and an edited
migration replaces; each test then gets its own clone (``starling_t_<random>``), dropped
when the test ends.

Use it from a fixture (works in any test module, no registration needed)::

    import pg

    @pytest.fixture
    async def database_url() -> AsyncIterator[str]:
        async with pg.fresh_database_url() as url:  # skips (or fails on CI) if PG is down
            yield url

or, once ``tests/conftest.py`` has ``pytest_plugins = ["pg"]``, ask for the ``pg_url``
fixture. The server is the one :mod:`services` checks (``STARLING_TEST_POSTGRES_ADDR``,
default 127.0.0.1:5432) as user ``postgres``; ``STARLING_TEST_POSTGRES_URL`` overrides
the whole maintenance URL (any database the user can connect to and CREATE DATABASE from).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

import services
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sql.migrate import MIGRATIONS

MAINTENANCE_URL = os.environ.get(
    "STARLING_TEST_POSTGRES_URL", f"postgresql://postgres@{services.SERVICES['postgresql']}/test"
)
"""Where CREATE DATABASE and DROP DATABASE are sent (never a database tests write to)."""

TEMPLATE_PREFIX = "starling_tpl_"
DATABASE_PREFIX = "starling_t_"


def database_url(name: str) -> str:
    """The ``postgresql://`` URL of database ``name`` on the test server."""
    url = make_url(MAINTENANCE_URL).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


def _quote(name: str) -> str:
    # Names here are made of a fixed prefix and hex digits; quoting is belt and braces.
    return '"' + name.replace('"', '""') + '"'


def migrations_digest() -> str:
    """A digest of every file under the migrations folder (env.py, versions/*.py): a
    template built from other migrations has another name."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(str(path.relative_to(MIGRATIONS)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


async def admin(*statements: str) -> None:
    """Run ``statements`` on the maintenance database, each in autocommit (as
    CREATE/DROP DATABASE require)."""
    conn = await asyncpg.connect(database_url(make_url(MAINTENANCE_URL).database or "postgres"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _exists(name: str) -> bool:
    conn = await asyncpg.connect(database_url(make_url(MAINTENANCE_URL).database or "postgres"))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting whoever is still connected."""
    await admin(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")


async def template_database() -> str:
    """The name of the migrated template database of the current migrations, built if
    missing. Safe when several test sessions build it at once: each migrates a private
    database and renames it into place; a loser of the race drops its copy. The template
    refuses connections, so nobody can hold it open and block the clones."""
    name = TEMPLATE_PREFIX + migrations_digest()
    if await _exists(name):
        return name
    building = f"starling_build_{uuid.uuid4().hex[:16]}"
    await admin(f"CREATE DATABASE {_quote(building)}")
    try:
        store = await PostgresStore.open(database_url(building))
        await store.close()
        await admin(f"ALTER DATABASE {_quote(building)} WITH ALLOW_CONNECTIONS false")
        try:
            await admin(f"ALTER DATABASE {_quote(building)} RENAME TO {_quote(name)}")
        except asyncpg.DuplicateDatabaseError:
            await drop_database(building)
    except BaseException:
        await drop_database(building)
        raise
    return name


async def empty_database() -> str:
    """Create a database with no tables at all (from ``template0``) and return its name;
    the caller drops it (:func:`drop_database`). For testing the migrations themselves."""
    name = DATABASE_PREFIX + uuid.uuid4().hex[:16]
    await admin(f"CREATE DATABASE {_quote(name)} TEMPLATE template0")
    return name


@asynccontextmanager
async def fresh_database_url() -> AsyncIterator[str]:
    """A new database migrated to head, as a ``postgresql://`` URL; dropped on exit
    (connections still open are terminated). Skips the test when PostgreSQL is down,
    fails it instead when ``STARLING_REQUIRE_SERVICES=1`` (see :mod:`services`)."""
    services.require("postgresql")
    template = await template_database()
    name = DATABASE_PREFIX + uuid.uuid4().hex[:16]
    await admin(f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(template)}")
    try:
        yield database_url(name)
    finally:
        await drop_database(name)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database per test (see :func:`fresh_database_url`).
    Available where ``pytest_plugins = ["pg"]`` is declared in the root conftest."""
    async with fresh_database_url() as url:
        yield url
