"""Search objects that differ by engine, created by migration 0005 (which holds the DDL;
not in ``metadata``:
an FTS5 virtual table and a ``tsvector`` column have no portable SQLAlchemy type).

- SQLite: ``search_tweets``, an FTS5 table (rowid = tweet id; columns ``body``, the
  tweet's text, and ``tags``, its folded hashtags separated by spaces, both indexed;
  ``author_id`` stored, not indexed) with the ``unicode61 remove_diacritics 2``
  tokenizer, so that case and diacritics never matter (Spanish "inundación" matches
  "inundacion"). FTS5 keeps its own copy of the text: SQLite 3.40 has no contentless
  table that can delete rows (``contentless_delete`` arrived in 3.43), and an
  external-content table needs the old text to delete, which a deleted tweet no longer has.
- PostgreSQL: ``search_tweets`` table (``tweet_id``, ``author_id``, ``document``: the
  ``simple`` configuration's ``tsvector`` of the folded text, ``hashtags``: text[] of
  folded hashtags), with GIN indexes on ``document`` and ``hashtags``. The ``simple``
  configuration lower-cases and never stems, right for a multilingual corpus; folding in
  Python (``domain.search.fold``) replaces the ``unaccent`` extension.
- Users (both): prefix indexes on ``lower(display_name)`` (and, on PostgreSQL, on
  ``username_lower``), in byte order (``COLLATE "C"`` on PostgreSQL, SQLite's BINARY), so
  a prefix is one range scan whatever the database's collation.
"""

from __future__ import annotations

SEARCH_TABLE = "search_tweets"

ENGINE_SPECIFIC_INDEXES = frozenset(
    {"ix_users_display_name_lower", "ix_users_username_prefix", "ix_users_display_name_prefix"}
)


def is_engine_specific(name: str | None) -> bool:
    """Whether a database object named ``name`` is one of this module's (Alembic's
    autogenerate must not propose dropping them: they are not in ``metadata``)."""
    return name is not None and (name.startswith(SEARCH_TABLE) or name in ENGINE_SPECIFIC_INDEXES)
