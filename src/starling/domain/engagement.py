"""Engagement values shown on a tweet: its counts and what the viewer did to it."""

from __future__ import annotations

import msgspec


class Counts(msgspec.Struct, frozen=True, gc=False):
    """A tweet's engagement counts (the API's ``metrics``), all >= 0."""

    likes: int = 0
    retweets: int = 0
    replies: int = 0


NO_COUNTS = Counts()
"""The counts of a tweet nobody engaged with (no counter rows)."""


class ViewerFlags(msgspec.Struct, frozen=True, gc=False):
    """What the viewing user did to a tweet (the API's ``viewer``)."""

    liked: bool = False
    retweeted: bool = False


NO_FLAGS = ViewerFlags()
