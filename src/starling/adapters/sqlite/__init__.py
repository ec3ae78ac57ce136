"""SQLite adapters: the embedded default store (SQLAlchemy Core on stdlib sqlite3)."""
