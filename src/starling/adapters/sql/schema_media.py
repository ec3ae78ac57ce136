"""Tables of media: upload metadata and the attachments of tweets.

The bytes live in the ``MediaStore`` (a directory or an object store), never in the
database; a row here is what hydration needs to describe an image without reading it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
)

from starling.adapters.sql.schema import metadata

media = Table(
    "media",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner_id", BigInteger, nullable=False),
    Column("format", String(8), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("thumb_width", Integer, nullable=False),
    Column("thumb_height", Integer, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

tweet_media = Table(
    "tweet_media",
    metadata,
    # Keyed by tweet first: hydration reads the media of a page's tweets, a range per
    # tweet in this key, in attachment order.
    Column("tweet_id", BigInteger, nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("media_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("tweet_id", "position"),
)

__all__ = ["media", "metadata", "tweet_media"]
