"""Tweet text rules: length after NFC, #hashtag and @mention extraction."""

from __future__ import annotations

import re
import unicodedata

from starling.domain.errors import InvalidInput, TextEmpty, TextTooLong

MAX_TWEET_LENGTH = 280
"""Code points after NFC normalisation: Twitter's limit since November 2017."""

USERNAME_PATTERN = re.compile(r"\A[A-Za-z0-9_]{1,15}\Z")
r"""Twitter's screen-name rule: 1..15 ASCII letters, digits or underscores (``\Z``, not
``$``, which would accept a trailing newline)."""

_MENTION = re.compile(r"(?<![\w@])[@＠]([A-Za-z0-9_]{1,15})(?![\w@])")


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
"""NUL (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8)."""


def is_storable(value: str) -> bool:
    """False when ``value`` holds a character no store can keep (nor look up: PostgreSQL
    refuses NUL in any query parameter): NUL or a lone UTF-16 surrogate."""
    return _UNSTORABLE.search(value) is None


def check_storable(value: str, field: str) -> None:
    """Raise :class:`InvalidInput` (code ``invalid_characters``) when ``value`` holds a
    character no store can keep: NUL or a lone UTF-16 surrogate."""
    if not is_storable(value):
        raise InvalidInput(
            f"{field} contains a character that cannot be stored (NUL or a lone surrogate).",
            code="invalid_characters",
        )


INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
"""Unicode categories that show nothing on their own: control characters, format
characters (U+200B zero width space, U+200E/U+202E direction marks and overrides,
U+2060 word joiner, U+FEFF byte order mark, U+E0001.. tags) and every kind of space."""

INVISIBLE_OTHERS = frozenset(
    "\u034f"  # combining grapheme joiner (Mn)
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers (Lo): blank by design
    "\u2800"  # braille pattern blank (So)
    + "".join(map(chr, range(0xFE00, 0xFE10)))  # variation selectors (Mn)
    + "".join(map(chr, range(0xE0100, 0xE01F0)))  # variation selectors supplement (Mn)
)
"""Characters of other categories that render as nothing: the usual ways to post a
tweet that looks empty."""


def is_blank(text: str) -> bool:
    """True when ``text`` would show nothing: every character is white space, a
    control or format character, or one of :data:`INVISIBLE_OTHERS`."""
    return all(
        ch in INVISIBLE_OTHERS or unicodedata.category(ch) in INVISIBLE_CATEGORIES for ch in text
    )


def normalize_tweet_text(text: str) -> str:
    """Return ``text`` in NFC, checked against the length rule.

    Raises :class:`TextEmpty` when nothing visible is left (:func:`is_blank`: white
    space, zero-width and direction characters and the like),
    :class:`TextTooLong` above ``MAX_TWEET_LENGTH`` code points, and
    :class:`InvalidInput` for NUL or lone surrogates.
    """
    check_storable(text, "Tweet text")
    normalized = unicodedata.normalize("NFC", text)
    if is_blank(normalized):
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


def _is_tag_char(ch: str) -> bool:
    # Letters, digits, underscore, and combining marks: Devanagari or Thai words carry
    # vowel signs (category M*) that Python's \w does not match.
    return ch.isalnum() or ch == "_" or unicodedata.category(ch)[0] == "M"


def hashtags(text: str) -> list[str]:
    """Hashtags in order of first use, without '#', de-duplicated case-insensitively.

    A hashtag follows '#' (or the full-width '＃') not preceded by a word character, '&'
    or '#', and needs at least one letter (``#2013`` is not one), as on Twitter.
    """
    found: list[str] = []
    i, n = 0, len(text)
    while i < n:
        prev = text[i - 1] if i else ""
        if text[i] in "#＃" and not (prev and (_is_tag_char(prev) or prev in "&#＃")):
            j = i + 1
            while j < n and _is_tag_char(text[j]):
                j += 1
            tag = text[i + 1 : j]
            if any(c.isalpha() for c in tag):
                found.append(tag)
            i = max(j, i + 1)
        else:
            i += 1
    return _unique(found)


def mentions(text: str) -> list[str]:
    """@mentioned usernames in order of first use, without '@', de-duplicated."""
    return _unique(_MENTION.findall(text))
