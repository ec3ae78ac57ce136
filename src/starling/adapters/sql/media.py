"""``MediaRows`` in SQL: media metadata and tweet attachments (a mixin of
:class:`~starling.adapters.sql.store.SqlStore`, which provides ``self.db``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import insert, select

from starling.adapters.sql import hot_reads
from starling.adapters.sql.database import Conn, Database
from starling.adapters.sql.statements import MEDIA_COLUMNS, media_from_row
from starling.adapters.sql.tables import media, tweet_media
from starling.domain.media import Media


async def attach_media(conn: Conn, tweet_id: int, media_ids: Sequence[int]) -> None:
    """Write the attachment rows of a new tweet inside the caller's transaction."""
    if media_ids:
        await conn.execute(
            insert(tweet_media),
            [{"tweet_id": tweet_id, "position": i, "media_id": m} for i, m in enumerate(media_ids)],
        )


class MediaSql:
    """Media metadata rows and the media of tweets."""

    db: Database

    async def add_media(self, item: Media) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                insert(media),
                {
                    "id": item.id,
                    "owner_id": item.owner_id,
                    "format": item.format,
                    "width": item.width,
                    "height": item.height,
                    "size_bytes": item.size_bytes,
                    "thumb_width": item.thumb_width,
                    "thumb_height": item.thumb_height,
                    "created_at_ms": item.created_at_ms,
                },
            )

    async def get_media(self, media_ids: Iterable[int]) -> dict[int, Media]:
        ids = list(set(media_ids))
        if not ids:
            return {}
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(*MEDIA_COLUMNS).where(media.c.id.in_(ids)))).all()
        return {row[0]: media_from_row(row) for row in rows}

    async def media_of_tweets(self, tweet_ids: Iterable[int]) -> dict[int, list[Media]]:
        ids = list(set(tweet_ids))
        if not ids:
            return {}
        out: dict[int, list[Media]] = {}
        for row in await self.db.fetch(hot_reads.MEDIA_OF_TWEETS, ids):
            out.setdefault(row[9], []).append(media_from_row(row))
        return out
