"""Tweet text rules: length after NFC, #hashtag and @mention extraction, and the text's
entities (URLs, mentions, hashtags with their positions) that pages link."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Literal, NamedTuple

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


def _hashtag_spans(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each hashtag in ``text``, '#' included (see :func:`hashtags`)."""
    i, n = 0, len(text)
    while i < n:
        prev = text[i - 1] if i else ""
        if text[i] in "#＃" and not (prev and (_is_tag_char(prev) or prev in "&#＃")):
            j = i + 1
            while j < n and _is_tag_char(text[j]):
                j += 1
            if any(c.isalpha() for c in text[i + 1 : j]):
                yield i, j
            i = max(j, i + 1)
        else:
            i += 1


def hashtags(text: str) -> list[str]:
    """Hashtags in order of first use, without '#', de-duplicated case-insensitively.

    A hashtag follows '#' (or the full-width '＃') not preceded by a word character, '&'
    or '#', and needs at least one letter (``#2013`` is not one), as on Twitter.
    """
    return _unique([text[start + 1 : end] for start, end in _hashtag_spans(text)])


def mentions(text: str) -> list[str]:
    """@mentioned usernames in order of first use, without '@', de-duplicated."""
    return _unique(_MENTION.findall(text))


_URL = re.compile(r"\bhttps?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?'\")]}"
"""Punctuation that ends a sentence rather than a URL (``see https://x.org.``)."""

EntityKind = Literal["hashtag", "mention", "url"]


class Entity(NamedTuple):
    """A part of a tweet's text that links somewhere: ``text[start:end]`` is the whole
    entity as written ('#' or '@' included); ``value`` is the hashtag or username
    without its sign, or the URL."""

    kind: EntityKind
    start: int
    end: int
    value: str


def entities(text: str) -> list[Entity]:
    """The URLs, @mentions and #hashtags of ``text`` in order of position, by the rules
    of :func:`hashtags` and :func:`mentions`; a URL (``http://`` or ``https://`` up to
    white space, without trailing punctuation) takes precedence over a '#' or '@' inside
    it. Every occurrence is listed (unlike :func:`hashtags`, which de-duplicates)."""
    found: list[Entity] = []
    for match in _URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILING)
        if "://" in url and not url.endswith("://"):
            found.append(Entity("url", match.start(), match.start() + len(url), url))
    taken = [(e.start, e.end) for e in found]

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for match in _MENTION.finditer(text):
        if free(match.start(), match.end()):
            found.append(Entity("mention", match.start(), match.end(), match.group(1)))
    for start, end in _hashtag_spans(text):
        if free(start, end):
            found.append(Entity("hashtag", start, end, text[start + 1 : end]))
    found.sort(key=lambda e: e.start)
    return found
