"""retweets and conversations: tweets.retweet_of_id, reply and retweet indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tweets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retweet_of_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tweets_author_id_retweet_of_id"),
            ["author_id", "retweet_of_id"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_tweets_retweet_of_id"), ["retweet_of_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tweets_reply_to_tweet_id_id"), ["reply_to_tweet_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tweets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tweets_reply_to_tweet_id_id"))
        batch_op.drop_index(batch_op.f("ix_tweets_retweet_of_id"))
        batch_op.drop_index(batch_op.f("ix_tweets_author_id_retweet_of_id"))
        batch_op.drop_column("retweet_of_id")
