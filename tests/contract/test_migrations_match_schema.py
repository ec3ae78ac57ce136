"""The Alembic migrations build exactly the tables the SQLAlchemy schema declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from starling.adapters.sql.migrate import upgrade
from starling.adapters.sql.schema import metadata
from starling.adapters.sqlite.store import create_sqlite_engine


def test_sqlite_database_at_head_has_no_difference_from_the_schema(tmp_path: Path) -> None:
    engine = create_sqlite_engine(f"sqlite:///{tmp_path}/schema.db")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        assert {"media", "tweet_media"} <= set(metadata.tables)
    finally:
        engine.dispose()
