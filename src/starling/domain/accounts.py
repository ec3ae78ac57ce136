"""Account rules: login back-off, token revocation state, what an account deletion
removed. Pure: no I/O, times in Unix milliseconds from the caller's clock."""

from __future__ import annotations

from typing import Final

import msgspec

LOGIN_FREE_FAILURES: Final = 5
"""Wrong passwords in a row an account name may take before attempts are refused for a
while (OWASP's Authentication Cheat Sheet: lock out or slow down after a few failures)."""

LOGIN_BACKOFF_BASE_MS: Final = 1_000
"""Refusal after the :data:`LOGIN_FREE_FAILURES`-th failure; it doubles with each later
failure (1 s, 2 s, 4 s, ...)."""

LOGIN_BACKOFF_MAX_MS: Final = 15 * 60 * 1_000
"""Longest refusal (15 minutes): at that pace a guesser gets ~100 tries a day per account,
while the owner is never locked out for longer than this."""

LOGIN_FAILURE_MEMORY_MS: Final = 24 * 3_600 * 1_000
"""Failures older than this are forgotten (a day without a wrong attempt starts over)."""


def login_backoff_ms(failures: int) -> int:
    """Milliseconds during which an account name is refused after ``failures`` wrong
    passwords in a row: 0 below :data:`LOGIN_FREE_FAILURES`, then
    ``LOGIN_BACKOFF_BASE_MS * 2 ** (failures - LOGIN_FREE_FAILURES)`` up to
    :data:`LOGIN_BACKOFF_MAX_MS`."""
    if failures < LOGIN_FREE_FAILURES:
        return 0
    exponent = min(failures - LOGIN_FREE_FAILURES, 32)
    return int(min(LOGIN_BACKOFF_MAX_MS, LOGIN_BACKOFF_BASE_MS * 2**exponent))


MAX_USER_ID: Final = 2**63 - 1
"""Ids are snowflakes in signed 64-bit columns; a token subject above this names nobody."""


def parse_subject(subject: object) -> int | None:
    """The user id of a token's ``sub`` claim: a decimal string of ASCII digits naming an
    id in 1..:data:`MAX_USER_ID`; None for anything else (so it can never reach the
    database as an out-of-range integer)."""
    if not isinstance(subject, str) or not 0 < len(subject) <= 19:
        return None
    if not subject.isascii() or not subject.isdigit():
        return None
    value = int(subject)
    return value if 0 < value <= MAX_USER_ID else None


class TokenState(msgspec.Struct, frozen=True, kw_only=True):
    """Which of a user's access tokens are revoked, by token id (``jti``, a snowflake).

    ``revoked_below``: every token whose id is below it is revoked (a password change
    sets it to a fresh snowflake), except ``kept_jti`` (the token that made the change).
    ``revoked``: ids of single tokens revoked by logout (unexpired ones only).
    """

    revoked_below: int = 0
    kept_jti: int | None = None
    revoked: frozenset[int] = frozenset()

    def allows(self, jti: int) -> bool:
        """Whether the token with id ``jti`` is still valid."""
        if jti in self.revoked:
            return False
        return jti >= self.revoked_below or jti == self.kept_jti


class DeletedAccount(msgspec.Struct, frozen=True, kw_only=True):
    """What deleting an account removed, for the events written with the deletion.

    ``tweets``: ``(tweet_id, author_id)`` of every tweet deleted: the account's own and
    other users' retweets of them. ``follows``: ``(follower_id, followee_id,
    followers_before)`` of every follow edge removed, either way. ``likes``:
    ``(tweet_id, author_id)`` of the account's likes of other users' tweets.
    ``counted_tweet_ids``: other users' tweets whose counts dropped (liked, retweeted or
    replied to by the account). ``media_keys``: the media store keys of the account's
    uploads (originals and thumbnails), whose rows went with it.
    """

    user_id: int
    tweets: list[tuple[int, int]]
    follows: list[tuple[int, int, int]]
    likes: list[tuple[int, int]]
    counted_tweet_ids: list[int] = []
    media_keys: list[str] = []
