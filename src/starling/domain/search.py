"""Search rules: the query language and how text is folded before it is indexed.

Query syntax (docs/api.md): white-space separated terms, all of which must match (AND):
``word`` (a word of the tweet's text), ``#tag`` (a hashtag of the tweet) and
``from:username`` (the author; at most one). Matching ignores case and diacritics, so
``inundacion`` finds "inundación" and ``#mexico`` finds "#México".
"""

from __future__ import annotations

import re
import unicodedata

import msgspec

from starling.domain.errors import InvalidInput
from starling.domain.text import USERNAME_PATTERN, check_storable, hashtags

MAX_QUERY_LENGTH = 500
"""Characters of a search query: Twitter's search box accepts 500."""

MAX_QUERY_TERMS = 16
"""Terms of one query: each adds a posting-list intersection; more never narrows usefully."""

_WORD = re.compile(r"[^\W_]+")


class InvalidQuery(InvalidInput):
    """A search query that is empty, too long or malformed (HTTP 422)."""

    code = "invalid_query"


class SearchQuery(msgspec.Struct, frozen=True):
    """A parsed tweet search. ``words`` and ``hashtags`` are folded (:func:`fold`);
    ``from_username`` is as typed (usernames match case-insensitively). At least one of
    the three is non-empty."""

    words: tuple[str, ...]
    hashtags: tuple[str, ...]
    from_username: str | None


def fold(text: str) -> str:
    """``text`` casefolded with diacritics removed (NFKD, combining marks dropped):
    "Inundación" → "inundacion". The PostgreSQL index stores folded text; SQLite's FTS5
    ``unicode61 remove_diacritics 2`` tokenizer folds the same way by itself."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words_of(text: str) -> list[str]:
    """The folded words of ``text`` (runs of letters and digits), in order."""
    return _WORD.findall(fold(text))


def folded_hashtags(text: str) -> list[str]:
    """The hashtags of a tweet's ``text`` (:func:`~starling.domain.text.hashtags`), folded
    and de-duplicated: the keys hashtag search matches and trends count."""
    return list(dict.fromkeys(fold(tag) for tag in hashtags(text)))


def parse_query(raw: str) -> SearchQuery:
    """Parse a search box string. Raises :class:`InvalidQuery` when it is empty (or only
    punctuation), longer than :data:`MAX_QUERY_LENGTH`, has more than
    :data:`MAX_QUERY_TERMS` terms, names two authors, or has a ``from:`` that is not a
    possible username."""
    check_storable(raw, "The query")
    if len(raw) > MAX_QUERY_LENGTH:
        raise InvalidQuery(f"The query is longer than {MAX_QUERY_LENGTH} characters.")
    words: list[str] = []
    tags: list[str] = []
    author: str | None = None
    for term in unicodedata.normalize("NFC", raw).split():
        if term[:5].lower() == "from:":
            name = term[5:].lstrip("@")
            if not USERNAME_PATTERN.match(name):
                raise InvalidQuery(f"from: needs a username, not {name!r}.")
            if author is not None and author.lower() != name.lower():
                raise InvalidQuery("A query can name one author (from:) only.")
            author = name
        elif term[0] in "#＃" and (found := hashtags(term)):
            tags.extend(fold(tag) for tag in found)
        else:
            words.extend(words_of(term))
    words = list(dict.fromkeys(words))
    tags = list(dict.fromkeys(tags))
    if not words and not tags and author is None:
        raise InvalidQuery("The query has no word, #hashtag or from:username to search for.")
    if len(words) + len(tags) > MAX_QUERY_TERMS:
        raise InvalidQuery(f"The query has more than {MAX_QUERY_TERMS} terms.")
    return SearchQuery(tuple(words), tuple(tags), author)
