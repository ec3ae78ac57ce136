"""What the SQL stores share: the schema (:mod:`.tables`), the Alembic migrations, the
statements (:mod:`.statements`, SQLAlchemy Core; :mod:`.hot_reads`, the page reads as
raw SQL per dialect, generated from the same tables) and the store written once over
both engines (:mod:`.store` and its mixins)."""
