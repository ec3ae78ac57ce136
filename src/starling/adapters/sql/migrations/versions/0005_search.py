"""search: full-text index of tweets, prefix indexes of users

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000

The objects differ by engine (see :mod:`starling.adapters.sql.tables`): an FTS5
virtual table on SQLite, a tsvector table with GIN indexes on PostgreSQL. The index
starts empty; the ``search`` consumer group, starting from the first outbox event,
indexes the tweets posted through the API, and ``starling load`` indexes what it loads.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

SEARCH_TABLE = "search_tweets"

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_OBJECTS = (
    f"""CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5(
        body, tags, author_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
    )""",
    "CREATE INDEX ix_users_display_name_lower ON users (lower(display_name))",
)
SQLITE_DROP = (
    "DROP INDEX IF EXISTS ix_users_display_name_lower",
    f"DROP TABLE IF EXISTS {SEARCH_TABLE}",
)

POSTGRES_OBJECTS = (
    f"""CREATE TABLE {SEARCH_TABLE} (
        tweet_id BIGINT NOT NULL,
        author_id BIGINT NOT NULL,
        document TSVECTOR NOT NULL,
        hashtags TEXT[] NOT NULL,
        CONSTRAINT pk_{SEARCH_TABLE} PRIMARY KEY (tweet_id)
    )""",
    f"CREATE INDEX ix_{SEARCH_TABLE}_document ON {SEARCH_TABLE} USING gin (document)",
    f"CREATE INDEX ix_{SEARCH_TABLE}_hashtags ON {SEARCH_TABLE} USING gin (hashtags)",
    # from:user combined with words: the planner may AND this with the GIN bitmaps.
    f"CREATE INDEX ix_{SEARCH_TABLE}_author_id ON {SEARCH_TABLE} (author_id, tweet_id)",
    # Prefix search of users is a range scan in byte order (see adapters/sql/search.py).
    'CREATE INDEX ix_users_username_prefix ON users (username_lower COLLATE "C")',
    'CREATE INDEX ix_users_display_name_prefix ON users (lower(display_name) COLLATE "C")',
)
POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_users_display_name_prefix",
    "DROP INDEX IF EXISTS ix_users_username_prefix",
    f"DROP TABLE IF EXISTS {SEARCH_TABLE}",
)


def _statements(create: bool) -> Sequence[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return SQLITE_OBJECTS if create else SQLITE_DROP
    if dialect == "postgresql":
        return POSTGRES_OBJECTS if create else POSTGRES_DROP
    raise NotImplementedError(f"no search index for the {dialect} dialect")


def upgrade() -> None:
    for statement in _statements(create=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(create=False):
        op.execute(statement)
