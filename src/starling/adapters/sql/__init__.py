"""What the SQL stores share: the SQLAlchemy Core schema and the Alembic migrations."""
