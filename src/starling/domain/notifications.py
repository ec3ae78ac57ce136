"""Notifications: what happened to a user's account or tweets, and who did it."""

from __future__ import annotations

from typing import Literal

import msgspec

NotificationType = Literal["mention", "reply", "like", "retweet", "follow"]
"""The API's notification types."""


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One inbox entry of ``user_id``: ``actor_id`` did ``type`` (to ``tweet_id``, which is
    the mentioning or replying tweet, the liked one, or the retweet; None for a follow).

    ``id`` is the snowflake of the event that caused it, so it is time-ordered and unique
    within one user's inbox (not across inboxes: one event may notify several users).
    ``created_at_ms`` is the event's time in Unix milliseconds.
    """

    id: int
    user_id: int
    type: NotificationType
    actor_id: int
    tweet_id: int | None
    created_at_ms: int
