"""Tweet text rules: length after NFC, #hashtag and @mention extraction."""

from __future__ import annotations

import re
import unicodedata

from starling.domain.errors import TextEmpty, TextTooLong

MAX_TWEET_LENGTH = 280
"""Code points after NFC normalisation: Twitter's limit since November 2017."""

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,15}$")
"""Twitter's screen-name rule: 1..15 ASCII letters, digits or underscores."""

_HASHTAG = re.compile(r"(?<![\w&#])[#＃](\w*[^\W\d_]\w*)")
_MENTION = re.compile(r"(?<![\w@])[@＠]([A-Za-z0-9_]{1,15})(?![\w@])")


def normalize_tweet_text(text: str) -> str:
    """Return ``text`` in NFC, checked against the length rule.

    Raises :class:`TextEmpty` when nothing but white space is left, and
    :class:`TextTooLong` above ``MAX_TWEET_LENGTH`` code points.
    """
    normalized = unicodedata.normalize("NFC", text)
    if not normalized.strip():
        raise TextEmpty()
    if len(normalized) > MAX_TWEET_LENGTH:
        raise TextTooLong(len(normalized))
    return normalized


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def hashtags(text: str) -> list[str]:
    """Hashtags in order of first use, without '#', de-duplicated case-insensitively.

    A hashtag needs at least one letter (``#2013`` is not one), as on Twitter.
    """
    return _unique(_HASHTAG.findall(text))


def mentions(text: str) -> list[str]:
    """@mentioned usernames in order of first use, without '@', de-duplicated."""
    return _unique(_MENTION.findall(text))
