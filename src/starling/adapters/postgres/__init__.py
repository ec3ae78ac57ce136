"""PostgreSQL adapters: the scale-out store (SQLAlchemy Core on asyncpg) and its COPY bulk path."""
