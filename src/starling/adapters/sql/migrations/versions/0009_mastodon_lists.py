"""mastodon lists: favourites and reblogs of a status in order, idempotency keys

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-15 12:00:00.000000

Indexes for the Mastodon-compatible API's lists: a user's likes, most recent first
(``GET /api/v1/favourites``), the likers of a tweet by user id (``favourited_by``, which
replaces the index on ``likes.tweet_id`` alone) and the retweets of a tweet newest
first (``reblogged_by``, which replaces the index on ``tweets.retweet_of_id`` alone).
Adds ``idempotency_keys``: the status each ``Idempotency-Key`` of ``POST
/api/v1/statuses`` created, shared by every API process.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_likes_tweet_id_user_id"), "likes", ["tweet_id", "user_id"])
    op.drop_index(op.f("ix_likes_tweet_id"), table_name="likes")
    op.create_index(
        op.f("ix_likes_user_id_created_at_ms_tweet_id"),
        "likes",
        ["user_id", "created_at_ms", "tweet_id"],
    )
    op.create_index(op.f("ix_tweets_retweet_of_id_id"), "tweets", ["retweet_of_id", "id"])
    op.drop_index(op.f("ix_tweets_retweet_of_id"), table_name="tweets")
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key_digest", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_created_at_ms"), "idempotency_keys", ["created_at_ms"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_keys_created_at_ms"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.create_index(op.f("ix_tweets_retweet_of_id"), "tweets", ["retweet_of_id"])
    op.drop_index(op.f("ix_tweets_retweet_of_id_id"), table_name="tweets")
    op.drop_index(op.f("ix_likes_user_id_created_at_ms_tweet_id"), table_name="likes")
    op.create_index(op.f("ix_likes_tweet_id"), "likes", ["tweet_id"])
    op.drop_index(op.f("ix_likes_tweet_id_user_id"), table_name="likes")
