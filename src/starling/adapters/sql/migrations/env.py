"""Alembic environment: runs against the connection handed in by :mod:`migrate`, or a URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from starling.adapters.sql.tables import is_engine_specific, metadata

config = context.config


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate filter: the engine-specific search objects of migration 0005 are not
    in ``metadata`` on purpose; never propose dropping them."""
    return not (reflected and compare_to is None and is_engine_specific(name))


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        include_object=_include,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        _run(conn)
